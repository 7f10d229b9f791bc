use proptest::prelude::*;
use serde_json::{Value, json};

use super::apply_strategic_merge_patch;
use crate::sim::patch::PatchError;

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "default",
            "annotations": {"team": "a", "reloader.stakater.com/auto": "true"},
            "finalizers": ["example.com/a"]
        },
        "spec": {
            "replicas": 2,
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "app:1",
                            "args": ["--a", "--b"],
                            "env": [
                                {"name": "A", "value": "a"},
                                {"name": "X", "value": "0"},
                                {"name": "B", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}
                            ],
                            "volumeMounts": [{"name": "cfg", "mountPath": "/etc/cfg"}],
                            "ports": [{"containerPort": 8080, "name": "http"}]
                        },
                        {"name": "sidecar", "image": "proxy:1", "env": [{"name": "P", "value": "p"}]}
                    ],
                    "volumes": [
                        {"name": "cfg", "configMap": {"name": "cfg"}},
                        {"name": "tmp", "emptyDir": {}}
                    ],
                    "tolerations": [{"key": "a", "operator": "Exists"}]
                }
            }
        }
    })
}

fn pod_spec(object: &Value) -> &Value {
    &object["spec"]["template"]["spec"]
}

fn smp(patch: &Value) -> Result<Value, PatchError> {
    let mut object = deployment();
    apply_strategic_merge_patch(&mut object, patch)?;
    Ok(object)
}

#[test]
fn reloader_env_patch_changes_only_the_named_var_of_the_named_container() {
    let patched = smp(&json!({"spec":{"template":{"spec":{"containers":[
        {"name":"app","env":[{"name":"X","value":"1"}]}
    ]}}}}))
    .unwrap();
    let mut expected = deployment();
    expected["spec"]["template"]["spec"]["containers"][0]["env"][1]["value"] = json!("1");
    assert_eq!(patched, expected);
}

#[test]
fn reloader_env_patch_adds_a_new_var_in_front_and_keeps_every_other_var_and_container() {
    let patched = smp(&json!({"spec":{"template":{"spec":{"containers":[
        {"name":"app","env":[{"name":"STAKATER_CFG_CONFIGMAP","value":"abc"}]}
    ]}}}}))
    .unwrap();
    let containers = &pod_spec(&patched)["containers"];
    assert_eq!(containers.as_array().map(Vec::len), Some(2));
    let names: Vec<&str> = containers[0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["STAKATER_CFG_CONFIGMAP", "A", "X", "B"]);
    assert_eq!(
        containers[1],
        deployment()["spec"]["template"]["spec"]["containers"][1]
    );
    assert_eq!(containers[0]["image"], "app:1");
}

#[test]
fn annotation_patch_on_the_pod_template_keeps_the_labels() {
    let patched =
        smp(&json!({"spec":{"template":{"metadata":{"annotations":{"reloader/last":"h"}}}}})).unwrap();
    assert_eq!(
        patched["spec"]["template"]["metadata"],
        json!({"labels":{"app":"web"},"annotations":{"reloader/last":"h"}})
    );
}

#[test]
fn null_deletes_an_annotation_and_leaves_the_others() {
    let patched = smp(&json!({"metadata":{"annotations":{"team":null}}})).unwrap();
    assert_eq!(
        patched["metadata"]["annotations"],
        json!({"reloader.stakater.com/auto":"true"})
    );
}

#[test]
fn null_for_a_missing_key_is_not_stored() {
    let patched = smp(&json!({"metadata":{"annotations":{"gone":null}}, "spec": {"paused": null}})).unwrap();
    assert_eq!(patched, deployment());
}

#[test]
fn patch_delete_removes_an_env_entry_by_name() {
    let patched = smp(&json!({"spec":{"template":{"spec":{"containers":[
        {"name":"app","env":[{"name":"X","$patch":"delete"}]}
    ]}}}}))
    .unwrap();
    let env = &pod_spec(&patched)["containers"][0]["env"];
    assert_eq!(
        env,
        &json!([{"name":"A","value":"a"},{"name":"B","valueFrom":{"secretKeyRef":{"name":"s","key":"k"}}}])
    );
}

#[test]
fn patch_delete_removes_a_container_by_name() {
    let patched =
        smp(&json!({"spec":{"template":{"spec":{"containers":[{"name":"sidecar","$patch":"delete"}]}}}}))
            .unwrap();
    let containers = pod_spec(&patched)["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    assert_eq!(containers[0]["name"], "app");
}

#[test]
fn patch_delete_of_a_missing_entry_changes_nothing() {
    let patched = smp(&json!({"spec":{"template":{"spec":{"containers":[
        {"name":"app","env":[{"name":"NOPE","$patch":"delete"}]}
    ]}}}}))
    .unwrap();
    assert_eq!(patched, deployment());
}

#[test]
fn patch_delete_in_a_list_new_to_the_object_stores_nothing_of_it() {
    let patched =
        smp(&json!({"spec":{"template":{"spec":{"initContainers":[{"name":"x","$patch":"delete"}]}}}}))
            .unwrap();
    assert_eq!(pod_spec(&patched)["initContainers"], json!([]));
}

#[test]
fn patch_delete_without_the_merge_key_is_the_real_servers_500() {
    let err = smp(&json!({"spec":{"template":{"spec":{"containers":[{"image":"x","$patch":"delete"}]}}}}))
        .unwrap_err();
    assert_eq!((err.status_code(), err.reason()), (500, ""));
    assert_eq!(
        err.to_string(),
        "map: map[$patch:delete image:x] does not contain declared merge key: name"
    );
}

#[test]
fn a_list_entry_without_its_merge_key_is_rejected_and_the_object_is_unchanged() {
    let mut object = deployment();
    let err = apply_strategic_merge_patch(
        &mut object,
        &json!({"metadata":{"annotations":{"x":"y"}},"spec":{"template":{"spec":{"volumes":[{"emptyDir":{}}]}}}}),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "map: map[emptyDir:map[]] does not contain declared merge key: name"
    );
    assert_eq!(object, deployment());
}

#[test]
fn patch_delete_on_a_map_removes_it() {
    let patched = smp(&json!({"metadata":{"annotations":{"$patch":"delete"}}})).unwrap();
    assert!(patched["metadata"].get("annotations").is_none());
}

#[test]
fn patch_replace_on_a_map_replaces_it() {
    let patched = smp(&json!({"metadata":{"annotations":{"$patch":"replace","only":"this"}}})).unwrap();
    assert_eq!(patched["metadata"]["annotations"], json!({"only":"this"}));
}

#[test]
fn patch_replace_as_a_list_entry_replaces_the_list() {
    let patched = smp(&json!({"spec":{"template":{"spec":{"containers":[
        {"name":"app","env":[{"$patch":"replace"},{"name":"ONLY","value":"1"}]}
    ]}}}}))
    .unwrap();
    assert_eq!(
        pod_spec(&patched)["containers"][0]["env"],
        json!([{"name":"ONLY","value":"1"}])
    );
}

#[test]
fn patch_merge_is_rejected_like_the_real_server() {
    let in_list = smp(&json!({"spec":{"template":{"spec":{"volumes":[{"$patch":"merge"}]}}}})).unwrap_err();
    assert_eq!(
        in_list.to_string(),
        "merging lists cannot yet be specified in the patch"
    );
    let in_map = smp(&json!({"metadata":{"annotations":{"$patch":"merge"}}})).unwrap_err();
    assert_eq!(
        in_map.to_string(),
        "unknown patch type: merge in map: map[$patch:merge]"
    );
    assert_eq!(in_map.status_code(), 500);
}

#[test]
fn atomic_lists_are_replaced_whole() {
    let patched = smp(&json!({"spec":{"template":{"spec":{
        "tolerations":[{"key":"b","operator":"Exists"}],
        "containers":[{"name":"app","args":["--c"],"envFrom":[{"configMapRef":{"name":"c"}}]}]
    }}}}))
    .unwrap();
    assert_eq!(
        pod_spec(&patched)["tolerations"],
        json!([{"key":"b","operator":"Exists"}])
    );
    assert_eq!(pod_spec(&patched)["containers"][0]["args"], json!(["--c"]));
    assert_eq!(
        pod_spec(&patched)["containers"][0]["envFrom"],
        json!([{"configMapRef":{"name":"c"}}])
    );
}

#[test]
fn volumes_volume_mounts_and_ports_merge_by_their_keys() {
    let patched = smp(&json!({"spec":{"template":{"spec":{
        "volumes":[{"name":"cfg","configMap":{"name":"cfg2"}}],
        "containers":[{"name":"app",
            "volumeMounts":[{"mountPath":"/etc/cfg","readOnly":true}],
            "ports":[{"containerPort":8080,"protocol":"TCP"}]}]
    }}}}))
    .unwrap();
    let spec = pod_spec(&patched);
    assert_eq!(
        spec["volumes"],
        json!([{"name":"cfg","configMap":{"name":"cfg2"}},{"name":"tmp","emptyDir":{}}])
    );
    assert_eq!(
        spec["containers"][0]["volumeMounts"],
        json!([{"name":"cfg","mountPath":"/etc/cfg","readOnly":true}])
    );
    assert_eq!(
        spec["containers"][0]["ports"],
        json!([{"containerPort":8080,"name":"http","protocol":"TCP"}])
    );
}

#[test]
fn set_element_order_reorders_the_merged_list() {
    let patched = smp(&json!({"spec":{"template":{"spec":{
        "$setElementOrder/containers":[{"name":"sidecar"},{"name":"app"}],
        "containers":[{"name":"app","image":"app:2"}]
    }}}}))
    .unwrap();
    let containers = &pod_spec(&patched)["containers"];
    assert_eq!(containers[0]["name"], "sidecar");
    assert_eq!(containers[1]["name"], "app");
    assert_eq!(containers[1]["image"], "app:2");
    assert!(pod_spec(&patched).get("$setElementOrder/containers").is_none());
}

#[test]
fn set_element_order_alone_reorders_primitives() {
    let mut object = json!({"metadata":{"finalizers":["a","b","c"]}});
    apply_strategic_merge_patch(
        &mut object,
        &json!({"metadata":{"$setElementOrder/finalizers":["c","a","b"]}}),
    )
    .unwrap();
    assert_eq!(object, json!({"metadata":{"finalizers":["c","a","b"]}}));
}

#[test]
fn set_element_order_that_contradicts_the_patch_list_is_rejected() {
    let err = smp(&json!({"spec":{"template":{"spec":{
        "$setElementOrder/containers":[{"name":"app"}],
        "containers":[{"name":"other","image":"x"}]
    }}}}))
    .unwrap_err();
    assert_eq!(err.status_code(), 500);
    assert!(err.to_string().starts_with("the order in patch list:"), "{err}");
}

#[test]
fn finalizers_merge_as_a_set_and_delete_from_primitive_list_removes() {
    let patched = smp(&json!({"metadata":{"finalizers":["example.com/b","example.com/a"]}})).unwrap();
    assert_eq!(
        patched["metadata"]["finalizers"],
        json!(["example.com/b", "example.com/a"])
    );
    let removed =
        smp(&json!({"metadata":{"$deleteFromPrimitiveList/finalizers":["example.com/a"]}})).unwrap();
    assert_eq!(removed["metadata"]["finalizers"], json!([]));
    assert!(
        removed["metadata"]
            .get("$deleteFromPrimitiveList/finalizers")
            .is_none()
    );
}

#[test]
fn malformed_directive_keys_are_bad_requests() {
    let err = smp(&json!({"metadata":{"$deleteFromPrimitiveListfinalizers":["x"]}})).unwrap_err();
    assert_eq!(
        (err.status_code(), err.to_string().as_str()),
        (400, "invalid patch format of primitive list")
    );
    let err = smp(&json!({"spec":{"$retainKeys":"type"}})).unwrap_err();
    assert_eq!(
        (err.status_code(), err.to_string().as_str()),
        (400, "invalid patch format of retainKeys")
    );
}

#[test]
fn retain_keys_clears_unlisted_fields() {
    let mut object = json!({"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1}}}});
    apply_strategic_merge_patch(
        &mut object,
        &json!({"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"}}}),
    )
    .unwrap();
    assert_eq!(object, json!({"spec":{"strategy":{"type":"Recreate"}}}));
}

#[test]
fn retain_keys_must_list_every_field_the_patch_sets() {
    let mut object = json!({"spec":{"strategy":{"type":"RollingUpdate"}}});
    let err = apply_strategic_merge_patch(
        &mut object,
        &json!({"spec":{"strategy":{"$retainKeys":["type"],"rollingUpdate":{"maxSurge":1}}}}),
    )
    .unwrap_err();
    assert_eq!(err.status_code(), 400);
}

#[test]
fn directives_inside_new_values_are_never_stored() {
    let patched = smp(
        &json!({"spec":{"template":{"spec":{"containers":[{"name":"new","image":"n:1",
        "env":[{"name":"GONE","$patch":"delete"},{"name":"KEPT","value":"1"}],
        "$setElementOrder/env":[{"name":"KEPT"}],
        "resources":{"$retainKeys":["limits"],"limits":{"cpu":"1"}}}]}}}}),
    )
    .unwrap();
    let text = patched.to_string();
    assert!(!text.contains('$'), "{text}");
    assert_eq!(
        pod_spec(&patched)["containers"][0]["env"],
        json!([{"name":"KEPT","value":"1"}])
    );
}

#[test]
fn ownerreferences_merge_by_uid_and_conditions_by_type() {
    let mut object = json!({
        "metadata":{"ownerReferences":[{"uid":"1","name":"a"}]},
        "status":{"conditions":[{"type":"Available","status":"False"},{"type":"Progressing","status":"True"}]}
    });
    apply_strategic_merge_patch(
        &mut object,
        &json!({"metadata":{"ownerReferences":[{"uid":"2","name":"b"}]},
                "status":{"conditions":[{"type":"Available","status":"True"}]}}),
    )
    .unwrap();
    assert_eq!(
        object["metadata"]["ownerReferences"],
        json!([{"uid":"2","name":"b"},{"uid":"1","name":"a"}])
    );
    assert_eq!(
        object["status"]["conditions"],
        json!([{"type":"Available","status":"True"},{"type":"Progressing","status":"True"}])
    );
}

#[test]
fn non_object_bodies_are_bad_requests_and_null_is_a_no_op() {
    let err = smp(&json!([1])).unwrap_err();
    assert_eq!(err.status_code(), 400);
    assert_eq!(
        err.to_string(),
        "json: cannot unmarshal array into Go value of type map[string]interface {}"
    );
    assert_eq!(smp(&Value::Null).unwrap(), deployment());
}

#[test]
fn lists_of_lists_are_invalid() {
    let mut object = json!({"metadata":{"finalizers":["a"]}});
    let err =
        apply_strategic_merge_patch(&mut object, &json!({"metadata":{"finalizers":[["b"]]}})).unwrap_err();
    assert_eq!((err.status_code(), err.reason()), (422, "Invalid"));
}

#[test]
fn service_ports_merge_by_port() {
    let mut service = json!({"kind":"Service","spec":{"ports":[{"port":80,"targetPort":8080},{"port":443}]}});
    apply_strategic_merge_patch(
        &mut service,
        &json!({"spec":{"ports":[{"port":80,"targetPort":9090}]}}),
    )
    .unwrap();
    assert_eq!(
        service["spec"]["ports"],
        json!([{"port":80,"targetPort":9090},{"port":443}])
    );
}

#[test]
fn kubectl_apply_style_patch_with_order_retain_keys_and_last_applied_annotation() {
    let patch = json!({
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
        "spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "app"}, {"name": "sidecar"}],
            "$setElementOrder/volumes": [{"name": "cfg"}, {"name": "tmp"}],
            "containers": [{"name": "app", "$setElementOrder/env": [{"name": "A"}, {"name": "B"}],
                            "env": [{"name": "X", "$patch": "delete"}]}],
            "volumes": [{"name": "tmp", "$retainKeys": ["name", "hostPath"], "hostPath": {"path": "/tmp"}}]
        }}}
    });
    let patched = smp(&patch).unwrap();
    let spec = pod_spec(&patched);
    let env_names: Vec<&str> = spec["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(env_names, ["A", "B"]);
    assert_eq!(
        spec["volumes"][1],
        json!({"name": "tmp", "hostPath": {"path": "/tmp"}}),
        "emptyDir cleared"
    );
    assert_eq!(spec["containers"][1]["name"], "sidecar");
    assert!(!patched.to_string().contains('$'));
}

#[test]
fn a_scalar_replaces_a_map_and_a_map_replaces_a_scalar() {
    let patched = smp(&json!({"spec": {"replicas": {"odd": true}, "template": "gone"}})).unwrap();
    assert_eq!(
        patched["spec"],
        json!({"replicas": {"odd": true}, "template": "gone"})
    );
}

fn env_entry() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["A", "B", "X", "Y", "Z"]),
        "[a-z0-9]{0,3}",
    )
        .prop_map(|(name, value)| json!({"name": name, "value": value}))
}

fn env_patch() -> impl Strategy<Value = Value> {
    prop::collection::vec(
        prop_oneof![
            env_entry(),
            prop::sample::select(vec!["A", "X", "Q"]).prop_map(|n| json!({"name": n, "$patch": "delete"}))
        ],
        0..4,
    )
    .prop_map(|env| json!({"spec":{"template":{"spec":{"containers":[{"name":"app","env":env}]}}}}))
}

proptest! {
    #[test]
    fn applying_an_env_patch_twice_equals_applying_it_once(patch in env_patch()) {
        let mut once = deployment();
        if apply_strategic_merge_patch(&mut once, &patch).is_ok() {
            let mut twice = once.clone();
            apply_strategic_merge_patch(&mut twice, &patch).unwrap();
            prop_assert_eq!(twice, once);
        }
    }

    #[test]
    fn an_env_patch_never_touches_other_containers_or_fields(patch in env_patch()) {
        let mut patched = deployment();
        if apply_strategic_merge_patch(&mut patched, &patch).is_ok() {
            let original = deployment();
            prop_assert_eq!(&pod_spec(&patched)["containers"][1], &pod_spec(&original)["containers"][1]);
            prop_assert_eq!(&pod_spec(&patched)["volumes"], &pod_spec(&original)["volumes"]);
            prop_assert_eq!(&patched["metadata"], &original["metadata"]);
            prop_assert!(!patched.to_string().contains('$'));
        }
    }

    #[test]
    fn strategic_merge_never_panics_on_arbitrary_patches(patch in arbitrary_json(3)) {
        let mut object = deployment();
        let before = object.clone();
        if apply_strategic_merge_patch(&mut object, &patch).is_err() {
            prop_assert_eq!(object, before);
        }
    }
}

/// Arbitrary JSON biased towards the field names and directives strategic merge cares about.
pub(crate) fn arbitrary_json(depth: u32) -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec![
        "spec",
        "template",
        "containers",
        "env",
        "name",
        "value",
        "metadata",
        "finalizers",
        "$patch",
        "$retainKeys",
        "$setElementOrder/env",
        "$setElementOrder/containers",
        "$deleteFromPrimitiveList/finalizers",
        "ports",
        "containerPort",
        "volumes",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (0u32..3).prop_map(|n| json!(n)),
        prop::sample::select(vec!["delete", "replace", "merge", "app", "X", "a"]).prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(depth, 32, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}
