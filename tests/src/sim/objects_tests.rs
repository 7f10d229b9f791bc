use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::sim::kinds::builtin_kinds;

fn kind(plural: &str) -> ResourceKind {
    builtin_kinds()
        .into_iter()
        .find(|k| k.plural == plural && k.group != "events.k8s.io")
        .unwrap_or_else(|| unreachable!())
}

#[test]
fn timestamps_are_rfc3339_in_utc() {
    assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(format_rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
}

#[test]
fn uids_look_like_version_4_uuids() {
    let uid = random_uid();
    let parts: Vec<_> = uid.split('-').map(str::len).collect();
    assert_eq!(parts, [8, 4, 4, 4, 12]);
    assert_eq!(uid.as_bytes()[14], b'4');
    assert_ne!(uid, random_uid());
}

#[test]
fn create_fills_identity_and_namespace_from_the_path() {
    let obj = prepare_create(
        &kind("configmaps"),
        Some("team"),
        json!({"metadata": {"name": "a"}}),
    )
    .unwrap_or_default();
    assert_eq!(obj["metadata"]["namespace"], "team");
    assert_eq!(
        (obj["apiVersion"].as_str(), obj["kind"].as_str()),
        (Some("v1"), Some("ConfigMap"))
    );
    assert!(obj["metadata"]["uid"].is_string() && obj["metadata"]["creationTimestamp"].is_string());
    assert!(obj["metadata"].get("generation").is_none());
}

#[test]
fn create_rejects_a_body_for_another_namespace_or_kind_and_bad_names() {
    let cm = kind("configmaps");
    let other_ns = prepare_create(
        &cm,
        Some("a"),
        json!({"metadata": {"name": "x", "namespace": "b"}}),
    );
    assert_eq!(other_ns.err().map(|e| e.code), Some(400));
    let other_kind = prepare_create(
        &cm,
        Some("a"),
        json!({"kind": "Secret", "metadata": {"name": "x"}}),
    );
    assert_eq!(other_kind.err().map(|e| e.code), Some(400));
    let bad_name = prepare_create(&cm, Some("a"), json!({"metadata": {"name": "Bad_Name"}}));
    assert_eq!(bad_name.err().map(|e| e.code), Some(422));
    let no_name = prepare_create(&cm, Some("a"), json!({"metadata": {}}));
    assert_eq!(no_name.err().map(|e| e.reason), Some("Invalid"));
}

#[test]
fn update_keeps_identity_and_bumps_generation_only_on_spec_change() {
    let d = kind("deployments");
    let body = json!({"metadata": {"name": "w"}, "spec": {"selector": {"matchLabels": {"a": "b"}},
        "template": {"metadata": {"labels": {"a": "b"}}}}});
    let old = prepare_create(&d, Some("ns"), body.clone()).unwrap_or_default();
    let mut relabelled = body.clone();
    relabelled["metadata"]["labels"] = json!({"x": "y"});
    relabelled["metadata"]["uid"] = json!("forged");
    let same_spec = prepare_update(&d, &old, relabelled, false).unwrap_or_default();
    assert_eq!(same_spec["metadata"]["uid"], old["metadata"]["uid"]);
    assert_eq!(same_spec["metadata"]["generation"], 1);
    let mut scaled = body;
    scaled["spec"]["replicas"] = json!(2);
    assert_eq!(
        prepare_update(&d, &old, scaled, false).unwrap_or_default()["metadata"]["generation"],
        2
    );
}

#[test]
fn string_data_overrides_data_keys_and_disappears() {
    let mut secret = json!({"data": {"a": "b2xk"}, "stringData": {"a": "new", "b": "x"}});
    fold_string_data(&kind("secrets"), &mut secret);
    assert_eq!(secret, json!({"data": {"a": "bmV3", "b": "eA=="}}));
}

#[test]
fn workloads_need_a_selector_matching_their_template() {
    let d = kind("deployments");
    let missing = prepare_create(&d, Some("ns"), json!({"metadata": {"name": "w"}, "spec": {}}));
    assert_eq!(missing.err().map(|e| e.code), Some(422));
}

proptest! {
    #[test]
    fn timestamp_formatting_never_panics_and_has_a_fixed_shape(secs in 0u64..253_402_300_799) {
        let ts = format_rfc3339(secs);
        prop_assert_eq!(ts.len(), 20);
        prop_assert!(ts.ends_with('Z'));
    }

    #[test]
    fn create_never_panics_on_arbitrary_metadata(name in ".{0,70}", prefix in ".{0,10}") {
        let _ = prepare_create(&kind("configmaps"), Some("ns"), json!({"metadata": {"name": name, "generateName": prefix}}));
    }
}

#[test]
fn immutable_configmaps_refuse_data_changes_but_accept_label_changes() {
    let cm = kind("configmaps");
    let old = prepare_create(
        &cm,
        Some("ns"),
        json!({"metadata": {"name": "c"}, "data": {"k": "1"}, "immutable": true}),
    )
    .unwrap_or_default();
    let mut changed = old.clone();
    changed["data"]["k"] = json!("2");
    assert_eq!(
        prepare_update(&cm, &old, changed, false).err().map(|e| e.code),
        Some(422)
    );
    let mut relabelled = old.clone();
    relabelled["metadata"]["labels"] = json!({"a": "b"});
    assert!(prepare_update(&cm, &old, relabelled, false).is_ok());
}

#[test]
fn secrets_default_to_opaque_and_reject_data_that_is_not_base64() {
    let secrets = kind("secrets");
    let created =
        prepare_create(&secrets, Some("ns"), json!({"metadata": {"name": "s"}})).unwrap_or_default();
    assert_eq!(created["type"], "Opaque");
    let bad = prepare_create(
        &secrets,
        Some("ns"),
        json!({"metadata": {"name": "s"}, "data": {"k": "not base64!"}}),
    );
    assert_eq!(bad.err().map(|e| e.code), Some(400));
}
