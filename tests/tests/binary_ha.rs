//! `--enable-ha` with warm standbys, the real `reloader` binary as two processes against the
//! simulator: each replica authenticates with its own token, so the simulator's per-user
//! response counts tell which replica read and wrote what. A standby lists once at start,
//! writes nothing while standby, and on takeover reads only the list of holder Jobs
//! (interrupted Job reloads) and writes only what changed; the Lease moves to the new leader
//! and a SIGTERM releases it.

mod binary_support;

use binary_support::{
    Launch, Reloader, app, barrier, changes_detected, deployment_writes, http_get, namespace, set_value,
    temp_path, wait_env,
};
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use reload_tests::sim::{Rule, Simulator};
use serde_json::json;

/// A simulator with tokens `one` and `two` (users `replica-one`, `replica-two`), the namespace
/// of the Lease, app `a/web` (ConfigMap `web`, `k=v1`) and the barrier app `a/barrier`.
async fn cluster() -> Simulator {
    let sim = Simulator::config()
        .token("one", "replica-one", vec![Rule::everything()])
        .token("two", "replica-two", vec![Rule::everything()])
        .start()
        .await
        .expect("simulator starts");
    namespace(&sim, "reloader", json!({}));
    app(&sim, "a", "web", "v1");
    app(&sim, "a", "barrier", "b0");
    sim
}

/// Replica `pod` authenticating with the token of the same name, short Lease timings.
fn replica(sim: &Simulator, pod: &str) -> Reloader {
    let kubeconfig = temp_path("ha-kubeconfig.yaml");
    sim.write_kubeconfig_with_token(&kubeconfig, pod)
        .expect("kubeconfig written");
    Launch::with_kubeconfig(kubeconfig).start_ha_replica(pod)
}

/// `(verb, resource, count)` of the answered requests of `user` matching `verbs`, Lease
/// traffic (the election itself) excluded.
fn requests(sim: &Simulator, user: &str, verbs: &[&str]) -> Vec<(String, String, u64)> {
    sim.stats()
        .responses
        .into_iter()
        .filter(|r| r.user == user && r.resource != "leases" && verbs.contains(&r.verb.as_str()))
        .map(|r| (r.verb, r.resource, r.count))
        .collect()
}

const READS: &[&str] = &["get", "list"];
const WRITES: &[&str] = &["create", "update", "patch", "delete"];

/// The holder of Reloader's Lease `reloader/stakater-reloader-lock`.
async fn lease_holder(sim: &Simulator) -> Option<String> {
    Api::<Lease>::namespaced(sim.client().expect("client"), "reloader")
        .get("stakater-reloader-lock")
        .await
        .expect("lease read")
        .spec?
        .holder_identity
}

/// Starts `one` as the leader and `two` as a synced standby that wrote nothing.
async fn leader_and_standby(sim: &Simulator) -> (Reloader, Reloader) {
    let one = replica(sim, "one");
    one.wait_line("became leader").await;
    one.wait_synced().await;
    let two = replica(sim, "two");
    two.wait_line("new leader is one").await;
    two.wait_synced().await;
    let (status, _) = http_get(two.http_addr().await, "/ready").await;
    assert_eq!(status, 200, "a standby is ready once its caches synced");
    (one, two)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_standby_lists_once_writes_nothing_and_applies_a_change_missed_during_the_handover_once() {
    let sim = cluster().await;
    let (mut one, two) = leader_and_standby(&sim).await;

    set_value(&sim, "a", "web", "v2").await;
    wait_env(&sim, "a", "web", "v2").await;
    barrier(&sim, "a", "barrier", "b1").await;
    assert_eq!(one.count(&changes_detected("a", "web", "web")), 1);
    assert_eq!(two.count("Changes detected"), 0, "{}", two.output());
    assert_eq!(two.count("became leader"), 0);
    assert_eq!(lease_holder(&sim).await.as_deref(), Some("one"));
    assert_eq!(
        requests(&sim, "replica-two", WRITES),
        Vec::new(),
        "a standby writes nothing"
    );
    let standby_reads = requests(&sim, "replica-two", READS);
    assert!(!standby_reads.is_empty(), "the standby listed its kinds");
    for (verb, resource, count) in &standby_reads {
        assert_eq!(
            (verb.as_str(), *count),
            ("list", 1),
            "{resource}: one LIST at start and nothing else: {standby_reads:?}"
        );
    }

    one.sigkill();
    let since = sim.current_resource_version();
    set_value(&sim, "a", "web", "v3").await;
    two.wait_line("became leader").await;
    wait_env(&sim, "a", "web", "v3").await;
    barrier(&sim, "a", "barrier", "b2").await;
    assert_eq!(
        deployment_writes(&sim, since, "a", "web").len(),
        1,
        "the change made while no one led is applied exactly once"
    );
    assert_eq!(
        two.count(&changes_detected("a", "web", "web")),
        1,
        "{}",
        two.output()
    );
    // The takeover's only read: one LIST of the holder Jobs a killed leader may have left
    // mid-reload (label-selected; none here). No re-list of any cache, no GET.
    let mut expected = standby_reads.clone();
    for (verb, resource, count) in &mut expected {
        if verb == "list" && resource == "jobs" {
            *count += 1;
        }
    }
    assert_eq!(
        requests(&sim, "replica-two", READS),
        expected,
        "a takeover makes no LIST but the holders' and no GET"
    );
    assert_eq!(lease_holder(&sim).await.as_deref(), Some("two"));
    two.stop().await;
    // SIGTERM releases the Lease so a standby need not wait for it to expire.
    assert_eq!(lease_holder(&sim).await.filter(|h| !h.is_empty()), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_takeover_with_nothing_changed_writes_nothing() {
    let sim = cluster().await;
    let (mut one, two) = leader_and_standby(&sim).await;
    set_value(&sim, "a", "web", "v2").await;
    wait_env(&sim, "a", "web", "v2").await;

    one.sigkill();
    let since = sim.current_resource_version();
    two.wait_line("became leader").await;
    two.wait_line("writes enabled").await;
    // The barrier's rollout is the new leader's first write: it processed the takeover before.
    barrier(&sim, "a", "barrier", "b1").await;
    let written: Vec<(String, String)> = sim
        .journal(since)
        .into_iter()
        // The test's own ConfigMap edit, the election and Events aside.
        .filter(|e| !["leases", "events", "configmaps"].contains(&e.resource.as_str()))
        .map(|e| (e.resource, e.name))
        .collect();
    assert_eq!(
        written,
        vec![("deployments".to_owned(), "barrier".to_owned())],
        "only the barrier's own rollout"
    );
    assert_eq!(
        two.count(&changes_detected("a", "web", "web")),
        0,
        "{}",
        two.output()
    );
    two.stop().await;
}
