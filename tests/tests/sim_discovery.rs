//! Discovery, health, fixtures and the TestCluster handle.

mod common;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::discovery::{Discovery, Scope};
use reload_tests::cluster::TestCluster;
use reload_tests::sim::{Simulator, fixtures};
use serde_json::json;

#[tokio::test]
async fn kube_discovery_finds_every_group_with_scope_and_verbs() {
    let (_sim, client) = common::sim().await;
    let discovery = Discovery::new(client.clone()).run().await.expect("discovery");
    let find = |group: &str, kind: &str| {
        discovery.groups().find(|g| g.name() == group).and_then(|g| {
            g.recommended_resources()
                .into_iter()
                .find(|(ar, _)| ar.kind == kind)
        })
    };
    let (cm, caps) = find("", "ConfigMap").expect("configmaps");
    assert_eq!(
        (cm.plural.as_str(), caps.scope.clone()),
        ("configmaps", Scope::Namespaced)
    );
    assert!(caps.supports_operation("watch") && caps.supports_operation("patch"));
    let (_, ns_caps) = find("", "Namespace").expect("namespaces");
    assert_eq!(ns_caps.scope, Scope::Cluster);
    for (group, kind) in [
        ("apps", "Deployment"),
        ("batch", "CronJob"),
        ("coordination.k8s.io", "Lease"),
        ("argoproj.io", "Rollout"),
        ("policy", "PodDisruptionBudget"),
    ] {
        assert!(find(group, kind).is_some(), "{group}/{kind}");
    }
    let version = client.apiserver_version().await.expect("version");
    assert_eq!(version.major, "1");
}

#[tokio::test]
async fn custom_kinds_can_be_switched_off_like_a_cluster_without_the_crd() {
    let sim = Simulator::config()
        .custom_kinds(false)
        .start()
        .await
        .expect("sim");
    let client = sim.client().expect("client");
    let discovery = Discovery::new(client.clone()).run().await.expect("discovery");
    assert!(discovery.groups().all(|g| g.name() != "argoproj.io"));
    let rollouts = common::dynamic(
        &client,
        "argoproj.io",
        "v1alpha1",
        "Rollout",
        "rollouts",
        Some("default"),
    );
    assert_eq!(
        common::code(
            &rollouts
                .list(&Default::default())
                .await
                .expect_err("no such resource")
        ),
        404
    );
}

#[tokio::test]
async fn fixtures_create_objects_from_yaml_and_typed_values() {
    let (_sim, client) = common::sim().await;
    let created = fixtures::create_yaml(
        &client,
        "default",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {p: q}\n",
    )
    .await
    .expect("yaml fixtures");
    assert_eq!(created.len(), 2);
    let typed: ConfigMap =
        serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}}))
            .expect("cm");
    fixtures::create_typed(&client, "default", &typed)
        .await
        .expect("typed fixture");
    let back: ConfigMap = fixtures::get_typed(&client, "default", "a")
        .await
        .expect("read back");
    assert_eq!(back.data.expect("data")["k"], "v");
}

#[tokio::test]
async fn test_cluster_gives_each_test_its_own_namespace() {
    let cluster = TestCluster::from_env().await.expect("cluster");
    assert!(cluster.namespace().starts_with("reload-test-"));
    let cms: kube::Api<ConfigMap> = kube::Api::namespaced(cluster.client(), cluster.namespace());
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "a"}})).expect("cm");
    cms.create(&Default::default(), &cm)
        .await
        .expect("create in the test namespace");
    if let Some(sim) = cluster.require_simulator("test_cluster_gives_each_test_its_own_namespace") {
        assert_eq!(sim.stats().count("create", "configmaps"), 1);
    }
    cluster.teardown().await;
}

#[tokio::test]
async fn health_endpoints_answer_ok() {
    let (sim, _client) = common::sim().await;
    for path in ["/healthz", "/readyz", "/livez"] {
        let addr = sim.addr();
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        stream
            .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
            .await
            .expect("write");
        let mut out = String::new();
        stream.read_to_string(&mut out).await.expect("read");
        assert!(
            out.starts_with("HTTP/1.1 200") && out.ends_with("ok"),
            "{path}: {out}"
        );
    }
}
