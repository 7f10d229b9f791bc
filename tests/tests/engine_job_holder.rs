//! A Job reload keeps the Job's copy in the API (a suspended holder Job) between deleting the
//! Job and creating the copy, so a SIGKILL in between loses nothing: the next engine start
//! finishes the reload from the holder. Through the engine, kube's client and the simulator.

mod engine_support;

use engine_support::{
    Strategy, assert_records, config, configmap, count, digest_of, env_value, seed, set_data, start,
};
use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, ListParams};
use reload_core::engine::batch::{HOLDER_LABEL, holder_from_copy, holder_name};
use reload_core::engine::{EngineEvent, Recovery};
use reload_core::matcher::MatcherConfig;
use reload_tests::sim::{FailureRule, Simulator};
use serde_json::{Value, json};

const NS: &str = "holders";

fn job(name: &str) -> Value {
    json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": NS,
                     "annotations": {"reloader.stakater.com/auto": "true"}, "labels": {"kept": "yes"}},
        "spec": {"backoffLimit": 4, "template": {
            "metadata": {"labels": {"app": "batch"}},
            "spec": {"restartPolicy": "Never", "containers": [{
                "name": "app", "image": "busybox", "envFrom": [{"configMapRef": {"name": "cfg"}}]
            }]}
        }}
    })
}

/// The copy a killed reload of `job("once")` was about to create: the Job with a marker env var.
fn copy() -> Value {
    let mut copy = job("once");
    copy["spec"]["template"]["spec"]["containers"][0]["env"] = json!([{"name": "MARK", "value": "copy"}]);
    copy
}

/// The holder a reload killed after its first write leaves in the API.
fn planted_holder(sim: &Simulator, original_uid: &str) -> String {
    let holder = holder_from_copy(&copy(), original_uid).expect("a holder");
    sim.seed(holder).expect("holder seeded");
    holder_name("once", original_uid)
}

async fn all_jobs(sim: &Simulator) -> Vec<Job> {
    Api::<Job>::namespaced(sim.client().expect("client"), NS)
        .list(&ListParams::default())
        .await
        .expect("jobs listed")
        .items
}

fn holders(jobs: &[Job]) -> Vec<String> {
    jobs.iter()
        .filter(|j| {
            j.metadata
                .labels
                .as_ref()
                .is_some_and(|l| l.contains_key(HOLDER_LABEL))
        })
        .filter_map(|j| j.metadata.name.clone())
        .collect()
}

fn recovered(events: &[EngineEvent]) -> Vec<Recovery> {
    events
        .iter()
        .filter_map(|e| match e {
            EngineEvent::Recovered { recovery } => Some(recovery.clone()),
            _ => None,
        })
        .collect()
}

/// Whether any event names a workload called `name`.
fn mentions(events: &[EngineEvent], name: &str) -> bool {
    format!("{events:?}").contains(&format!("name: \"{name}\""))
}

fn reloads_of(events: &[EngineEvent], name: &str) -> usize {
    count(
        events,
        |e| matches!(e, EngineEvent::Reloaded { workload, .. } if workload.name == name),
    )
}

fn failures(events: &[EngineEvent]) -> usize {
    count(events, |e| matches!(e, EngineEvent::Failed { .. }))
}

fn env_of(job: &Job, name: &str) -> Option<String> {
    env_value(&job.spec.as_ref().expect("spec").template, name)
}

/// The (verb, name) of every Job write committed after `since`, in order.
fn job_writes(sim: &Simulator, since: u64) -> Vec<(String, String)> {
    sim.journal(since)
        .into_iter()
        .filter(|w| w.resource == "jobs")
        .map(|w| (w.verb, w.name))
        .collect()
}

fn writes_of(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(v, n)| ((*v).to_owned(), (*n).to_owned()))
        .collect()
}

/// Asserts `job`'s template records the ConfigMap's digest at `{"k": "v2"}`.
fn assert_records_v2(job: &Job) {
    let template = &job.spec.as_ref().expect("spec").template;
    assert_records(Strategy::EnvVars, template, "cfg", NS, &digest_of(&[("k", "v2")]));
}

/// The engine started with auto-reload-all (so a holder indexed as a workload would be
/// reloaded), once its recovery at start is reported.
async fn started_with_auto_reload_all_and_recovered(sim: &Simulator) -> engine_support::Running {
    let engine = start(
        sim,
        Strategy::EnvVars,
        config(),
        MatcherConfig::default().auto_reload_all(true),
    )
    .await;
    engine
        .wait_for("the recovery", |e| !recovered(e).is_empty())
        .await;
    engine
}

async fn seeded() -> Simulator {
    let sim = Simulator::start().await.expect("simulator");
    seed(&sim, configmap(NS, "cfg", json!({"k": "v1"})));
    sim
}

#[tokio::test]
async fn a_job_reload_goes_through_a_holder_and_leaves_none_behind() {
    let sim = seeded().await;
    seed(&sim, job("once"));
    let api = Api::<Job>::namespaced(sim.client().expect("client"), NS);
    let before = api.get("once").await.expect("job");
    let old_uid = before.metadata.uid.clone().expect("uid");
    let engine = start(&sim, Strategy::EnvVars, config(), MatcherConfig::default()).await;
    engine.wait_baselined(1).await;
    let since = sim.current_resource_version();

    set_data(&sim, NS, "cfg", json!({"k": "v2"})).await;
    engine
        .wait_for("the Job reload", |e| reloads_of(e, "once") == 1)
        .await;

    let jobs = all_jobs(&sim).await;
    assert_eq!(jobs.len(), 1, "the recreated Job only: {jobs:?}");
    let after = &jobs[0];
    assert_ne!(after.metadata.uid, before.metadata.uid, "a new Job");
    assert_records_v2(after);
    // The writes, in order: holder created (suspended, the copy inside), Job deleted, copy
    // created, holder deleted.
    let holder = holder_name("once", &old_uid);
    let writes = job_writes(&sim, since);
    assert_eq!(
        writes,
        writes_of(&[
            ("create", holder.as_str()),
            ("delete", "once"),
            ("create", "once"),
            ("delete", holder.as_str())
        ])
    );
    let held = sim
        .journal(since)
        .into_iter()
        .find(|w| w.resource == "jobs" && w.verb == "create" && w.name == holder)
        .and_then(|w| w.object)
        .expect("the holder as created");
    assert_eq!(held["spec"]["suspend"], json!(true));
    assert_eq!(held["metadata"]["labels"], json!({HOLDER_LABEL: "once"}));
    assert_eq!(failures(&engine.events()), 0);
    engine.stop().await;
}

#[tokio::test]
async fn a_holder_left_by_a_kill_after_the_delete_is_finished_at_engine_start() {
    let sim = seeded().await;
    let holder = planted_holder(&sim, "uid-of-the-deleted-job");
    let engine = started_with_auto_reload_all_and_recovered(&sim).await;
    let job_ref = reload_core::WorkloadRef::new(reload_core::WorkloadKind::Job, NS, "once");
    assert_eq!(
        recovered(&engine.events()),
        vec![Recovery::Recreated { job: job_ref }]
    );

    let jobs = all_jobs(&sim).await;
    assert!(holders(&jobs).is_empty(), "the holder is deleted: {jobs:?}");
    let once = jobs
        .iter()
        .find(|j| j.metadata.name.as_deref() == Some("once"))
        .expect("the Job exists again");
    assert_eq!(env_of(once, "MARK").as_deref(), Some("copy"), "the copy's spec");
    assert_eq!(
        once.spec.as_ref().and_then(|s| s.suspend),
        None,
        "not left suspended"
    );
    assert_eq!(once.spec.as_ref().and_then(|s| s.backoff_limit), Some(4));
    let labels = once.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels.get("kept").map(String::as_str), Some("yes"));
    assert!(!labels.contains_key(HOLDER_LABEL));
    assert_eq!(
        once.metadata
            .annotations
            .clone()
            .unwrap_or_default()
            .get("reloader.stakater.com/auto")
            .map(String::as_str),
        Some("true")
    );

    // The recreated Job is a workload like any other; the holder never was one.
    set_data(&sim, NS, "cfg", json!({"k": "v2"})).await;
    engine
        .wait_for("the Job reload", |e| reloads_of(e, "once") == 1)
        .await;
    let events = engine.events();
    assert!(
        !mentions(&events, &holder),
        "the holder was never indexed: {events:#?}"
    );
    assert_eq!(failures(&events), 0);
    engine.stop().await;
}

#[tokio::test]
async fn a_holder_left_beside_its_existing_job_is_just_deleted_at_start() {
    let sim = seeded().await;
    seed(&sim, job("once"));
    let api = Api::<Job>::namespaced(sim.client().expect("client"), NS);
    let uid = api.get("once").await.expect("job").metadata.uid.expect("uid");
    planted_holder(&sim, &uid);
    let engine = start(&sim, Strategy::EnvVars, config(), MatcherConfig::default()).await;
    engine
        .wait_for("the recovery", |e| !recovered(e).is_empty())
        .await;
    let job_ref = reload_core::WorkloadRef::new(reload_core::WorkloadKind::Job, NS, "once");
    assert_eq!(
        recovered(&engine.events()),
        vec![Recovery::HolderRemoved { job: job_ref }]
    );
    let jobs = all_jobs(&sim).await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(
        jobs[0].metadata.uid.as_deref(),
        Some(uid.as_str()),
        "the Job is untouched"
    );
    assert_eq!(
        env_of(&jobs[0], "MARK"),
        None,
        "not replaced by the holder's copy"
    );
    engine.stop().await;
}

#[tokio::test]
async fn a_holder_that_cannot_be_deleted_stays_out_of_the_index() {
    let sim = seeded().await;
    seed(&sim, job("once"));
    // Left by a reload of an earlier Job of that name (another uid).
    let holder = planted_holder(&sim, "uid-of-an-earlier-job");
    // The recovery's delete of the holder is refused: the holder stays while the engine lists.
    sim.fail_next(FailureRule::new(403, 1).verb("delete").resource("jobs"));
    let engine = started_with_auto_reload_all_and_recovered(&sim).await;
    assert!(matches!(
        recovered(&engine.events()).as_slice(),
        [Recovery::Failed { job: Some(job), error }] if job.name == "once" && error.code == 403
    ));
    assert_eq!(holders(&all_jobs(&sim).await), vec![holder.clone()]);

    let since = sim.current_resource_version();
    set_data(&sim, NS, "cfg", json!({"k": "v2"})).await;
    engine
        .wait_for("the Job reload", |e| reloads_of(e, "once") == 1)
        .await;
    let events = engine.events();
    assert!(
        !mentions(&events, &holder),
        "the holder is not a workload: {events:#?}"
    );
    assert!(
        sim.journal(since).iter().all(|w| w.name != holder),
        "the holder is never written by a reload"
    );
    engine.stop().await;
}

async fn holder_refused_with(status: u16) {
    let sim = seeded().await;
    seed(&sim, job("once"));
    let api = Api::<Job>::namespaced(sim.client().expect("client"), NS);
    let before = api.get("once").await.expect("job");
    let engine = start(&sim, Strategy::EnvVars, config(), MatcherConfig::default()).await;
    engine.wait_baselined(1).await;

    // An admission policy refuses the first Job create: the holder's.
    sim.fail_next(FailureRule::new(status, 1).verb("create").resource("jobs"));
    set_data(&sim, NS, "cfg", json!({"k": "v2"})).await;
    engine
        .wait_for("the Job reload", |e| reloads_of(e, "once") == 1)
        .await;
    let jobs = all_jobs(&sim).await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_ne!(
        jobs[0].metadata.uid, before.metadata.uid,
        "recreated without a holder"
    );
    assert_records_v2(&jobs[0]);
    assert_eq!(failures(&engine.events()), 0);
    engine.stop().await;
}

#[tokio::test]
async fn a_holder_forbidden_by_policy_falls_back_and_the_job_is_still_recreated() {
    holder_refused_with(403).await;
}

#[tokio::test]
async fn a_holder_rejected_as_invalid_falls_back_and_the_job_is_still_recreated() {
    holder_refused_with(422).await;
}

#[tokio::test]
async fn a_holder_left_for_the_same_job_is_replaced_by_its_next_reload() {
    let sim = seeded().await;
    seed(&sim, job("once"));
    let api = Api::<Job>::namespaced(sim.client().expect("client"), NS);
    let uid = api.get("once").await.expect("job").metadata.uid.expect("uid");
    let holder = planted_holder(&sim, &uid);
    sim.fail_next(FailureRule::new(403, 1).verb("delete").resource("jobs"));
    let engine = start(&sim, Strategy::EnvVars, config(), MatcherConfig::default()).await;
    engine.wait_baselined(1).await;
    engine
        .wait_for("the recovery", |e| !recovered(e).is_empty())
        .await;
    assert_eq!(
        holders(&all_jobs(&sim).await),
        vec![holder.clone()],
        "kept by the refused delete"
    );

    let since = sim.current_resource_version();
    set_data(&sim, NS, "cfg", json!({"k": "v2"})).await;
    engine
        .wait_for("the Job reload", |e| reloads_of(e, "once") == 1)
        .await;
    let writes = job_writes(&sim, since);
    let expected = [
        ("delete", holder.as_str()),
        ("create", holder.as_str()),
        ("delete", "once"),
        ("create", "once"),
        ("delete", holder.as_str()),
    ];
    assert_eq!(
        writes,
        writes_of(&expected),
        "the old holder is replaced by this reload's"
    );
    let jobs = all_jobs(&sim).await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(
        env_of(&jobs[0], "MARK"),
        None,
        "this reload's copy, not the old holder's"
    );
    assert_records_v2(&jobs[0]);
    assert_eq!(failures(&engine.events()), 0);
    engine.stop().await;
}

#[tokio::test]
async fn a_holder_create_failing_with_a_server_error_deletes_nothing_and_the_reload_is_retried() {
    let sim = seeded().await;
    seed(&sim, job("once"));
    let api = Api::<Job>::namespaced(sim.client().expect("client"), NS);
    let uid = api.get("once").await.expect("job").metadata.uid.expect("uid");
    let engine = start(&sim, Strategy::EnvVars, config(), MatcherConfig::default()).await;
    engine.wait_baselined(1).await;
    let since = sim.current_resource_version();

    let holder = holder_name("once", &uid);
    sim.fail_next(
        FailureRule::new(500, 1)
            .verb("create")
            .resource("jobs")
            .name(&holder),
    );
    set_data(&sim, NS, "cfg", json!({"k": "v2"})).await;
    engine
        .wait_for("the Job reload", |e| reloads_of(e, "once") == 1)
        .await;
    let writes = job_writes(&sim, since);
    let expected = [
        ("create", holder.as_str()),
        ("delete", "once"),
        ("create", "once"),
        ("delete", holder.as_str()),
    ];
    assert_eq!(writes, writes_of(&expected), "the failed attempt wrote nothing");
    assert_eq!(all_jobs(&sim).await.len(), 1);
    assert_eq!(failures(&engine.events()), 0);
    engine.stop().await;
}
