//! kube-runtime's `watcher` and `reflector` against the simulator: they recover by themselves
//! from dropped streams, 410 Gone and a server restart.

mod common;

use std::time::Duration;

use common::wait_for;
use futures::StreamExt as _;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt as _, watcher};
use reload_tests::sim::Simulator;
use serde_json::json;

fn cm(name: &str) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}})
}

/// Starts a reflector over ConfigMaps in a background task and returns its store.
fn spawn_reflector(sim: &Simulator) -> Store<ConfigMap> {
    let api: Api<ConfigMap> = Api::default_namespaced(sim.client().expect("client"));
    let (reader, writer) = reflector::store();
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .applied_objects();
    tokio::spawn(stream.for_each(|_| std::future::ready(())));
    reader
}

async fn wait_cached(store: &Store<ConfigMap>, name: &str) {
    let key = ObjectRef::new(name).within("default");
    wait_for(&format!("{name} in the reflector store"), || {
        let found = store.get(&key).is_some();
        async move { found.then_some(()) }
    })
    .await;
}

#[tokio::test]
async fn reflector_keeps_following_after_the_server_drops_watch_streams() {
    let sim = Simulator::start().await.expect("sim");
    let store = spawn_reflector(&sim);
    sim.seed(cm("a")).expect("seed a");
    wait_cached(&store, "a").await;
    let watches_before = sim.stats().count("watch", "configmaps");

    sim.close_watches();
    sim.seed(cm("b")).expect("seed b");
    wait_cached(&store, "b").await;

    let stats = sim.stats();
    assert!(
        stats.count("watch", "configmaps") > watches_before,
        "the watcher re-watched"
    );
    assert_eq!(
        stats.count("list", "configmaps"),
        1,
        "a dropped stream resumes from its resourceVersion without a relist"
    );
}

#[tokio::test]
async fn watcher_relists_after_410_gone() {
    let sim = Simulator::start().await.expect("sim");
    let store = spawn_reflector(&sim);
    sim.seed(cm("a")).expect("seed a");
    wait_cached(&store, "a").await;

    // Hold the re-watch in the server long enough to commit and compact before it is served,
    // so it asks for a resourceVersion that is no longer retained.
    sim.set_latency(Duration::from_millis(500));
    sim.close_watches();
    sim.seed(cm("b")).expect("seed b");
    sim.compact();
    wait_cached(&store, "b").await;
    sim.clear_faults();

    assert!(
        sim.stats().count("list", "configmaps") >= 2,
        "the 410 made the watcher list again"
    );
}

#[tokio::test]
async fn reflector_recovers_from_a_server_restart_on_the_same_port() {
    let sim = Simulator::start().await.expect("sim");
    let addr = sim.addr();
    let store = spawn_reflector(&sim);
    sim.seed(cm("a")).expect("seed a");
    wait_cached(&store, "a").await;

    let restarting = sim.restart(Duration::from_millis(300));
    let seeded = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        sim.seed(cm("during-restart")).expect("seed while down");
    };
    let (restarted, ()) = tokio::join!(restarting, seeded);
    restarted.expect("restart");
    assert_eq!(sim.addr(), addr, "same port after restart");

    wait_cached(&store, "during-restart").await;
    sim.seed(cm("after-restart")).expect("seed after");
    wait_cached(&store, "after-restart").await;
    assert!(
        store.get(&ObjectRef::new("a").within("default")).is_some(),
        "state kept across the restart"
    );
}

#[tokio::test]
async fn watcher_streaming_list_mode_gets_initial_events_and_their_end_bookmark() {
    let sim = Simulator::start().await.expect("sim");
    sim.seed(cm("a")).expect("seed a");
    let api: Api<ConfigMap> = Api::default_namespaced(sim.client().expect("client"));
    let (reader, writer) = reflector::store();
    let stream = watcher(api, watcher::Config::default().streaming_lists())
        .default_backoff()
        .reflect(writer)
        .applied_objects();
    tokio::spawn(stream.for_each(|_| std::future::ready(())));
    tokio::time::timeout(Duration::from_secs(10), reader.wait_until_ready())
        .await
        .expect("ready in 10 s")
        .expect("ready");
    assert!(reader.get(&ObjectRef::new("a").within("default")).is_some());
    assert_eq!(
        sim.stats().count("list", "configmaps"),
        0,
        "streaming lists need no LIST"
    );
}
