//! A workload deleted while its reload was queued: the write's 404 is reported as
//! `EngineEvent::WorkloadGone` (the binary logs it at info), never as a failed reload.

mod engine_support;

use engine_support::{Path, Strategy, auto, config, count, reloaded, seed, set_data, start, workload};
use reload_core::engine::EngineEvent;
use reload_core::matcher::MatcherConfig;
use reload_tests::sim::Simulator;
use reload_tests::sim::faults::FailureRule;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workload_deleted_before_its_reload_is_reported_gone_and_not_as_a_failure() {
    let sim = Simulator::start().await.expect("simulator");
    seed(&sim, engine_support::configmap("g", "cfg", json!({"k": "v1"})));
    for name in ["gone", "kept"] {
        seed(
            &sim,
            workload(
                "Deployment",
                "g",
                name,
                auto(),
                json!({}),
                Path::EnvFrom.pod_spec("cfg"),
            ),
        );
    }
    let engine = start(&sim, Strategy::EnvVars, config(), MatcherConfig::default()).await;
    engine.wait_baselined(2).await;
    // The API server's answer to a PATCH of a Deployment deleted after the engine queued it
    // (its watch event not yet delivered): 404. Only the first PATCH gets it.
    sim.fail_next(FailureRule::new(404, 1).verb("patch").resource("deployments"));
    set_data(&sim, "g", "cfg", json!({"k": "v2"})).await;
    engine
        .wait_for("one workload gone and one reloaded", |e| {
            count(e, |e| matches!(e, EngineEvent::WorkloadGone { .. })) == 1 && reloaded(e) == 1
        })
        .await;
    let events = engine.events();
    assert_eq!(count(&events, |e| matches!(e, EngineEvent::Failed { .. })), 0);
    let gone = events
        .iter()
        .find_map(|e| match e {
            EngineEvent::WorkloadGone { workload, sources } => Some((workload.clone(), sources.clone())),
            _ => None,
        })
        .expect("a gone event");
    assert_eq!(gone.0.namespace, "g");
    assert_eq!(
        gone.1.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        vec!["cfg"]
    );
    engine.stop().await;
}
