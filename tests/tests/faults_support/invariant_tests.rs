//! The checker on hand-made journals: it passes what is right and fails each broken promise.

use std::sync::Arc;

use reload_strategies::EnvVarStrategy;
use reload_tests::sim::JournalEntry;
use serde_json::{Value, json};

use super::invariant::{check, source_digest};
use reload_core::SourceKind;

struct Journal {
    entries: Vec<JournalEntry>,
}

impl Journal {
    fn new() -> Self {
        Journal { entries: Vec::new() }
    }

    fn write(&mut self, verb: &str, group: &str, resource: &str, object: Value) -> &mut Self {
        let rv = self.entries.len() as u64 + 1;
        self.entries.push(JournalEntry {
            at_nanos: rv,
            verb: verb.to_owned(),
            group: group.to_owned(),
            resource: resource.to_owned(),
            namespace: object["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            name: object["metadata"]["name"].as_str().unwrap_or_default().to_owned(),
            resource_version: rv,
            field_manager: String::new(),
            user_agent: String::new(),
            user: String::new(),
            object: Some(Arc::new(object)),
        });
        self
    }

    fn cm(&mut self, verb: &str, value: &str) -> &mut Self {
        self.write(verb, "", "configmaps", cm(value))
    }

    fn deploy(&mut self, verb: &str, recorded: Option<&str>) -> &mut Self {
        self.write(verb, "apps", "deployments", deployment(recorded))
    }
}

fn cm(value: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cfg", "namespace": "ns"}, "data": {"k": value}})
}

fn digest(value: &str) -> String {
    source_digest(SourceKind::ConfigMap, &cm(value))
        .expect("a ConfigMap has a digest")
        .as_str()
        .to_owned()
}

/// An auto Deployment `ns/w` using ConfigMap `cfg`, recording `digest(value)` in its env var.
fn deployment(recorded_value: Option<&str>) -> Value {
    let mut container =
        json!({"name": "app", "image": "nginx", "envFrom": [{"configMapRef": {"name": "cfg"}}]});
    if let Some(value) = recorded_value {
        container["env"] = json!([{"name": "STAKATER_CFG_CONFIGMAP", "value": digest(value)}]);
    }
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "w", "namespace": "ns", "annotations": {"reloader.stakater.com/auto": "true"}},
        "spec": {"selector": {"matchLabels": {"app": "w"}}, "template": {
            "metadata": {"labels": {"app": "w"}}, "spec": {"containers": [container]}}}})
}

fn with_baseline(mut object: Value, value: &str) -> Value {
    object["metadata"]["annotations"]["reloader.rs/baseline"] =
        json!(format!("{{\"configmap/cfg\":\"{}\"}}", digest(value)));
    object
}

#[test]
fn a_workload_recording_each_new_digest_once_and_the_final_one_holds() {
    let mut j = Journal::new();
    j.cm("create", "v1")
        .deploy("create", None)
        .write(
            "patch",
            "apps",
            "deployments",
            with_baseline(deployment(None), "v1"),
        )
        .cm("patch", "v2")
        .write(
            "patch",
            "apps",
            "deployments",
            with_baseline(deployment(Some("v2")), "v1"),
        )
        .cm("patch", "v3")
        .write(
            "patch",
            "apps",
            "deployments",
            with_baseline(deployment(Some("v3")), "v1"),
        );
    let report = check(&j.entries, &EnvVarStrategy);
    assert!(report.holds(), "{report}");
    assert_eq!(report.pairs_checked, 1);
    assert_eq!(report.rollouts, 2);
}

#[test]
fn a_workload_left_on_an_older_digest_is_a_lost_change() {
    let mut j = Journal::new();
    j.cm("create", "v1")
        .deploy("create", None)
        .cm("patch", "v2")
        .deploy("patch", Some("v2"))
        .cm("patch", "v3");
    let report = check(&j.entries, &EnvVarStrategy);
    assert_eq!(report.violations.len(), 1, "{report}");
    assert!(report.violations[0].contains("lost change"), "{report}");
    assert!(report.violations[0].contains("ns/w"), "{report}");
}

#[test]
fn a_managed_workload_that_records_nothing_for_a_changed_source_is_a_lost_change() {
    let mut j = Journal::new();
    j.cm("create", "v1").deploy("create", None).cm("patch", "v2");
    let report = check(&j.entries, &EnvVarStrategy);
    assert_eq!(report.violations.len(), 1, "{report}");
    assert!(report.violations[0].contains("records nothing"), "{report}");
}

#[test]
fn a_workload_without_the_auto_annotation_is_not_held_to_the_final_digest() {
    let mut j = Journal::new();
    let mut unmanaged = deployment(None);
    unmanaged["metadata"]["annotations"] = json!({});
    j.cm("create", "v1")
        .write("create", "apps", "deployments", unmanaged)
        .cm("patch", "v2");
    let report = check(&j.entries, &EnvVarStrategy);
    assert!(report.holds(), "{report}");
    assert_eq!(report.pairs_checked, 0);
}

#[test]
fn going_back_to_a_digest_the_source_had_only_once_is_a_duplicate_rollout() {
    let mut j = Journal::new();
    j.cm("create", "v1")
        .deploy("create", None)
        .cm("patch", "v2")
        .deploy("patch", Some("v2"))
        .cm("patch", "v3")
        .deploy("patch", Some("v3"))
        .deploy("patch", Some("v2"))
        .deploy("patch", Some("v3"));
    let report = check(&j.entries, &EnvVarStrategy);
    assert_eq!(report.violations.len(), 2, "{report}");
    assert!(
        report.violations.iter().all(|v| v.contains("duplicate rollout")),
        "{report}"
    );
}

#[test]
fn recording_a_digest_again_after_the_source_went_back_to_it_is_not_a_duplicate() {
    let mut j = Journal::new();
    j.cm("create", "v1")
        .deploy("create", None)
        .cm("patch", "v2")
        .deploy("patch", Some("v2"))
        .cm("patch", "v3")
        .deploy("patch", Some("v3"))
        .cm("patch", "v2")
        .deploy("patch", Some("v2"));
    let report = check(&j.entries, &EnvVarStrategy);
    assert!(report.holds(), "{report}");
    assert_eq!(report.rollouts, 3);
}

#[test]
fn a_template_change_without_a_new_digest_is_a_duplicate_rollout() {
    let mut j = Journal::new();
    let mut restarted = deployment(Some("v2"));
    restarted["spec"]["template"]["metadata"]["annotations"] =
        json!({"kubectl.kubernetes.io/restartedAt": "now"});
    j.cm("create", "v1")
        .deploy("create", None)
        .cm("patch", "v2")
        .deploy("patch", Some("v2"))
        .write("patch", "apps", "deployments", restarted);
    let report = check(&j.entries, &EnvVarStrategy);
    assert_eq!(report.violations.len(), 1, "{report}");
    assert!(
        report.violations[0].contains("without recording a new digest"),
        "{report}"
    );
}

fn cronjob(recorded_value: &str) -> Value {
    json!({"apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "cron", "namespace": "ns",
            "annotations": {"reloader.stakater.com/auto": "true",
                "reloader.rs/baseline": format!("{{\"configmap/cfg\":\"{}\"}}", digest(recorded_value))}},
        "spec": {"schedule": "0 0 * * *", "jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "app", "image": "busybox", "envFrom": [{"configMapRef": {"name": "cfg"}}]}]}}}}}})
}

/// A Job of CronJob `ns/cron` recording `digest(value)` in its env var (none: nothing).
fn cron_job(name: &str, recorded_value: Option<&str>) -> Value {
    let mut container =
        json!({"name": "app", "image": "busybox", "envFrom": [{"configMapRef": {"name": "cfg"}}]});
    if let Some(value) = recorded_value {
        container["env"] = json!([{"name": "STAKATER_CFG_CONFIGMAP", "value": digest(value)}]);
    }
    json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": "ns",
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "cron", "uid": "u"}]},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [container]}}}})
}

/// A CronJob baselined at v1 whose ConfigMap changed to v2 and which recorded v2.
fn cronjob_changed_once() -> Journal {
    let mut j = Journal::new();
    j.cm("create", "v1")
        .write("create", "batch", "cronjobs", cronjob("v1"))
        .cm("patch", "v2");
    j
}

fn the_one_violation(j: &Journal) -> String {
    let report = check(&j.entries, &EnvVarStrategy);
    assert_eq!(report.violations.len(), 1, "{report}");
    report.violations[0].clone()
}

#[test]
fn a_cronjob_gets_one_job_per_change_and_a_second_job_for_one_change_fails() {
    let mut j = cronjob_changed_once();
    j.write("create", "batch", "jobs", cron_job("cron-a", Some("v2")))
        .write("patch", "batch", "cronjobs", cronjob("v2"));
    let report = check(&j.entries, &EnvVarStrategy);
    assert!(report.holds(), "{report}");
    assert_eq!(report.jobs_created, 1);

    j.write("create", "batch", "jobs", cron_job("cron-b", Some("v2")));
    let violation = the_one_violation(&j);
    assert!(violation.contains("2 Jobs for ConfigMap cfg"), "{violation}");
    assert!(violation.contains("duplicate run"), "{violation}");
}

#[test]
fn a_cronjob_change_recorded_without_its_job_is_a_lost_run() {
    let mut j = cronjob_changed_once();
    j.write("patch", "batch", "cronjobs", cronjob("v2"));
    let violation = the_one_violation(&j);
    assert!(
        violation.contains("no Job for its change of ConfigMap cfg"),
        "{violation}"
    );
    assert!(violation.contains("lost run"), "{violation}");
}

#[test]
fn a_cronjob_job_recording_no_digest_is_a_run_for_no_change() {
    let mut j = cronjob_changed_once();
    j.write("create", "batch", "jobs", cron_job("cron-a", Some("v2")))
        .write("create", "batch", "jobs", cron_job("cron-b", None))
        .write("patch", "batch", "cronjobs", cronjob("v2"));
    let violation = the_one_violation(&j);
    assert!(violation.contains("cron-b records no digest"), "{violation}");
}

#[test]
fn a_cronjob_change_superseded_before_its_record_keeps_its_job() {
    // A crash between the Job for v2 and its record; the replay finds v3.
    let mut j = cronjob_changed_once();
    j.write("create", "batch", "jobs", cron_job("cron-a", Some("v2")))
        .cm("patch", "v3")
        .write("create", "batch", "jobs", cron_job("cron-b", Some("v3")))
        .write("patch", "batch", "cronjobs", cronjob("v3"));
    let report = check(&j.entries, &EnvVarStrategy);
    assert!(report.holds(), "{report}");
    assert_eq!(report.jobs_created, 2);
}

/// An auto Job `ns/once` using ConfigMap `cfg`, recording `digest(value)` in its env var.
fn managed_job(recorded_value: Option<&str>) -> Value {
    let mut container =
        json!({"name": "app", "image": "busybox", "envFrom": [{"configMapRef": {"name": "cfg"}}]});
    if let Some(value) = recorded_value {
        container["env"] = json!([{"name": "STAKATER_CFG_CONFIGMAP", "value": digest(value)}]);
    }
    json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "once", "namespace": "ns", "annotations": {"reloader.stakater.com/auto": "true"}},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [container]}}}})
}

#[test]
fn a_job_recreated_once_per_change_holds_and_a_second_recreation_for_one_change_fails() {
    let mut j = Journal::new();
    j.cm("create", "v1")
        .write("create", "batch", "jobs", managed_job(None))
        .cm("patch", "v2")
        .write("delete", "batch", "jobs", managed_job(None))
        .write("create", "batch", "jobs", managed_job(Some("v2")));
    let report = check(&j.entries, &EnvVarStrategy);
    assert!(report.holds(), "{report}");
    assert_eq!(report.jobs_recreated, 1);

    j.write("delete", "batch", "jobs", managed_job(Some("v2"))).write(
        "create",
        "batch",
        "jobs",
        managed_job(Some("v2")),
    );
    let report = check(&j.entries, &EnvVarStrategy);
    assert_eq!(report.violations.len(), 1, "{report}");
    assert!(report.violations[0].contains("duplicate Job"), "{report}");
}

#[test]
fn a_job_deleted_and_never_created_again_is_lost() {
    let mut j = Journal::new();
    j.cm("create", "v1")
        .write("create", "batch", "jobs", managed_job(None))
        .cm("patch", "v2")
        .write("delete", "batch", "jobs", managed_job(None));
    let report = check(&j.entries, &EnvVarStrategy);
    assert_eq!(report.violations.len(), 1, "{report}");
    assert!(report.violations[0].contains("lost Job"), "{report}");
}

#[test]
fn a_deployment_left_paused_by_its_pause_period_fails_and_a_resumed_one_holds() {
    let with_period = |recorded: &str, paused: bool| {
        let mut d = deployment(Some(recorded));
        d["metadata"]["annotations"]["deployment.reloader.stakater.com/pause-period"] = json!("2s");
        d["spec"]["paused"] = json!(paused);
        d
    };
    let mut j = Journal::new();
    j.cm("create", "v1")
        .write("create", "apps", "deployments", with_period("v1", false))
        .cm("patch", "v2")
        .write("patch", "apps", "deployments", with_period("v2", true));
    let report = check(&j.entries, &EnvVarStrategy);
    assert_eq!(report.violations.len(), 1, "{report}");
    assert!(report.violations[0].contains("left paused"), "{report}");

    j.write("patch", "apps", "deployments", with_period("v2", false));
    let report = check(&j.entries, &EnvVarStrategy);
    assert!(report.holds(), "{report}");
}
