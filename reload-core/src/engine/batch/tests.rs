use serde_json::json;

use super::*;

fn cronjob() -> Value {
    json!({
        "metadata": {"name": "nightly", "namespace": "ns", "uid": "cj-uid", "resourceVersion": "7",
                     "annotations": {"reloader.stakater.com/auto": "true"}},
        "spec": {"schedule": "0 0 * * *", "jobTemplate": {
            "metadata": {"labels": {"team": "a"}, "annotations": {"note": "x", INSTANTIATE_ANNOTATION: "kept"}},
            "spec": {"backoffLimit": 2, "template": {
                "metadata": {"annotations": {"a": "1"}},
                "spec": {"restartPolicy": "Never", "containers": [
                    {"name": "app", "image": "busybox", "env": [{"name": "KEEP", "value": "1"}]},
                    {"name": "side", "image": "busybox"}
                ]}
            }}
        }}
    })
}

fn env_patch(name: &str, value: &str) -> Value {
    json!({"spec": {"containers": [{"name": "app", "env": [{"name": name, "value": value}]}]}})
}

#[test]
fn split_body_separates_the_metadata_from_the_cronjob_template_part() {
    let body = json!({
        "metadata": {"annotations": {"reloader.rs/baseline": "{}"}, "resourceVersion": "7"},
        "spec": {"jobTemplate": {"spec": {"template": {"metadata": {"annotations": {"k": "v"}}}}}}
    });
    let split = split_body(&body, &WorkloadKind::CronJob);
    assert_eq!(
        split.metadata,
        json!({"metadata": {"annotations": {"reloader.rs/baseline": "{}"}, "resourceVersion": "7"}})
    );
    assert_eq!(
        split.template,
        Some(json!({"metadata": {"annotations": {"k": "v"}}}))
    );
    assert!(has_metadata_edits(&split.metadata));
}

#[test]
fn metadata_only_body_has_no_template_part() {
    let split = split_body(&json!({"metadata": {"resourceVersion": "3"}}), &WorkloadKind::Job);
    assert_eq!(split.template, None);
    assert!(!has_metadata_edits(&split.metadata));
}

#[test]
fn template_patch_replaces_env_entries_by_name_appends_new_ones_and_deletes() {
    let mut template = cronjob()["spec"]["jobTemplate"]["spec"]["template"].clone();
    apply_template_patch(&mut template, &env_patch("STAKATER_X", "d1"));
    apply_template_patch(&mut template, &env_patch("STAKATER_X", "d2"));
    assert_eq!(
        template["spec"]["containers"][0]["env"],
        json!([{"name": "KEEP", "value": "1"}, {"name": "STAKATER_X", "value": "d2"}])
    );
    apply_template_patch(
        &mut template,
        &json!({"spec": {"containers": [{"name": "app", "env": [{"name": "KEEP", "$patch": "delete"}]}]}}),
    );
    assert_eq!(
        template["spec"]["containers"][0]["env"],
        json!([{"name": "STAKATER_X", "value": "d2"}])
    );
    assert_eq!(template["spec"]["containers"][1].get("env"), None);
}

#[test]
fn template_patch_sets_and_removes_template_annotations() {
    let mut template = json!({"spec": {"containers": []}});
    apply_template_patch(
        &mut template,
        &json!({"metadata": {"annotations": {"k": "v", "a": "b"}}}),
    );
    apply_template_patch(&mut template, &json!({"metadata": {"annotations": {"a": null}}}));
    assert_eq!(template["metadata"]["annotations"], json!({"k": "v"}));
}

#[test]
fn template_patch_on_odd_input_does_not_panic() {
    let mut odd = json!("not an object");
    apply_template_patch(&mut odd, &env_patch("X", "1"));
    apply_template_patch(&mut odd, &json!({"metadata": {"annotations": {"k": "v"}}}));
    assert_eq!(odd, json!("not an object"));
    let mut no_env_array = json!({"spec": {"containers": [{"name": "app", "env": "oops"}]}});
    apply_template_patch(&mut no_env_array, &env_patch("X", "1"));
    assert_eq!(
        no_env_array["spec"]["containers"][0]["env"],
        json!([{"name": "X", "value": "1"}])
    );
}

#[test]
fn job_from_cronjob_is_reloaders_manual_job_with_the_env_var() {
    let job = job_from_cronjob(&cronjob(), "nightly-0a1b2c3d4e", &env_patch("STAKATER_X", "d1"))
        .expect("a complete CronJob");
    let meta = &job["metadata"];
    assert_eq!(meta["name"], "nightly-0a1b2c3d4e");
    assert_eq!(meta.get("generateName"), None);
    assert_eq!(meta["namespace"], "ns");
    assert_eq!(meta["labels"], json!({"team": "a"}));
    // Template keys win over the manual marker, as in Reloader.
    assert_eq!(
        meta["annotations"],
        json!({"note": "x", INSTANTIATE_ANNOTATION: "kept"})
    );
    assert_eq!(
        meta["ownerReferences"],
        json!([{"apiVersion": "batch/v1", "kind": "CronJob", "name": "nightly", "uid": "cj-uid",
                "controller": true, "blockOwnerDeletion": true}])
    );
    assert_eq!(job["spec"]["backoffLimit"], 2);
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["env"][1],
        json!({"name": "STAKATER_X", "value": "d1"})
    );
}

#[test]
fn job_from_cronjob_defaults_the_manual_annotation() {
    let mut cj = cronjob();
    cj["spec"]["jobTemplate"]["metadata"] = json!({});
    let job = job_from_cronjob(&cj, "j", &json!({})).expect("a complete CronJob");
    assert_eq!(
        job["metadata"]["annotations"],
        json!({INSTANTIATE_ANNOTATION: "manual"})
    );
    assert_eq!(job["metadata"].get("labels"), None);
}

#[test]
fn cronjob_without_uid_or_job_template_gives_no_job() {
    let mut no_uid = cronjob();
    no_uid["metadata"]["uid"] = Value::Null;
    assert_eq!(job_from_cronjob(&no_uid, "j", &json!({})), None);
    let mut no_spec = cronjob();
    no_spec["spec"]["jobTemplate"] = json!({});
    assert_eq!(job_from_cronjob(&no_spec, "j", &json!({})), None);
}

fn record(digest: &str) -> Value {
    json!({"reloader.rs/baseline": format!("{{\"configmap/cfg\":\"{digest}\"}}")})
}

#[test]
fn a_reload_replayed_on_the_same_cronjob_state_gets_the_same_job_name() {
    let name = run_job_name(&cronjob(), &record("d1")).expect("a complete CronJob");
    assert_eq!(
        run_job_name(&cronjob(), &record("d1")).as_deref(),
        Some(name.as_str())
    );
    let (prefix, hash) = name.split_at("nightly-".len());
    assert_eq!(prefix, "nightly-");
    assert_eq!(hash.len(), 10);
    assert!(
        hash.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
        "{name}"
    );
}

#[test]
fn each_new_reload_gets_a_new_job_name_even_back_to_the_same_data() {
    let first = run_job_name(&cronjob(), &record("d1")).expect("name");
    assert_ne!(
        run_job_name(&cronjob(), &record("d2")),
        Some(first.clone()),
        "another digest"
    );
    let mut recorded = cronjob();
    recorded["metadata"]["annotations"][LAST_JOB_ANNOTATION] = json!(first.clone());
    // d1 -> d2 -> d1: the CronJob now names the first Job as its last one.
    assert_ne!(
        run_job_name(&recorded, &record("d1")),
        Some(first.clone()),
        "after the record"
    );
    let mut recreated = cronjob();
    recreated["metadata"]["uid"] = json!("another-uid");
    assert_ne!(
        run_job_name(&recreated, &record("d1")),
        Some(first),
        "a recreated CronJob"
    );
}

#[test]
fn a_job_name_fits_the_api_limit_and_needs_a_uid() {
    let mut long = cronjob();
    long["metadata"]["name"] = json!("c".repeat(60));
    let name = run_job_name(&long, &record("d1")).expect("name");
    assert_eq!(name.len(), 63, "{name}");
    let mut no_uid = cronjob();
    no_uid["metadata"]["uid"] = Value::Null;
    assert_eq!(run_job_name(&no_uid, &record("d1")), None);
}

#[test]
fn the_record_names_the_job_and_keeps_the_guard_and_the_digests() {
    let metadata = json!({"metadata": {"resourceVersion": "7", "annotations": record("d1")}});
    let patched = with_last_job(&metadata, "nightly-0a1b2c3d4e");
    assert_eq!(patched["metadata"]["resourceVersion"], "7");
    assert_eq!(
        patched["metadata"]["annotations"][LAST_JOB_ANNOTATION],
        "nightly-0a1b2c3d4e"
    );
    assert_eq!(
        patched["metadata"]["annotations"]["reloader.rs/baseline"],
        record("d1")["reloader.rs/baseline"]
    );
}

#[test]
fn recreated_job_strips_server_fields_and_controller_labels_and_keeps_the_rest() {
    let job = json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "once", "namespace": "ns", "uid": "u1", "resourceVersion": "9",
                     "creationTimestamp": "2026-01-01T00:00:00Z", "managedFields": [{}], "generation": 1,
                     "labels": {"l": "1"}, "annotations": {"a": "1"}},
        "spec": {"manualSelector": false, "selector": {"matchLabels": {"controller-uid": "u1"}},
                 "template": {"metadata": {"labels": {"controller-uid": "u1", "job-name": "once",
                    "batch.kubernetes.io/controller-uid": "u1", "batch.kubernetes.io/job-name": "once", "app": "x"}},
                    "spec": {"containers": [{"name": "app", "image": "busybox"}]}}},
        "status": {"succeeded": 1}
    });
    let copy = recreated_job(
        &job,
        &json!({"metadata": {"annotations": {"reloader.rs/baseline": "{}"}, "resourceVersion": "9"}}),
        Some(&env_patch("STAKATER_X", "d1")),
    );
    assert_eq!(
        copy["metadata"],
        json!({"name": "once", "namespace": "ns", "labels": {"l": "1"},
               "annotations": {"a": "1", "reloader.rs/baseline": "{}"}})
    );
    assert_eq!(copy.get("status"), None);
    assert_eq!(copy["spec"].get("selector"), None);
    assert_eq!(copy["spec"]["manualSelector"], false);
    assert_eq!(
        copy["spec"]["template"]["metadata"]["labels"],
        json!({"app": "x"})
    );
    assert_eq!(
        copy["spec"]["template"]["spec"]["containers"][0]["env"],
        json!([{"name": "STAKATER_X", "value": "d1"}])
    );
}
