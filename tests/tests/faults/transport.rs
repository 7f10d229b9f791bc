//! Issue 25's burst: 50 Deployments, each on its own ConfigMap, 25 of the ConfigMaps edited at
//! once, and the engine's writes failing in transport (no HTTP answer) for longer than the
//! ≈3 s its retries used to last: PATCHes cut mid-request, then the API server gone (every
//! connection cut, new ones refused) for 6 s. Each ends with the invariant, every edit rolled
//! exactly once, and no write reported failed.
//!
//! Only the simulator's faults and events that existed before issue 25 are used, so these
//! cases also run against the old engine (where they fail: the changes are lost).

use std::time::Duration;

use futures::future::join_all;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use rand::rngs::StdRng;
use reload_core::engine::EngineEvent;
use reload_core::matcher::MatcherConfig;
use reload_strategies::AnnotationStrategy;
use reload_tests::sim::{FailureRule, Simulator};
use serde_json::json;

use crate::engine_support::{self, Strategy, config};
use crate::faults_support::{Seed, Source, World, set_source, settle, source_object, workload_object};

/// Deployments (and ConfigMaps) in the world.
const WORKLOADS: usize = 50;
/// ConfigMaps edited at once.
const EDITED: usize = 25;

/// `WORKLOADS` auto Deployments `d-<n>` in namespace `rel`, each using its own ConfigMap
/// `cm-<n>` (`envFrom` or a volume, as the seed picks).
fn seed_one_source_each(sim: &Simulator, rng: &mut StdRng) -> World {
    let _ = sim.seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "rel"}}));
    let mut world = World {
        sources: Vec::new(),
        workloads: Vec::new(),
    };
    for n in 0..WORKLOADS {
        let source = Source {
            secret: false,
            namespace: "rel".to_owned(),
            name: format!("cm-{n}"),
        };
        sim.seed(source_object(&source, "v0")).expect("source seeded");
        let name = format!("d-{n}");
        sim.seed(workload_object("Deployment", "rel", &name, &[&source], rng))
            .expect("workload seeded");
        world.sources.push(source);
        world
            .workloads
            .push(("Deployment".to_owned(), "rel".to_owned(), name));
    }
    world
}

/// Edits the first `EDITED` ConfigMaps concurrently, each to a new value.
async fn edit_at_once(sim: &Simulator, world: &World) {
    join_all(
        world.sources[..EDITED]
            .iter()
            .map(|source| set_source(sim, source, "v1")),
    )
    .await;
}

/// Waits until the simulator cut at least `n` requests (answered nothing).
async fn wait_cut(sim: &Simulator, n: u64) {
    for _ in 0..400 {
        if sim.stats().status_count("system:admin", 0) >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("fewer than {n} requests were cut: {:?}", sim.stats());
}

/// The world, and an engine on it with `strategy` that has baselined every Deployment.
async fn burst_world(sim: &Simulator, seed: Seed, strategy: Strategy) -> (World, engine_support::Running) {
    let world = seed_one_source_each(sim, &mut seed.rng());
    let engine = engine_support::start(sim, strategy, config(), MatcherConfig::default()).await;
    engine.wait_baselined(WORKLOADS).await;
    (world, engine)
}

fn assert_nothing_failed(engine: &engine_support::Running, scenario: &str, seed: Seed) {
    let failed: Vec<EngineEvent> = engine
        .events()
        .into_iter()
        .filter(|e| matches!(e, EngineEvent::Failed { .. }))
        .collect();
    assert!(failed.is_empty(), "{scenario} ({seed}): {failed:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_after_which_the_api_server_dies_for_six_seconds_loses_and_duplicates_nothing() {
    let scenario = "server killed after a burst";
    let seed = Seed::new(scenario);
    let sim = Simulator::start().await.expect("simulator");
    let (world, engine) = burst_world(&sim, seed, Strategy::Annotations).await;
    // The engine's PATCHes of the burst are cut mid-request (as the server dies under them)...
    sim.fail_next(FailureRule::reset(u32::MAX).verb("patch").resource("deployments"));
    edit_at_once(&sim, &world).await;
    wait_cut(&sim, 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    // ... then it is gone for 6 s: open connections cut, new ones refused.
    sim.refuse_connections(Duration::from_secs(6)).await;
    sim.clear_faults();
    let report = settle(&sim, &AnnotationStrategy, seed, scenario).await;
    assert_eq!(report.rollouts, EDITED, "{scenario} ({seed}): {report}");
    assert_nothing_failed(&engine, scenario, seed);
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_patches_cut_for_five_seconds_mid_burst_are_retried_until_they_land() {
    let scenario = "patches cut mid-burst";
    let seed = Seed::new(scenario);
    let sim = Simulator::start().await.expect("simulator");
    let (world, engine) = burst_world(&sim, seed, Strategy::EnvVars).await;
    sim.fail_next(FailureRule::reset(u32::MAX).verb("patch").resource("deployments"));
    edit_at_once(&sim, &world).await;
    // Watches cut without their final chunk too, while the PATCHes keep failing.
    sim.abort_watches();
    tokio::time::sleep(Duration::from_secs(5)).await;
    sim.clear_faults();
    let report = settle(&sim, &reload_strategies::EnvVarStrategy, seed, scenario).await;
    assert_eq!(report.rollouts, EDITED, "{scenario} ({seed}): {report}");
    assert_nothing_failed(&engine, scenario, seed);
    // A ConfigMap edited after the outage still rolls its Deployment, once.
    let cms: Api<ConfigMap> = Api::namespaced(sim.client().expect("client"), "rel");
    cms.patch(
        "cm-49",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "after"}})),
    )
    .await
    .expect("edit after the outage");
    let report = settle(&sim, &reload_strategies::EnvVarStrategy, seed, scenario).await;
    assert_eq!(report.rollouts, EDITED + 1, "{scenario} ({seed}): {report}");
    engine.stop().await;
}
