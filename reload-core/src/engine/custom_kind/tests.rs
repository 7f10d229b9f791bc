use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::{Value, json};

use super::*;

fn pipelines() -> CustomKind {
    let gvk = GroupVersionKind::gvk("example.com", "v1", "Pipeline");
    CustomKind::new(
        ApiResource::from_gvk_with_plural(&gvk, "pipelines"),
        "/spec/runner/podTemplate",
    )
}

fn object(template: &Value) -> Value {
    json!({
        "apiVersion": "example.com/v1", "kind": "Pipeline",
        "metadata": {"name": "nightly", "namespace": "ci", "uid": "u1", "resourceVersion": "7",
                     "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"schedule": "daily", "runner": {"podTemplate": template}}
    })
}

fn template() -> Value {
    json!({"metadata": {"labels": {"app": "ci"}}, "spec": {"containers": [
        {"name": "app", "image": "ci:1", "env": [{"name": "KEEP", "value": "1"}]},
        {"name": "sidecar", "image": "proxy:2"}
    ]}})
}

fn env_body(planned_rv: Option<&str>) -> Value {
    let mut body = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "app", "env": [{"name": "STAKATER_CFG_CONFIGMAP", "value": "abc"}]}
    ]}}}});
    if let Some(rv) = planned_rv {
        body["metadata"] = json!({"resourceVersion": rv});
    }
    body
}

#[test]
fn a_pointer_without_a_leading_slash_is_normalised_and_the_kind_is_named_after_the_resource() {
    let gvk = GroupVersionKind::gvk("example.com", "v1", "Worker");
    let kind = CustomKind::new(
        ApiResource::from_gvk_with_plural(&gvk, "workers"),
        "spec/template",
    );
    assert_eq!(kind.template_pointer(), "/spec/template");
    assert_eq!(kind.kind(), &WorkloadKind::Custom("Worker".into()));
    assert_eq!(kind.resource().plural, "workers");
}

#[test]
fn an_object_is_indexed_from_the_template_at_the_pointer_with_its_server_metadata() {
    let object: DynamicObject = serde_json::from_value(object(&template())).expect("object");
    let indexed = pipelines().index(&object).expect("named").expect("readable");
    assert_eq!(
        indexed.workload.id,
        WorkloadRef::new(pipelines().kind().clone(), "ci", "nightly")
    );
    assert_eq!(indexed.workload.template.containers.len(), 2);
    assert_eq!(indexed.uid.as_deref(), Some("u1"));
    assert_eq!(indexed.resource_version.as_deref(), Some("7"));
    assert!(indexed.created_ms.is_some());
}

#[test]
fn an_object_without_a_template_at_the_pointer_is_unsupported_with_a_reason_naming_it() {
    let mut value = object(&template());
    value["spec"] = json!({"schedule": "daily"});
    let object: DynamicObject = serde_json::from_value(value).expect("object");
    match pipelines().index(&object) {
        Some(Err(crate::Error::UnsupportedWorkload { workload, reason })) => {
            assert_eq!(workload.name, "nightly");
            assert!(reason.contains("/spec/runner/podTemplate"), "{reason}");
        }
        other => panic!("expected an unsupported workload, got {other:?}"),
    }
    let mut nameless = object.clone();
    nameless.metadata.name = None;
    assert!(pipelines().index(&nameless).is_none());
}

#[test]
fn a_metadata_only_body_is_sent_as_it_is() {
    let body = json!({"metadata": {"annotations": {"reloader.rs/baseline": "{}"}, "resourceVersion": "7"}});
    assert!(!pipelines().needs_read(&body));
    assert_eq!(pipelines().merge_patch(&body, None).expect("patch"), body);
}

#[test]
fn template_annotation_edits_move_under_the_pointer_without_a_read() {
    let body = json!({
        "metadata": {"annotations": {"reloader.rs/baseline": "{}"}},
        "spec": {"template": {"metadata": {"annotations": {"last-reloaded-from": "x", "old": null}}}}
    });
    assert!(!pipelines().needs_read(&body));
    assert_eq!(
        pipelines().merge_patch(&body, None).expect("patch"),
        json!({
            "metadata": {"annotations": {"reloader.rs/baseline": "{}"}},
            "spec": {"runner": {"podTemplate": {"metadata": {"annotations": {"last-reloaded-from": "x", "old": null}}}}}
        })
    );
}

#[test]
fn container_edits_send_the_whole_edited_containers_list_guarded_by_the_read_resource_version() {
    let body = env_body(None);
    assert!(pipelines().needs_read(&body));
    let patch = pipelines()
        .merge_patch(&body, Some(&object(&template())))
        .expect("patch");
    assert_eq!(patch["metadata"]["resourceVersion"], "7");
    assert_eq!(
        patch["spec"]["runner"]["podTemplate"]["spec"]["containers"],
        json!([
            {"name": "app", "image": "ci:1", "env": [
                {"name": "KEEP", "value": "1"},
                {"name": "STAKATER_CFG_CONFIGMAP", "value": "abc"}
            ]},
            {"name": "sidecar", "image": "proxy:2"}
        ])
    );
    assert!(
        patch["spec"].get("template").is_none(),
        "nothing is left at spec.template"
    );
    assert!(
        patch["spec"].get("schedule").is_none(),
        "only the template is written"
    );
}

#[test]
fn container_edits_planned_on_an_older_version_are_a_conflict_and_without_the_object_an_error() {
    let stale = pipelines().merge_patch(&env_body(Some("6")), Some(&object(&template())));
    assert_eq!(stale.expect_err("stale").code, 409);
    let current = pipelines().merge_patch(&env_body(Some("7")), Some(&object(&template())));
    assert_eq!(
        current.expect("planned on the version read")["metadata"]["resourceVersion"],
        "7"
    );
    assert_eq!(
        pipelines()
            .merge_patch(&env_body(None), None)
            .expect_err("no object")
            .code,
        422
    );
    let mut no_template = object(&template());
    no_template["spec"] = json!({});
    let missing = pipelines().merge_patch(&env_body(None), Some(&no_template));
    assert_eq!(missing.expect_err("no template").code, 422);
}

#[test]
fn escaped_pointer_segments_are_unescaped_when_the_patch_is_built() {
    let gvk = GroupVersionKind::gvk("example.com", "v1", "Odd");
    let odd = CustomKind::new(ApiResource::from_gvk_with_plural(&gvk, "odds"), "/spec/a~1b/c~0d");
    let body = json!({"spec": {"template": {"metadata": {"annotations": {"k": "v"}}}}});
    assert_eq!(
        odd.merge_patch(&body, None).expect("patch"),
        json!({"spec": {"a/b": {"c~d": {"metadata": {"annotations": {"k": "v"}}}}}})
    );
}
