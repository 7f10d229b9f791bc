//! Verbs for each resource family, object bookkeeping and optimistic concurrency, through a
//! real `kube::Client`.

mod common;

use common::{code, deployment, dyn_obj, dynamic, reason, sim};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

/// (group, version, kind, plural, namespaced, a valid object body)
fn families() -> Vec<(
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    serde_json::Value,
)> {
    vec![
        (
            "",
            "v1",
            "ConfigMap",
            "configmaps",
            true,
            json!({"data": {"k": "v"}}),
        ),
        (
            "",
            "v1",
            "Secret",
            "secrets",
            true,
            json!({"data": {"k": "dg=="}}),
        ),
        ("", "v1", "ServiceAccount", "serviceaccounts", true, json!({})),
        ("apps", "v1", "Deployment", "deployments", true, deployment("x")),
        (
            "batch",
            "v1",
            "Job",
            "jobs",
            true,
            json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}], "restartPolicy": "Never"}}}}),
        ),
        (
            "coordination.k8s.io",
            "v1",
            "Lease",
            "leases",
            true,
            json!({"spec": {"holderIdentity": "a"}}),
        ),
        (
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRole",
            "clusterroles",
            false,
            json!({"rules": []}),
        ),
        (
            "argoproj.io",
            "v1alpha1",
            "Rollout",
            "rollouts",
            true,
            json!({"spec": {"replicas": 1}}),
        ),
    ]
}

#[tokio::test]
async fn every_verb_works_for_each_resource_family() {
    let (_sim, client) = sim().await;
    for (group, version, kind, plural, namespaced, body) in families() {
        let api = dynamic(
            &client,
            group,
            version,
            kind,
            plural,
            namespaced.then_some("default"),
        );
        let api_version = if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        };
        let mut obj = body.clone();
        obj["apiVersion"] = json!(api_version);
        obj["kind"] = json!(kind);
        obj["metadata"] = json!({"name": "obj", "labels": {"family": plural}});

        let created = api
            .create(&PostParams::default(), &dyn_obj(obj.clone()))
            .await
            .expect(plural);
        assert_eq!(created.metadata.name.as_deref(), Some("obj"), "{plural}");
        assert_eq!(created.metadata.namespace.is_some(), namespaced, "{plural}");
        assert!(
            created.metadata.uid.is_some() && created.metadata.creation_timestamp.is_some(),
            "{plural}"
        );

        let got = api.get("obj").await.expect(plural);
        assert_eq!(
            got.metadata.resource_version, created.metadata.resource_version,
            "{plural}"
        );

        let listed = api
            .list(&ListParams::default().labels(&format!("family={plural}")))
            .await
            .expect(plural);
        assert_eq!(listed.items.len(), 1, "{plural}");

        let mut replacement = got.clone();
        replacement.metadata.annotations = Some([("updated".to_string(), "yes".to_string())].into());
        let updated = api
            .replace("obj", &PostParams::default(), &replacement)
            .await
            .expect(plural);
        assert_eq!(
            updated.annotations().get("updated").map(String::as_str),
            Some("yes"),
            "{plural}"
        );

        let patched = api
            .patch(
                "obj",
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"labels": {"patched": "1"}}})),
            )
            .await
            .expect(plural);
        assert_eq!(
            patched.labels().get("patched").map(String::as_str),
            Some("1"),
            "{plural}"
        );

        api.delete("obj", &DeleteParams::default()).await.expect(plural);
        assert_eq!(code(&api.get("obj").await.expect_err(plural)), 404, "{plural}");
    }
}

#[tokio::test]
async fn configmaps_list_across_namespaces_on_the_cluster_wide_path() {
    let (_sim, client) = sim().await;
    let nss: Api<Namespace> = Api::all(client.clone());
    nss.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "other"}})).expect("ns"),
    )
    .await
    .expect("namespace");
    for ns in ["default", "other"] {
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
        cms.create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "c"}})).expect("cm"),
        )
        .await
        .expect("create");
    }
    let all: Api<ConfigMap> = Api::all(client);
    let names: Vec<_> = all
        .list(&ListParams::default())
        .await
        .expect("list")
        .items
        .iter()
        .map(|c| c.namespace())
        .collect();
    assert_eq!(
        names,
        vec![Some("default".to_string()), Some("other".to_string())]
    );
}

#[tokio::test]
async fn resource_versions_increase_across_the_cluster_and_generation_tracks_spec_only() {
    let (_sim, client) = sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let deploys: Api<Deployment> = Api::default_namespaced(client);
    let cm = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "a"}})).expect("cm"),
        )
        .await
        .expect("cm");
    let d = deploys
        .create(
            &PostParams::default(),
            &serde_json::from_value(deployment("web")).expect("d"),
        )
        .await
        .expect("d");
    let rv = |o: Option<String>| {
        o.and_then(|s| s.parse::<u64>().ok())
            .expect("numeric resourceVersion")
    };
    assert!(rv(d.metadata.resource_version.clone()) > rv(cm.metadata.resource_version.clone()));
    assert_eq!(cm.metadata.generation, None, "ConfigMaps have no generation");
    assert_eq!(d.metadata.generation, Some(1));

    let labelled = deploys
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
        )
        .await
        .expect("label");
    assert_eq!(
        labelled.metadata.generation,
        Some(1),
        "metadata changes leave generation alone"
    );
    assert!(rv(labelled.metadata.resource_version.clone()) > rv(d.metadata.resource_version.clone()));

    let spec_changed = deploys
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await
        .expect("spec");
    assert_eq!(spec_changed.metadata.generation, Some(2));

    let noop = deploys
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await
        .expect("noop");
    assert_eq!(
        noop.metadata.resource_version, spec_changed.metadata.resource_version,
        "a no-op write commits nothing"
    );
}

#[tokio::test]
async fn stale_update_is_a_conflict_and_duplicates_and_missing_objects_are_rejected() {
    let (_sim, client) = sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "a"}, "data": {"k": "1"}})).expect("cm");
    let v1 = cms.create(&PostParams::default(), &cm).await.expect("create");
    let dup = cms
        .create(&PostParams::default(), &cm)
        .await
        .expect_err("duplicate");
    assert_eq!((code(&dup), reason(&dup)), (409, "AlreadyExists".to_string()));

    let mut v2 = v1.clone();
    v2.data = Some([("k".to_string(), "2".to_string())].into());
    cms.replace("a", &PostParams::default(), &v2)
        .await
        .expect("first update");
    let stale = cms
        .replace("a", &PostParams::default(), &v2)
        .await
        .expect_err("stale update");
    assert_eq!((code(&stale), reason(&stale)), (409, "Conflict".to_string()));

    let stale_patch =
        json!({"metadata": {"resourceVersion": v1.metadata.resource_version}, "data": {"k": "3"}});
    let err = cms
        .patch("a", &PatchParams::default(), &Patch::Merge(stale_patch))
        .await
        .expect_err("stale patch");
    assert_eq!(code(&err), 409);

    let missing = cms.get("nope").await.expect_err("missing");
    assert_eq!((code(&missing), reason(&missing)), (404, "NotFound".to_string()));
    let missing_patch = cms
        .patch("nope", &PatchParams::default(), &Patch::Merge(json!({})))
        .await
        .expect_err("missing");
    assert_eq!(code(&missing_patch), 404);
}

#[tokio::test]
async fn namespaced_create_needs_an_existing_namespace_and_deleting_it_removes_its_objects() {
    let (_sim, client) = sim().await;
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "a"}})).expect("cm");
    let in_team: Api<ConfigMap> = Api::namespaced(client.clone(), "team");
    assert_eq!(
        code(
            &in_team
                .create(&PostParams::default(), &cm)
                .await
                .expect_err("no namespace")
        ),
        404
    );

    let nss: Api<Namespace> = Api::all(client.clone());
    let ns = nss
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "team"}})).expect("ns"),
        )
        .await
        .expect("ns");
    assert_eq!(ns.status.and_then(|s| s.phase).as_deref(), Some("Active"));
    in_team
        .create(&PostParams::default(), &cm)
        .await
        .expect("create in namespace");
    nss.delete("team", &DeleteParams::default())
        .await
        .expect("delete namespace");
    assert_eq!(
        code(&in_team.get("a").await.expect_err("gone with its namespace")),
        404
    );
}

#[tokio::test]
async fn finalizers_hold_a_deleted_object_until_they_are_removed() {
    let (_sim, client) = sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "a", "finalizers": ["example.com/hold"]}}))
            .expect("cm");
    cms.create(&PostParams::default(), &cm).await.expect("create");
    cms.delete("a", &DeleteParams::default()).await.expect("delete");
    let held = cms.get("a").await.expect("still there");
    assert!(held.metadata.deletion_timestamp.is_some());
    cms.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("unblock");
    assert_eq!(code(&cms.get("a").await.expect_err("removed")), 404);
}

#[tokio::test]
async fn secret_string_data_is_folded_into_base64_data_and_never_returned() {
    let (_sim, client) = sim().await;
    let secrets: Api<Secret> = Api::default_namespaced(client);
    let s: Secret =
        serde_json::from_value(json!({"metadata": {"name": "s"}, "stringData": {"password": "hunter2"}}))
            .expect("secret");
    let created = secrets.create(&PostParams::default(), &s).await.expect("create");
    assert!(created.string_data.is_none());
    assert_eq!(created.data.expect("data")["password"].0, b"hunter2");
    let patched = secrets
        .patch(
            "s",
            &PatchParams::default(),
            &Patch::Merge(json!({"stringData": {"token": "abc"}})),
        )
        .await
        .expect("patch");
    assert!(patched.string_data.is_none());
    let data = patched.data.expect("data");
    assert_eq!(
        (data["password"].0.as_slice(), data["token"].0.as_slice()),
        (&b"hunter2"[..], &b"abc"[..])
    );
}

#[tokio::test]
async fn generate_name_gets_a_random_suffix() {
    let (_sim, client) = sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"generateName": "cfg-"}})).expect("cm");
    let a = cms
        .create(&PostParams::default(), &cm)
        .await
        .expect("a")
        .name_any();
    let b = cms
        .create(&PostParams::default(), &cm)
        .await
        .expect("b")
        .name_any();
    assert!(a.starts_with("cfg-") && a.len() == 9, "{a}");
    assert_ne!(a, b);
}

#[tokio::test]
async fn job_template_is_immutable_and_selector_is_defaulted() {
    let (_sim, client) = sim().await;
    let jobs: Api<Job> = Api::default_namespaced(client);
    let job: Job = serde_json::from_value(json!({"metadata": {"name": "j"}, "spec": {"template": {"spec": {
        "containers": [{"name": "c", "image": "busybox"}], "restartPolicy": "Never"}}}}))
    .expect("job");
    let created = jobs.create(&PostParams::default(), &job).await.expect("create");
    let uid = created.metadata.uid.clone().expect("uid");
    let spec = created.spec.expect("spec");
    let selector = spec
        .selector
        .and_then(|s| s.match_labels)
        .expect("defaulted selector");
    assert_eq!(selector.get("batch.kubernetes.io/controller-uid"), Some(&uid));
    let labels = spec
        .template
        .metadata
        .and_then(|m| m.labels)
        .expect("template labels");
    assert_eq!(labels.get("job-name").map(String::as_str), Some("j"));

    let patch = json!({"spec": {"template": {"metadata": {"annotations": {"restart": "1"}}}}});
    let err = jobs
        .patch("j", &PatchParams::default(), &Patch::Merge(patch))
        .await
        .expect_err("immutable");
    assert_eq!((code(&err), reason(&err)), (422, "Invalid".to_string()));
}

#[tokio::test]
async fn dry_run_validates_but_does_not_persist() {
    let (_sim, client) = sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "a"}, "data": {"k": "1"}})).expect("cm");
    let dry = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    cms.create(&dry, &cm).await.expect("dry create");
    assert_eq!(code(&cms.get("a").await.expect_err("not persisted")), 404);

    cms.create(&PostParams::default(), &cm).await.expect("create");
    let dry_patch = PatchParams {
        dry_run: true,
        ..PatchParams::default()
    };
    let answered = cms
        .patch("a", &dry_patch, &Patch::Merge(json!({"data": {"k": "2"}})))
        .await
        .expect("dry patch");
    assert_eq!(answered.data.expect("data")["k"], "2");
    assert_eq!(cms.get("a").await.expect("get").data.expect("data")["k"], "1");

    let bad: Deployment = serde_json::from_value(json!({"metadata": {"name": "d"}, "spec": {
        "selector": {"matchLabels": {"app": "a"}}, "template": {"metadata": {"labels": {"app": "b"}}, "spec": {"containers": []}}}}))
    .expect("deployment");
    let deploys: Api<Deployment> = Api::default_namespaced(client);
    let err = deploys
        .create(&dry, &bad)
        .await
        .expect_err("invalid even in a dry run");
    assert_eq!(code(&err), 422);
}

#[tokio::test]
async fn status_subresource_is_the_only_way_to_change_workload_status() {
    let (_sim, client) = sim().await;
    let deploys: Api<Deployment> = Api::default_namespaced(client);
    deploys
        .create(
            &PostParams::default(),
            &serde_json::from_value(deployment("web")).expect("d"),
        )
        .await
        .expect("create");
    let via_main = deploys
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"replicas": 5}})),
        )
        .await
        .expect("main patch");
    assert!(via_main.status.is_none(), "status ignored on the main resource");
    let via_status = deploys
        .patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"replicas": 5}})),
        )
        .await
        .expect("status patch");
    assert_eq!(via_status.status.and_then(|s| s.replicas), Some(5));
}

#[tokio::test]
async fn delete_collection_removes_only_the_selected_objects() {
    let (_sim, client) = sim().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    for (name, team) in [("a", "x"), ("b", "x"), ("c", "y")] {
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": name, "labels": {"team": team}}}))
                .expect("cm");
        cms.create(&PostParams::default(), &cm).await.expect("create");
    }
    let deleted = cms
        .delete_collection(&DeleteParams::default(), &ListParams::default().labels("team=x"))
        .await
        .expect("deletecollection");
    let names: Vec<String> = deleted
        .left()
        .map(|l| l.items.iter().map(ResourceExt::name_any).collect())
        .unwrap_or_default();
    assert_eq!(names, ["a", "b"]);
    let left: Vec<String> = cms
        .list(&ListParams::default())
        .await
        .expect("list")
        .items
        .iter()
        .map(ResourceExt::name_any)
        .collect();
    assert_eq!(left, ["c"]);
}
