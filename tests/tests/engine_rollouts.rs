//! Argo Rollouts through the engine and the simulator: rollout mode writes the template,
//! restart mode sets `spec.restartAt` once per change (and an engine restart does not set it
//! again), a Rollout with `workloadRef` is reported and skipped, and a missing CRD is not an
//! error.

mod engine_support;

use engine_support::{
    Path, Strategy, assert_records, assert_untouched, auto, config, configmap, count, deployment_on,
    digest_of, seed, set_data, start, start_on_configmap,
};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use reload_core::engine::EngineEvent;
use reload_core::engine::baseline::BASELINE_ANNOTATION;
use reload_core::matcher::{MatcherConfig, ROLLOUT_STRATEGY};
use reload_core::{Digest, MatchProblem, WorkloadKind};
use reload_tests::sim::Simulator;
use serde_json::{Value, json};

const NS: &str = "argo";

fn rollout_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Rollout"),
        "rollouts",
    )
}

fn rollout(name: &str, cm: &str, restart: bool) -> Value {
    let mut annotations = auto();
    if restart {
        annotations[ROLLOUT_STRATEGY] = json!("restart");
    }
    json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
        "metadata": {"name": name, "namespace": NS, "annotations": annotations},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"canary": {"steps": [{"setWeight": 20}]}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": Path::EnvFrom.pod_spec(cm)}
        }
    })
}

async fn get_rollout(sim: &Simulator, name: &str) -> Value {
    let api: Api<DynamicObject> =
        Api::namespaced_with(sim.client().expect("client"), NS, &rollout_resource());
    serde_json::to_value(api.get(name).await.expect("rollout")).expect("JSON")
}

fn template_of(rollout: &Value) -> PodTemplateSpec {
    serde_json::from_value(rollout["spec"]["template"].clone()).expect("pod template")
}

fn is_rollout(workload: &reload_core::WorkloadRef) -> bool {
    workload.kind == WorkloadKind::Rollout
}

fn rollout_reloads_with(events: &[EngineEvent], digest: &Digest) -> usize {
    count(events, |e| {
        matches!(e, EngineEvent::Reloaded { workload, new_digest, .. }
            if is_rollout(workload) && new_digest == digest)
    })
}

async fn rollout_mode_updates_the_template(strategy: Strategy) {
    let workloads = vec![rollout("web", "cfg", false)];
    let (sim, engine) =
        start_on_configmap(NS, "cfg", workloads, strategy, config().argo_rollouts(true)).await;

    set_data(&sim, NS, "cfg", json!({"k": "v2"})).await;
    let d2 = digest_of(&[("k", "v2")]);
    engine
        .wait_for("the Rollout reload", |e| rollout_reloads_with(e, &d2) == 1)
        .await;
    let after = get_rollout(&sim, "web").await;
    assert_records(strategy, &template_of(&after), "cfg", NS, &d2);
    assert_eq!(after["spec"]["replicas"], 2, "the rest of the spec is kept");
    assert_eq!(after["spec"]["strategy"]["canary"]["steps"][0]["setWeight"], 20);
    assert!(
        after["spec"].get("restartAt").is_none(),
        "rollout mode never restarts"
    );
    engine.stop().await;
}

#[tokio::test]
async fn rollout_mode_writes_the_env_var_into_the_rollouts_pod_template() {
    rollout_mode_updates_the_template(Strategy::EnvVars).await;
}

#[tokio::test]
async fn rollout_mode_writes_the_annotation_into_the_rollouts_pod_template() {
    rollout_mode_updates_the_template(Strategy::Annotations).await;
}

async fn restart_mode_sets_restart_at_once_per_change(strategy: Strategy) {
    let rollouts = config().argo_rollouts(true);
    let workloads = vec![rollout("web", "cfg", true)];
    let (sim, engine) = start_on_configmap(NS, "cfg", workloads, strategy, rollouts.clone()).await;
    assert!(get_rollout(&sim, "web").await["spec"].get("restartAt").is_none());

    set_data(&sim, NS, "cfg", json!({"k": "v2"})).await;
    let d2 = digest_of(&[("k", "v2")]);
    engine
        .wait_for("the Rollout restart", |e| rollout_reloads_with(e, &d2) == 1)
        .await;
    let after = get_rollout(&sim, "web").await;
    let restart_at = after["spec"]["restartAt"].as_str().expect("restartAt set");
    assert!(
        restart_at.parse::<k8s_openapi::jiff::Timestamp>().is_ok(),
        "RFC3339: {restart_at}"
    );
    let record = after["metadata"]["annotations"][BASELINE_ANNOTATION]
        .as_str()
        .expect("the digest is recorded in the Rollout's metadata");
    assert!(record.contains(d2.as_str()), "{record}");
    assert_untouched(strategy, &template_of(&after), "cfg");
    engine.stop().await;

    // A replay (engine restart) finds the record: no second restart for d2. The next change
    // restarts once more and reports d2 as what was recorded.
    let engine = start(&sim, strategy, rollouts, MatcherConfig::default()).await;
    set_data(&sim, NS, "cfg", json!({"k": "v3"})).await;
    let d3 = digest_of(&[("k", "v3")]);
    engine
        .wait_for("the second Rollout restart", |e| {
            rollout_reloads_with(e, &d3) == 1
        })
        .await;
    let events = engine.events();
    assert_eq!(rollout_reloads_with(&events, &d2), 0, "{events:#?}");
    assert_eq!(engine_support::reloaded(&events), 1, "{events:#?}");
    assert!(events.iter().any(|e| matches!(e,
        EngineEvent::Reloaded { old_digest: Some(old), new_digest, .. } if *old == d2 && *new_digest == d3)));
    let after = get_rollout(&sim, "web").await;
    assert!(after["spec"]["restartAt"].is_string());
    assert_untouched(strategy, &template_of(&after), "cfg");
    engine.stop().await;
}

#[tokio::test]
async fn restart_mode_sets_restart_at_once_per_change_and_a_replay_does_not_with_env_vars() {
    restart_mode_sets_restart_at_once_per_change(Strategy::EnvVars).await;
}

#[tokio::test]
async fn restart_mode_sets_restart_at_once_per_change_and_a_replay_does_not_with_annotations() {
    restart_mode_sets_restart_at_once_per_change(Strategy::Annotations).await;
}

#[tokio::test]
async fn rollout_with_workload_ref_is_skipped_with_a_reason_naming_it() {
    let sim = Simulator::start().await.expect("simulator");
    seed(&sim, configmap(NS, "cfg", json!({"k": "v1"})));
    seed(
        &sim,
        json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
            "metadata": {"name": "by-ref", "namespace": NS, "annotations": auto()},
            "spec": {"replicas": 1, "workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}}
        }),
    );
    seed(&sim, deployment_on(NS, "web", "cfg"));
    let engine = start(
        &sim,
        Strategy::EnvVars,
        config().argo_rollouts(true),
        MatcherConfig::default(),
    )
    .await;
    let events = engine.events();
    let reported: Vec<&EngineEvent> = events
        .iter()
        .filter(|e| matches!(e, EngineEvent::MatchProblem { workload, .. } if is_rollout(workload)))
        .collect();
    assert_eq!(reported.len(), 1, "{events:#?}");
    let EngineEvent::MatchProblem { workload, problem } = reported[0] else {
        unreachable!("filtered above");
    };
    assert_eq!(
        (workload.namespace.as_str(), workload.name.as_str()),
        (NS, "by-ref")
    );
    assert!(
        matches!(problem, MatchProblem::UnsupportedWorkload { reason } if reason.contains("workloadRef")),
        "{problem:?}"
    );
    // The engine goes on: the referenced Deployment reloads.
    set_data(&sim, NS, "cfg", json!({"k": "v2"})).await;
    engine.wait_reloaded(1).await;
    let events = engine.events();
    assert_eq!(
        count(
            &events,
            |e| matches!(e, EngineEvent::Reloaded { workload, .. } if is_rollout(workload))
        ),
        0
    );
    engine.stop().await;
}

#[tokio::test]
async fn missing_rollout_crd_is_reported_once_and_deployments_still_reload() {
    let sim = Simulator::config()
        .custom_kinds(false)
        .start()
        .await
        .expect("simulator");
    seed(&sim, configmap(NS, "cfg", json!({"k": "v1"})));
    seed(&sim, deployment_on(NS, "web", "cfg"));
    let engine = start(
        &sim,
        Strategy::EnvVars,
        config().argo_rollouts(true),
        MatcherConfig::default(),
    )
    .await;
    let unavailable = |e: &[EngineEvent]| {
        count(
            e,
            |e| matches!(e, EngineEvent::KindUnavailable { kind, .. } if kind == "Rollout"),
        )
    };
    assert_eq!(unavailable(&engine.events()), 1);
    set_data(&sim, NS, "cfg", json!({"k": "v2"})).await;
    engine.wait_reloaded(1).await;
    let template = engine_support::template(&sim, "Deployment", NS, "web").await;
    assert_records(
        Strategy::EnvVars,
        &template,
        "cfg",
        NS,
        &digest_of(&[("k", "v2")]),
    );
    let events = engine.events();
    assert_eq!(unavailable(&events), 1);
    assert_eq!(
        count(&events, |e| matches!(e, EngineEvent::WatchError { .. })),
        0,
        "{events:#?}"
    );
    engine.stop().await;
}
