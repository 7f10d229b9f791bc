//! Patch types through HTTP: strategic merge of pod templates, JSON patch `test`, media types.

mod common;

use common::{code, deployment, sim};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

fn web() -> Deployment {
    let mut d = deployment("web");
    d["spec"]["template"]["spec"] = json!({
        "containers": [
            {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
             "volumeMounts": [{"name": "cfg", "mountPath": "/etc/cfg"}]},
            {"name": "sidecar", "image": "side:1"}
        ],
        "volumes": [{"name": "cfg", "configMap": {"name": "cfg"}}, {"name": "tmp", "emptyDir": {}}]
    });
    serde_json::from_value(d).expect("deployment")
}

fn pod_spec(d: &Deployment) -> serde_json::Value {
    serde_json::to_value(d).expect("json")["spec"]["template"]["spec"].clone()
}

#[tokio::test]
async fn strategic_merge_patches_containers_env_and_volumes_by_name() {
    let (_sim, client) = sim().await;
    let deploys: Api<Deployment> = Api::default_namespaced(client);
    deploys
        .create(&PostParams::default(), &web())
        .await
        .expect("create");

    let env_patch = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "app", "env": [{"name": "B", "value": "20"}, {"name": "C", "value": "3"}]}
    ]}}}});
    let d = deploys
        .patch("web", &PatchParams::default(), &Patch::Strategic(env_patch))
        .await
        .expect("env patch");
    let spec = pod_spec(&d);
    assert_eq!(
        spec["containers"].as_array().map(Vec::len),
        Some(2),
        "the sidecar survives"
    );
    assert_eq!(spec["containers"][0]["image"], "app:1");
    assert_eq!(
        spec["containers"][0]["env"],
        json!([{"name": "A", "value": "1"}, {"name": "B", "value": "20"}, {"name": "C", "value": "3"}])
    );

    let delete_patch = json!({"spec": {"template": {"spec": {
        "containers": [{"name": "app", "env": [{"name": "A", "$patch": "delete"}]}, {"name": "sidecar", "$patch": "delete"}],
        "volumes": [{"name": "tmp", "$patch": "delete"}, {"name": "new", "emptyDir": {}}]
    }}}});
    let d = deploys
        .patch("web", &PatchParams::default(), &Patch::Strategic(delete_patch))
        .await
        .expect("delete patch");
    let spec = pod_spec(&d);
    let names = |list: &serde_json::Value| -> Vec<String> {
        list.as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x["name"].as_str().map(str::to_string))
            .collect()
    };
    assert_eq!(names(&spec["containers"]), ["app"]);
    assert_eq!(names(&spec["containers"][0]["env"]), ["B", "C"]);
    let mut volumes = names(&spec["volumes"]);
    volumes.sort();
    assert_eq!(
        volumes,
        ["cfg", "new"],
        "order follows the server's SMP ordering rules; membership is what matters here"
    );
    assert!(
        !d.metadata
            .annotations
            .unwrap_or_default()
            .keys()
            .any(|k| k.starts_with('$'))
    );
    assert!(
        !serde_json::to_string(&spec).expect("json").contains("$patch"),
        "directives are never stored"
    );
}

#[tokio::test]
async fn json_patch_test_failure_is_422_and_changes_nothing() {
    let (_sim, client) = sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "a"}, "data": {"k": "1"}})).expect("cm");
    cms.create(&PostParams::default(), &cm).await.expect("create");
    let ops: json_patch::Patch = serde_json::from_value(json!([
        {"op": "replace", "path": "/data/k", "value": "2"},
        {"op": "test", "path": "/data/k", "value": "1"}
    ]))
    .expect("ops");
    let err = cms
        .patch("a", &PatchParams::default(), &Patch::<()>::Json(ops))
        .await
        .expect_err("test op fails");
    assert_eq!(code(&err), 422);
    assert_eq!(cms.get("a").await.expect("get").data.expect("data")["k"], "1");
}

#[tokio::test]
async fn custom_kinds_refuse_strategic_merge_like_the_real_server() {
    let (_sim, client) = sim().await;
    let rollouts = common::dynamic(
        &client,
        "argoproj.io",
        "v1alpha1",
        "Rollout",
        "rollouts",
        Some("default"),
    );
    let ro = common::dyn_obj(
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "r"}, "spec": {}}),
    );
    rollouts
        .create(&PostParams::default(), &ro)
        .await
        .expect("create");
    let err = rollouts
        .patch(
            "r",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"paused": true}})),
        )
        .await
        .expect_err("no strategic merge for CRDs");
    assert_eq!(code(&err), 415);
    rollouts
        .patch(
            "r",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"paused": true}})),
        )
        .await
        .expect("merge works");
}

#[tokio::test]
async fn server_side_apply_is_refused_rather_than_faked() {
    let (_sim, client) = sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    let apply = Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}));
    let err = cms
        .patch("a", &PatchParams::apply("test"), &apply)
        .await
        .expect_err("unsupported");
    assert_eq!(code(&err), 415);
}

#[tokio::test]
async fn set_based_label_selectors_filter_lists() {
    let (_sim, client) = sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    for (name, tier) in [("a", "web"), ("b", "db"), ("c", "cache")] {
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": name, "labels": {"tier": tier}}}))
                .expect("cm");
        cms.create(&PostParams::default(), &cm).await.expect("create");
    }
    let names = |sel: &'static str| {
        let cms = cms.clone();
        async move {
            cms.list(&ListParams::default().labels(sel))
                .await
                .expect(sel)
                .items
                .into_iter()
                .filter_map(|c| c.metadata.name)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(names("tier in (web,db)").await, ["a", "b"]);
    assert_eq!(names("tier notin (web)").await, ["b", "c"]);
    let err = cms
        .list(&ListParams::default().labels("tier in web"))
        .await
        .expect_err("malformed");
    assert_eq!(code(&err), 400);
}
