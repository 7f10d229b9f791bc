//! Custom workload kinds through the engine and the simulator, with no glue: a kind described
//! by its API resource and the JSON pointer to its pod template (`CustomKind`) is watched,
//! indexed and written by `Engine::run` — here batch/v1 CronJobs handled as an unknown kind whose
//! template sits at `/spec/jobTemplate/spec/template`, written by merge patch (no Job created) —
//! and a custom kind the API server does not serve is reported once while the rest reloads.

mod engine_support;

use engine_support::{
    Path, Strategy, assert_records, assert_untouched, auto, config, configmap, count, digest_of, seed,
    set_data, start, workload,
};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use kube::api::{Api, ApiResource, GroupVersionKind, ListParams};
use reload_core::WorkloadKind;
use reload_core::engine::{CustomKind, EngineEvent};
use reload_core::matcher::MatcherConfig;
use reload_tests::sim::Simulator;
use serde_json::{Value, json};

const NS: &str = "custom";

/// CronJobs described as a custom kind: the engine knows nothing about them but the pointer.
fn nightly_kind() -> CustomKind {
    CustomKind::new(
        ApiResource::erase::<CronJob>(&()),
        "/spec/jobTemplate/spec/template",
    )
}

fn cronjob(name: &str, cm: &str) -> Value {
    let mut spec = Path::ValueFrom.pod_spec(cm);
    spec["restartPolicy"] = json!("Never");
    json!({
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": name, "namespace": NS, "annotations": auto()},
        "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"backoffLimit": 2, "template": {
            "metadata": {"labels": {"app": name}}, "spec": spec
        }}}}
    })
}

async fn job_template(sim: &Simulator, name: &str) -> (CronJob, PodTemplateSpec) {
    let cronjob = Api::<CronJob>::namespaced(sim.client().expect("client"), NS)
        .get(name)
        .await
        .expect("cronjob");
    let template = cronjob
        .spec
        .as_ref()
        .and_then(|s| s.job_template.spec.as_ref())
        .map(|s| s.template.clone())
        .expect("job template");
    (cronjob, template)
}

fn custom_reloads(events: &[EngineEvent], digest: &reload_core::Digest) -> usize {
    count(events, |e| {
        matches!(e, EngineEvent::Reloaded { workload, new_digest, .. }
            if workload.kind == WorkloadKind::Custom("CronJob".into()) && new_digest == digest)
    })
}

async fn a_custom_kind_is_written_under_its_template_pointer(strategy: Strategy) {
    let sim = Simulator::start().await.expect("simulator");
    seed(&sim, configmap(NS, "cfg", json!({"k": "v1"})));
    seed(&sim, cronjob("nightly", "cfg"));
    let engine = start(
        &sim,
        strategy,
        config()
            .workload_kinds(vec![WorkloadKind::Deployment])
            .custom_kind(nightly_kind()),
        MatcherConfig::default(),
    )
    .await;
    engine.wait_baselined(1).await;
    let (_, before) = job_template(&sim, "nightly").await;
    assert_untouched(strategy, &before, "cfg");

    set_data(&sim, NS, "cfg", json!({"k": "v2"})).await;
    let d2 = digest_of(&[("k", "v2")]);
    engine
        .wait_for("the custom kind's reload", |e| custom_reloads(e, &d2) == 1)
        .await;
    let (after, template) = job_template(&sim, "nightly").await;
    assert_records(strategy, &template, "cfg", NS, &d2);
    let spec = after.spec.as_ref().expect("spec");
    assert_eq!(spec.schedule, "0 3 * * *", "the rest of the object is kept");
    assert_eq!(
        spec.job_template.spec.as_ref().and_then(|s| s.backoff_limit),
        Some(2)
    );
    let app = &template.spec.as_ref().expect("pod spec").containers[0];
    assert_eq!(app.image.as_deref(), Some("nginx"), "the container is kept whole");
    let env = app.env.as_deref().unwrap_or_default();
    assert!(
        env.iter()
            .any(|e| e.name == "KEEP" && e.value.as_deref() == Some("me")),
        "existing env entries survive the merge patch: {env:?}"
    );
    let jobs = Api::<Job>::namespaced(sim.client().expect("client"), NS)
        .list(&ListParams::default())
        .await
        .expect("jobs");
    assert!(
        jobs.items.is_empty(),
        "a custom kind is patched, never given a Job"
    );
    assert_eq!(
        count(&engine.events(), |e| matches!(e, EngineEvent::Failed { .. })),
        0
    );
    engine.stop().await;
}

#[tokio::test]
async fn a_custom_kind_gets_the_env_var_under_its_template_pointer_and_keeps_its_other_env() {
    a_custom_kind_is_written_under_its_template_pointer(Strategy::EnvVars).await;
}

#[tokio::test]
async fn a_custom_kind_gets_the_annotation_under_its_template_pointer() {
    a_custom_kind_is_written_under_its_template_pointer(Strategy::Annotations).await;
}

#[tokio::test]
async fn a_custom_kind_the_server_does_not_serve_is_reported_once_and_deployments_still_reload() {
    let sim = Simulator::start().await.expect("simulator");
    seed(&sim, configmap(NS, "cfg", json!({"k": "v1"})));
    seed(
        &sim,
        workload(
            "Deployment",
            NS,
            "web",
            auto(),
            json!({}),
            Path::EnvFrom.pod_spec("cfg"),
        ),
    );
    let gvk = GroupVersionKind::gvk("example.com", "v1", "Widget");
    let widgets = CustomKind::new(
        ApiResource::from_gvk_with_plural(&gvk, "widgets"),
        "/spec/template",
    );
    let engine = start(
        &sim,
        Strategy::EnvVars,
        config()
            .workload_kinds(vec![WorkloadKind::Deployment])
            .custom_kind(widgets),
        MatcherConfig::default(),
    )
    .await;
    engine.wait_baselined(1).await;
    set_data(&sim, NS, "cfg", json!({"k": "v2"})).await;
    engine.wait_reloaded(1).await;
    let events = engine.events();
    assert_eq!(
        count(
            &events,
            |e| matches!(e, EngineEvent::KindUnavailable { kind, .. } if kind == "Widget")
        ),
        1,
        "{events:#?}"
    );
    assert_eq!(count(&events, |e| matches!(e, EngineEvent::WatchError { .. })), 0);
    engine.stop().await;
}
