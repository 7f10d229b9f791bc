use proptest::prelude::*;
use serde_json::{Value, json};

use super::{PatchError, apply_json_patch, apply_merge_patch};

fn config_map() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cfg", "namespace": "default", "labels": {"app": "web"}},
        "data": {"a": "1", "b": "2"}
    })
}

#[test]
fn merge_patch_merges_objects_and_null_deletes() {
    let mut cm = config_map();
    apply_merge_patch(
        &mut cm,
        &json!({"metadata": {"labels": {"app": null, "tier": "x"}}, "data": {"a": "9"}}),
    )
    .unwrap();
    assert_eq!(cm["metadata"]["labels"], json!({"tier": "x"}));
    assert_eq!(cm["data"], json!({"a": "9", "b": "2"}));
}

#[test]
fn merge_patch_replaces_lists_whole() {
    let mut object = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
    apply_merge_patch(&mut object, &json!({"spec": {"containers": [{"name": "c"}]}})).unwrap();
    assert_eq!(object, json!({"spec": {"containers": [{"name": "c"}]}}));
}

#[test]
fn merge_patch_rejects_null_with_400_and_scalars_with_422() {
    let mut cm = config_map();
    let err = apply_merge_patch(&mut cm, &Value::Null).unwrap_err();
    assert_eq!(
        (err.status_code(), err.reason(), err.to_string().as_str()),
        (400, "BadRequest", "Invalid JSON Patch")
    );
    let err = apply_merge_patch(&mut cm, &json!([1])).unwrap_err();
    assert_eq!((err.status_code(), err.reason()), (422, "Invalid"));
    assert_eq!(cm, config_map());
}

#[test]
fn json_patch_applies_every_operation_in_order() {
    let mut cm = config_map();
    apply_json_patch(
        &mut cm,
        &json!([
            {"op": "add", "path": "/data/c", "value": "3"},
            {"op": "remove", "path": "/data/a"},
            {"op": "replace", "path": "/data/b", "value": "two"},
            {"op": "copy", "from": "/data/c", "path": "/data/d"},
            {"op": "move", "from": "/data/d", "path": "/metadata/labels/d"},
            {"op": "test", "path": "/metadata/labels/d", "value": "3"}
        ]),
    )
    .unwrap();
    assert_eq!(cm["data"], json!({"b": "two", "c": "3"}));
    assert_eq!(cm["metadata"]["labels"], json!({"app": "web", "d": "3"}));
}

#[test]
fn json_patch_with_a_failing_test_is_422_and_applies_nothing() {
    let mut cm = config_map();
    let err = apply_json_patch(
        &mut cm,
        &json!([
            {"op": "replace", "path": "/data/a", "value": "changed"},
            {"op": "test", "path": "/metadata/name", "value": "other"}
        ]),
    )
    .unwrap_err();
    assert_eq!((err.status_code(), err.reason()), (422, "Invalid"));
    assert_eq!(
        err.to_string(),
        "testing value /metadata/name failed: test failed"
    );
    assert_eq!(cm, config_map());
}

#[test]
fn json_patch_on_a_missing_path_is_422() {
    let mut cm = config_map();
    let err = apply_json_patch(&mut cm, &json!([{"op": "remove", "path": "/data/nope"}])).unwrap_err();
    assert_eq!(err.status_code(), 422);
    assert_eq!(
        err.to_string(),
        "remove operation does not apply: doc is missing path: \"/data/nope\": missing value"
    );
    let err = apply_json_patch(&mut cm, &json!([{"op": "add", "path": "/spec/x", "value": 1}])).unwrap_err();
    assert_eq!(err.status_code(), 422);
}

#[test]
fn reloader_delete_patch_removes_an_env_entry_by_index() {
    let mut deployment = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "app", "env": [{"name": "A", "value": "a"}, {"name": "X", "value": "1"}]}
    ]}}}});
    apply_json_patch(
        &mut deployment,
        &json!([{"op": "remove", "path": "/spec/template/spec/containers/0/env/1"}]),
    )
    .unwrap();
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["env"],
        json!([{"name": "A", "value": "a"}])
    );
}

#[test]
fn malformed_json_patch_bodies_are_400_and_unknown_operations_422() {
    let mut cm = config_map();
    let cases: [(Value, u16); 6] = [
        (json!({"op": "add"}), 400),
        (json!(["add"]), 400),
        (json!([{"op": "frobnicate", "path": "/a"}]), 422),
        (json!([{"path": "/a", "value": 1}]), 422),
        (json!([{"op": "add", "value": 1}]), 422),
        (json!([{"op": "move", "path": "/a"}]), 422),
    ];
    for (patch, status) in cases {
        let err = apply_json_patch(&mut cm, &patch).unwrap_err();
        assert_eq!(err.status_code(), status, "{patch}: {err}");
    }
    assert_eq!(cm, config_map());
}

#[test]
fn json_patch_that_replaces_the_root_with_a_scalar_is_invalid() {
    let mut cm = config_map();
    let err = apply_json_patch(&mut cm, &json!([{"op": "replace", "path": "", "value": 1}])).unwrap_err();
    assert_eq!(err.status_code(), 422);
    assert_eq!(cm, config_map());
}

#[test]
fn json_patch_add_without_a_value_adds_null_like_the_go_library() {
    let mut cm = config_map();
    apply_json_patch(&mut cm, &json!([{"op": "add", "path": "/data/n"}])).unwrap();
    assert_eq!(cm["data"]["n"], Value::Null);
}

#[test]
fn every_error_maps_to_its_status_and_reason() {
    let cases = [
        (PatchError::bad_request("x"), 400, "BadRequest"),
        (PatchError::invalid("x"), 422, "Invalid"),
        (PatchError::internal("x"), 500, ""),
        (PatchError::UnsupportedMediaType, 415, "UnsupportedMediaType"),
    ];
    for (err, status, reason) in cases {
        assert_eq!((err.status_code(), err.reason()), (status, reason), "{err:?}");
    }
}

fn small_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (0u8..4).prop_map(|n| json!(n)),
        "[ab]{0,2}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map("[abc]", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn small_object() -> impl Strategy<Value = Value> {
    prop::collection::btree_map("[abc]", small_json(), 0..4)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

fn json_patch_op() -> impl Strategy<Value = Value> {
    let path = prop::collection::vec(prop_oneof!["[abc]".boxed(), "[0-2-]".boxed()], 0..3)
        .prop_map(|parts| parts.iter().map(|p| format!("/{p}")).collect::<String>());
    (
        prop::sample::select(vec!["add", "remove", "replace", "move", "copy", "test"]),
        path.clone(),
        path,
        small_json(),
    )
        .prop_map(|(op, path, from, value)| json!({"op": op, "path": path, "from": from, "value": value}))
}

proptest! {
    #[test]
    fn applying_a_merge_patch_twice_equals_applying_it_once(target in small_object(), patch in small_object()) {
        let mut once = target;
        apply_merge_patch(&mut once, &patch).unwrap();
        let mut twice = once.clone();
        apply_merge_patch(&mut twice, &patch).unwrap();
        prop_assert_eq!(twice, once);
    }

    #[test]
    fn a_failing_json_patch_leaves_the_target_untouched(
        target in small_object(),
        ops in prop::collection::vec(json_patch_op(), 0..5),
    ) {
        let mut patched = target.clone();
        if apply_json_patch(&mut patched, &Value::Array(ops)).is_err() {
            prop_assert_eq!(patched, target);
        } else {
            prop_assert!(patched.is_object());
        }
    }
}
