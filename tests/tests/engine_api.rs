//! API protection and failure handling on the simulator: one PATCH per workload and no reads
//! for a change shared by many workloads, conflicts re-planned with one GET, throttling
//! honoured, forbidden writes reported, Helm release Secrets never watched.

mod engine_support;

use engine_support::{
    Path, Strategy, auto, config, count, deployment_on, reloaded, seed, set_data, start, start_on_configmap,
    workload,
};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use reload_core::engine::EngineEvent;
use reload_core::matcher::MatcherConfig;
use reload_tests::sim::Simulator;
use reload_tests::sim::faults::FailureRule;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_shared_by_forty_workloads_costs_forty_patches_and_no_reads() {
    let workloads = (0..40)
        .map(|i| deployment_on("big", &format!("w{i}"), "shared"))
        .collect();
    let (sim, engine) = start_on_configmap("big", "shared", workloads, Strategy::EnvVars, config()).await;
    sim.reset_stats();
    set_data(&sim, "big", "shared", json!({"k": "v2"})).await;
    engine.wait_reloaded(40).await;
    let stats = sim.stats();
    assert_eq!(stats.count("patch", "deployments"), 40);
    assert_eq!(stats.count("get", "deployments"), 0);
    assert_eq!(stats.count("list", "deployments"), 0);
    assert_eq!(
        stats.count("get", "configmaps") + stats.count("list", "configmaps"),
        0
    );
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_is_replanned_after_one_get_and_throttling_is_retried() {
    let workloads = vec![deployment_on("c", "w", "cfg")];
    let (sim, engine) = start_on_configmap("c", "cfg", workloads, Strategy::EnvVars, config()).await;
    sim.reset_stats();
    sim.fail_next(FailureRule::new(409, 1).verb("patch").resource("deployments"));
    set_data(&sim, "c", "cfg", json!({"k": "v2"})).await;
    engine.wait_reloaded(1).await;
    assert_eq!(
        sim.stats().count("get", "deployments"),
        1,
        "one GET after the conflict"
    );
    assert_eq!(sim.stats().count("patch", "deployments"), 2);

    sim.reset_stats();
    sim.fail_next(
        FailureRule::new(429, 1)
            .verb("patch")
            .resource("deployments")
            .retry_after(1),
    );
    set_data(&sim, "c", "cfg", json!({"k": "v3"})).await;
    engine.wait_reloaded(2).await;
    assert_eq!(
        sim.stats().count("patch", "deployments"),
        2,
        "throttled once, then written"
    );
    assert_eq!(sim.stats().count("get", "deployments"), 0);
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forbidden_write_is_reported_as_a_failure_naming_the_workload() {
    let workloads = vec![deployment_on("f", "w", "cfg")];
    let (sim, engine) = start_on_configmap("f", "cfg", workloads, Strategy::EnvVars, config()).await;
    sim.fail_next(FailureRule::new(403, 1).verb("patch").resource("deployments"));
    set_data(&sim, "f", "cfg", json!({"k": "v2"})).await;
    engine
        .wait_for("a failure", |e| count(e, |e| matches!(e, EngineEvent::Failed { kind: "forbidden", workload, .. } if workload.name == "w")) == 1)
        .await;
    assert_eq!(reloaded(&engine.events()), 0);
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_release_secrets_are_excluded_server_side() {
    let sim = Simulator::start().await.expect("simulator");
    seed(
        &sim,
        json!({"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
        "metadata": {"name": "sh.helm.release.v1.app.v1", "namespace": "h"}, "data": {"release": "AAAA"}}),
    );
    seed(
        &sim,
        json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": "plain", "namespace": "h"}, "data": {"k": "AAAA"}}),
    );
    let mut spec = Path::EnvFrom.pod_spec("unused");
    spec["containers"][0]["envFrom"] =
        json!([{"secretRef": {"name": "sh.helm.release.v1.app.v1"}}, {"secretRef": {"name": "plain"}}]);
    seed(&sim, workload("Deployment", "h", "w", auto(), json!({}), spec));
    let engine = start(&sim, Strategy::EnvVars, config(), MatcherConfig::default()).await;
    engine.wait_baselined(1).await;
    let baselined: Vec<_> = engine
        .events()
        .into_iter()
        .filter_map(|e| match e {
            EngineEvent::Baselined { sources, .. } => Some(sources),
            _ => None,
        })
        .flatten()
        .map(|(s, _)| s.name)
        .collect();
    assert_eq!(
        baselined,
        vec!["plain".to_owned()],
        "the Helm release Secret is never seen"
    );
    let api: Api<Secret> = Api::namespaced(sim.client().expect("client"), "h");
    api.patch(
        "sh.helm.release.v1.app.v1",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"release": "BBBB"}})),
    )
    .await
    .expect("patched");
    api.patch(
        "plain",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "BBBB"}})),
    )
    .await
    .expect("patched");
    engine.wait_reloaded(1).await;
    let reloaded_sources: Vec<String> = engine
        .events()
        .into_iter()
        .filter_map(|e| match e {
            EngineEvent::Reloaded { source, .. } => Some(source.name),
            _ => None,
        })
        .collect();
    assert_eq!(reloaded_sources, vec!["plain".to_owned()]);
    engine.stop().await;
}
