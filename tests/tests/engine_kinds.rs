//! CronJobs and Jobs through the engine and the simulator: a CronJob change creates exactly one
//! Job (and an engine restart none; a failed create is retried, a failed record creates no
//! second Job), a Job is recreated under its name with the trigger state,
//! and ignored kinds are left alone; template-only mode patches the CronJob and creates no Job;
//! a Job whose recreate fails after the delete is recreated once the API recovers.

mod engine_support;

use engine_support::{
    Path, Strategy, assert_records, assert_untouched, auto, config, configmap, count, digest_of, seed,
    set_data, start, start_on_configmap,
};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use kube::api::{Api, ListParams};
use reload_core::WorkloadKind;
use reload_core::engine::batch::{INSTANTIATE_ANNOTATION, LAST_JOB_ANNOTATION};
use reload_core::engine::{CronJobMode, EngineEvent};
use reload_core::matcher::MatcherConfig;
use reload_tests::sim::{FailureRule, Simulator};
use serde_json::{Value, json};

const NS: &str = "kinds";

fn job_pod_template(cm: &str) -> Value {
    let mut spec = Path::EnvFrom.pod_spec(cm);
    spec["restartPolicy"] = json!("Never");
    json!({"metadata": {"labels": {"app": "batch"}}, "spec": spec})
}

fn cronjob(name: &str, cm: &str) -> Value {
    json!({
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": name, "namespace": NS, "annotations": auto()},
        "spec": {"schedule": "0 3 * * *", "jobTemplate": {
            "metadata": {"labels": {"team": "data"}, "annotations": {"owner": "data"}},
            "spec": {"backoffLimit": 2, "template": job_pod_template(cm)}
        }}
    })
}

fn job(name: &str, cm: &str) -> Value {
    json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": NS, "annotations": auto(), "labels": {"kept": "yes"}},
        "spec": {"backoffLimit": 4, "template": job_pod_template(cm)}
    })
}

async fn jobs(sim: &Simulator) -> Vec<Job> {
    Api::<Job>::namespaced(sim.client().expect("client"), NS)
        .list(&ListParams::default())
        .await
        .expect("jobs listed")
        .items
}

fn pod_template(job: &Job) -> PodTemplateSpec {
    job.spec.as_ref().expect("job spec").template.clone()
}

fn reloaded_with(events: &[EngineEvent], digest: &reload_core::Digest) -> usize {
    count(
        events,
        |e| matches!(e, EngineEvent::Reloaded { new_digest, .. } if new_digest == digest),
    )
}

/// Whether the template records `digest` for `cfg` the way `strategy` writes it.
fn records(strategy: Strategy, template: &PodTemplateSpec, digest: &reload_core::Digest) -> bool {
    match strategy {
        Strategy::EnvVars => {
            let var = reload_strategies::env_var_name(reload_core::SourceKind::ConfigMap, "cfg");
            engine_support::env_value(template, &var).as_deref() == Some(digest.as_str())
        }
        Strategy::Annotations => {
            engine_support::template_annotation(template, reload_strategies::LAST_RELOADED_FROM)
                .is_some_and(|v| v.contains(digest.as_str()))
        }
    }
}

fn failed(events: &[EngineEvent]) -> usize {
    count(events, |e| matches!(e, EngineEvent::Failed { .. }))
}

async fn cronjob_change_creates_one_job_and_a_restart_none(strategy: Strategy) {
    let (sim, engine) =
        start_on_configmap(NS, "cfg", vec![cronjob("nightly", "cfg")], strategy, config()).await;
    assert!(jobs(&sim).await.is_empty(), "a baseline creates no Job");

    set_data(&sim, NS, "cfg", json!({"k": "v2"})).await;
    let d2 = digest_of(&[("k", "v2")]);
    engine
        .wait_for("the CronJob reload", |e| reloaded_with(e, &d2) == 1)
        .await;
    let created = jobs(&sim).await;
    assert_eq!(created.len(), 1, "exactly one Job");
    let meta = &created[0].metadata;
    assert!(meta.name.as_deref().is_some_and(|n| n.starts_with("nightly-")));
    assert_eq!(
        last_job(&sim, "nightly").await,
        meta.name,
        "the record names the Job"
    );
    let annotations = meta.annotations.clone().unwrap_or_default();
    assert_eq!(
        annotations.get(INSTANTIATE_ANNOTATION).map(String::as_str),
        Some("manual")
    );
    assert_eq!(annotations.get("owner").map(String::as_str), Some("data"));
    assert_eq!(
        meta.labels
            .clone()
            .unwrap_or_default()
            .get("team")
            .map(String::as_str),
        Some("data")
    );
    let cronjob_uid = Api::<CronJob>::namespaced(sim.client().expect("client"), NS)
        .get("nightly")
        .await
        .expect("cronjob")
        .metadata
        .uid;
    let owners = meta.owner_references.clone().unwrap_or_default();
    assert_eq!(owners.len(), 1);
    assert_eq!(
        (owners[0].kind.as_str(), owners[0].name.as_str()),
        ("CronJob", "nightly")
    );
    assert_eq!(Some(owners[0].uid.clone()), cronjob_uid);
    assert_eq!(owners[0].controller, Some(true));
    assert_eq!(owners[0].block_owner_deletion, Some(true));
    assert_eq!(created[0].spec.as_ref().and_then(|s| s.backoff_limit), Some(2));
    assert_records(strategy, &pod_template(&created[0]), "cfg", NS, &d2);
    // The CronJob's own template is never written.
    let cronjob = Api::<CronJob>::namespaced(sim.client().expect("client"), NS)
        .get("nightly")
        .await
        .expect("cronjob");
    let template = cronjob
        .spec
        .and_then(|s| s.job_template.spec)
        .map(|s| s.template)
        .expect("job template");
    assert_untouched(strategy, &template, "cfg");
    engine.stop().await;

    // A restart replays every object: the recorded digest means no second Job for d2.
    let engine = start(&sim, strategy, config(), MatcherConfig::default()).await;
    set_data(&sim, NS, "cfg", json!({"k": "v3"})).await;
    let d3 = digest_of(&[("k", "v3")]);
    engine
        .wait_for("the second CronJob reload", |e| reloaded_with(e, &d3) == 1)
        .await;
    let events = engine.events();
    assert_eq!(
        engine_support::reloaded(&events),
        1,
        "the replay created nothing: {events:#?}"
    );
    let all = jobs(&sim).await;
    assert_eq!(all.len(), 2, "one Job per change");
    assert!(all.iter().any(|j| { records(strategy, &pod_template(j), &d3) }));
    engine.stop().await;
}

#[tokio::test]
async fn cronjob_change_creates_exactly_one_job_and_a_restart_creates_none_with_env_vars() {
    cronjob_change_creates_one_job_and_a_restart_none(Strategy::EnvVars).await;
}

#[tokio::test]
async fn cronjob_change_creates_exactly_one_job_and_a_restart_creates_none_with_annotations() {
    cronjob_change_creates_one_job_and_a_restart_none(Strategy::Annotations).await;
}

/// The Job the CronJob's record names as the last one created for it.
async fn last_job(sim: &Simulator, cronjob: &str) -> Option<String> {
    let cronjob = Api::<CronJob>::namespaced(sim.client().expect("client"), NS)
        .get(cronjob)
        .await
        .expect("cronjob");
    cronjob.metadata.annotations?.get(LAST_JOB_ANNOTATION).cloned()
}

/// Starts the engine on CronJob `nightly` (baselined), fails the next `count` requests
/// `verb` on `resource` with 500, changes the ConfigMap and waits for the reload.
async fn cronjob_reload_through_failures(verb: &str, resource: &str, count: u32) -> (Simulator, Vec<Job>) {
    let (sim, engine) = start_on_configmap(
        NS,
        "cfg",
        vec![cronjob("nightly", "cfg")],
        Strategy::EnvVars,
        config(),
    )
    .await;
    sim.fail_next(FailureRule::new(500, count).verb(verb).resource(resource));
    set_data(&sim, NS, "cfg", json!({"k": "v2"})).await;
    let d2 = digest_of(&[("k", "v2")]);
    engine
        .wait_for("the CronJob reload", |e| reloaded_with(e, &d2) == 1)
        .await;
    let events = engine.events();
    assert_eq!(failed(&events), 0, "retried, not failed: {events:#?}");
    engine.stop().await;
    let created = jobs(&sim).await;
    assert_eq!(created.len(), 1, "exactly one Job: {created:#?}");
    assert_records(Strategy::EnvVars, &pod_template(&created[0]), "cfg", NS, &d2);
    (sim, created)
}

#[tokio::test]
async fn a_cronjob_whose_job_create_fails_for_a_while_gets_its_job_once_the_api_recovers() {
    // Nothing is recorded before the Job exists, so the engine's retry creates it.
    let (sim, created) = cronjob_reload_through_failures("create", "jobs", 2).await;
    assert_eq!(last_job(&sim, "nightly").await, created[0].metadata.name);
}

#[tokio::test]
async fn a_cronjob_whose_record_fails_after_its_job_was_created_gets_no_second_job() {
    // The replay after the failed record names the same Job: 409 AlreadyExists, then the
    // record is written.
    let (sim, created) = cronjob_reload_through_failures("patch", "cronjobs", 2).await;
    assert_eq!(last_job(&sim, "nightly").await, created[0].metadata.name);
}

async fn job_is_recreated_with_the_trigger_state(strategy: Strategy) {
    let sim = Simulator::start().await.expect("simulator");
    seed(&sim, configmap(NS, "cfg", json!({"k": "v1"})));
    seed(&sim, job("once", "cfg"));
    let api = Api::<Job>::namespaced(sim.client().expect("client"), NS);
    let before = api.get("once").await.expect("job");
    let engine = start(&sim, strategy, config(), MatcherConfig::default()).await;
    engine.wait_baselined(1).await;

    set_data(&sim, NS, "cfg", json!({"k": "v2"})).await;
    let d2 = digest_of(&[("k", "v2")]);
    engine
        .wait_for("the Job reload", |e| reloaded_with(e, &d2) == 1)
        .await;
    let after = api.get("once").await.expect("the Job exists again");
    assert_ne!(after.metadata.uid, before.metadata.uid, "a new Job");
    assert_eq!(
        after
            .metadata
            .labels
            .clone()
            .unwrap_or_default()
            .get("kept")
            .map(String::as_str),
        Some("yes")
    );
    let (old_spec, new_spec) = (
        before.spec.clone().expect("spec"),
        after.spec.clone().expect("spec"),
    );
    assert_eq!(new_spec.backoff_limit, old_spec.backoff_limit);
    let mut new_template = new_spec.template.clone();
    assert_records(strategy, &new_template, "cfg", NS, &d2);
    // The server re-labelled the pod template for the new uid, not the old one.
    let labels = new_template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    assert_eq!(labels.get("controller-uid"), after.metadata.uid.as_ref());
    // Apart from the trigger state and the server's labels, the template is the same.
    let strip = |t: &mut PodTemplateSpec| {
        if let Some(m) = t.metadata.as_mut() {
            m.labels = None;
            m.annotations = None;
        }
        if let Some(c) = t.spec.as_mut().and_then(|s| s.containers.first_mut()) {
            c.env = None;
        }
    };
    let mut old_template = old_spec.template.clone();
    strip(&mut new_template);
    strip(&mut old_template);
    assert_eq!(new_template, old_template);
    assert_eq!(failed(&engine.events()), 0);
    engine.stop().await;
}

#[tokio::test]
async fn job_is_recreated_with_a_new_uid_and_the_same_spec_plus_the_env_var() {
    job_is_recreated_with_the_trigger_state(Strategy::EnvVars).await;
}

#[tokio::test]
async fn job_is_recreated_with_a_new_uid_and_the_same_spec_plus_the_annotation() {
    job_is_recreated_with_the_trigger_state(Strategy::Annotations).await;
}

#[tokio::test]
async fn ignored_cronjobs_and_jobs_are_left_untouched() {
    let sim = Simulator::start().await.expect("simulator");
    seed(&sim, configmap(NS, "cfg", json!({"k": "v1"})));
    seed(&sim, cronjob("nightly", "cfg"));
    seed(&sim, job("once", "cfg"));
    let api = Api::<Job>::namespaced(sim.client().expect("client"), NS);
    let before = api.get("once").await.expect("job");
    let matcher = MatcherConfig::default().ignored_workload_kinds([WorkloadKind::CronJob, WorkloadKind::Job]);
    let engine = start(&sim, Strategy::EnvVars, config(), matcher).await;

    set_data(&sim, NS, "cfg", json!({"k": "v2"})).await;
    engine
        .wait_for("both kinds to be skipped", |e| {
            count(e, |e| {
                matches!(e, EngineEvent::Skipped { workload, .. }
                    if matches!(workload.kind, WorkloadKind::CronJob | WorkloadKind::Job))
            }) >= 2
        })
        .await;
    let events = engine.events();
    assert_eq!(engine_support::reloaded(&events), 0, "{events:#?}");
    let all = jobs(&sim).await;
    assert_eq!(all.len(), 1, "no Job created");
    assert_eq!(
        all[0].metadata.uid, before.metadata.uid,
        "the Job was not recreated"
    );
    assert_eq!(all[0].metadata.resource_version, before.metadata.resource_version);
    engine.stop().await;
}

async fn cronjob_patch_template_mode_writes_the_template_and_creates_no_job(strategy: Strategy) {
    let config = config().cronjob_mode(CronJobMode::PatchTemplate);
    let (sim, engine) =
        start_on_configmap(NS, "cfg", vec![cronjob("nightly", "cfg")], strategy, config).await;

    set_data(&sim, NS, "cfg", json!({"k": "v2"})).await;
    let d2 = digest_of(&[("k", "v2")]);
    engine
        .wait_for("the CronJob reload", |e| reloaded_with(e, &d2) == 1)
        .await;
    let cronjob = Api::<CronJob>::namespaced(sim.client().expect("client"), NS)
        .get("nightly")
        .await
        .expect("cronjob");
    let job_template = cronjob.spec.expect("spec").job_template;
    let template = job_template.spec.expect("job template spec").template;
    assert_records(strategy, &template, "cfg", NS, &d2);
    assert_eq!(
        job_template
            .metadata
            .and_then(|m| m.annotations)
            .unwrap_or_default()
            .get("owner")
            .map(String::as_str),
        Some("data"),
        "the rest of the job template is kept"
    );
    assert!(jobs(&sim).await.is_empty(), "template-only mode creates no Job");
    assert_eq!(failed(&engine.events()), 0);
    engine.stop().await;
}

#[tokio::test]
async fn cronjob_patch_template_mode_writes_the_env_var_and_creates_no_job() {
    cronjob_patch_template_mode_writes_the_template_and_creates_no_job(Strategy::EnvVars).await;
}

#[tokio::test]
async fn cronjob_patch_template_mode_writes_the_annotation_and_creates_no_job() {
    cronjob_patch_template_mode_writes_the_template_and_creates_no_job(Strategy::Annotations).await;
}

#[tokio::test]
async fn job_whose_recreate_fails_after_the_delete_is_recreated_when_the_api_recovers() {
    let sim = Simulator::start().await.expect("simulator");
    seed(&sim, configmap(NS, "cfg", json!({"k": "v1"})));
    seed(&sim, job("once", "cfg"));
    let api = Api::<Job>::namespaced(sim.client().expect("client"), NS);
    let before = api.get("once").await.expect("job");
    let engine = start(&sim, Strategy::EnvVars, config(), MatcherConfig::default()).await;
    engine.wait_baselined(1).await;

    // The engine's create of the copy after the delete and the first two background retries
    // fail (500: kube's client retries 429/503/504 by itself, so those would never reach the
    // engine); the holder Job (another name) is created.
    sim.fail_next(
        FailureRule::new(500, 3)
            .verb("create")
            .resource("jobs")
            .name("once"),
    );
    set_data(&sim, NS, "cfg", json!({"k": "v2"})).await;
    engine
        .wait_for("the failure to be reported", |e| {
            count(e, |e| {
                matches!(e, EngineEvent::Failed { workload, cause, .. }
                    if workload.name == "once" && cause.contains("could not be recreated"))
            }) == 1
        })
        .await;
    let mut after = None;
    for _ in 0..400 {
        if let Some(job) = api.get_opt("once").await.expect("get") {
            after = Some(job);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let after = after.expect("the Job is recreated once the API recovers");
    // Its holder (kept while the copy existed only in memory) is deleted once it is created.
    let mut left = jobs(&sim).await.len();
    for _ in 0..400 {
        if left == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        left = jobs(&sim).await.len();
    }
    assert_eq!(left, 1, "the Job without its holder");
    assert_ne!(after.metadata.uid, before.metadata.uid, "a new Job");
    let (old_spec, new_spec) = (before.spec.expect("spec"), after.spec.expect("spec"));
    assert_eq!(new_spec.backoff_limit, old_spec.backoff_limit);
    let template = new_spec.template;
    assert_records(
        Strategy::EnvVars,
        &template,
        "cfg",
        NS,
        &digest_of(&[("k", "v2")]),
    );
    assert_eq!(
        template.spec.as_ref().map(|s| s.containers[0].image.clone()),
        old_spec
            .template
            .spec
            .as_ref()
            .map(|s| s.containers[0].image.clone())
    );
    engine.stop().await;
}
