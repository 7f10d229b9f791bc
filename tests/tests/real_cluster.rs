//! The controller on the real Kubernetes control plane (etcd, kube-apiserver,
//! kube-controller-manager, kube-scheduler, kwok nodes; `reload_tests::control_plane`), checked
//! as users check it: ReplicaSets and Ready pods, `kubectl`, and Reloader's log lines.
//!
//! These tests always run on the real control plane (one per test process, built from pinned Go
//! modules into a cache outside the clone on first use): they are what the simulator cannot
//! show. Each test has its own namespace and its own `reloader` watching only that namespace;
//! the crash test (`real_cluster/crash.rs`) has a control plane of its own.

mod binary_support;
mod real_support;

mod real_cluster {
    mod crash;
}

use std::collections::BTreeSet;

use binary_support::changes_detected;
use real_support::{
    create_configmap, create_deployment, kubectl, pods, reloader, replicasets, template_annotation,
    template_env, wait_for, wait_settled,
};
use reload_tests::cluster::TestCluster;
use serde_json::json;

async fn cluster() -> TestCluster {
    TestCluster::control_plane()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Waits until Deployment `name` has rolled off `old_rs`: a new ReplicaSet runs `replicas`
/// Ready pods, none of the old pods is left, and the old ReplicaSet is scaled to 0.
async fn wait_rolled(
    cluster: &TestCluster,
    name: &str,
    old_rs: &str,
    old_pods: &BTreeSet<String>,
    replicas: usize,
) -> String {
    let (new_rs, new_pods) = wait_settled_off(cluster, name, old_rs, replicas).await;
    assert!(
        new_pods.is_disjoint(old_pods),
        "new pods {new_pods:?} include old ones {old_pods:?}"
    );
    let sets = replicasets(cluster, name).await;
    assert_eq!(sets.len(), 2, "one new ReplicaSet: {sets:?}");
    assert!(
        sets.iter().any(|(rs, n)| rs == old_rs && *n == 0),
        "old ReplicaSet scaled to 0: {sets:?}"
    );
    new_rs
}

async fn wait_settled_off(
    cluster: &TestCluster,
    name: &str,
    old_rs: &str,
    replicas: usize,
) -> (String, BTreeSet<String>) {
    wait_for(
        &format!("Deployment {name} to run {replicas} Ready pods off ReplicaSet {old_rs}"),
        || async {
            let pods = pods(cluster, name).await;
            let settled = pods.len() == replicas && pods.iter().all(|(_, rs, ready)| rs != old_rs && *ready);
            let one_rs: BTreeSet<&String> = pods.iter().map(|(_, rs, _)| rs).collect();
            (settled && one_rs.len() == 1).then(|| {
                (
                    pods[0].1.clone(),
                    pods.iter().map(|(p, _, _)| p.clone()).collect(),
                )
            })
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_sees_ready_kwok_nodes_and_creates_what_users_create() {
    let cluster = cluster().await;
    let nodes = kubectl(&cluster, &["get", "nodes", "--no-headers"]);
    let ready: Vec<&str> = nodes
        .lines()
        .filter(|l| l.split_whitespace().nth(1) == Some("Ready"))
        .collect();
    assert!(ready.len() >= 2, "two Ready kwok nodes: {nodes}");
    let ns = cluster.namespace();
    kubectl(
        &cluster,
        &["create", "configmap", "x", "-n", ns, "--from-literal=k=v"],
    );
    kubectl(
        &cluster,
        &["create", "secret", "generic", "s", "-n", ns, "--from-literal=p=q"],
    );
    let data = kubectl(
        &cluster,
        &["get", "configmap", "x", "-n", ns, "-o", "jsonpath={.data.k}"],
    );
    assert_eq!(data, "v");
    cluster.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_patch_configmap_rolls_an_auto_deployment_to_new_ready_pods_with_the_annotations_strategy() {
    let cluster = cluster().await;
    let ns = cluster.namespace().to_owned();
    create_configmap(&cluster, "web", json!({"k": "v1"})).await;
    create_deployment(
        &cluster,
        "web",
        ("ConfigMap", "web"),
        2,
        json!({"reloader.stakater.com/auto": "true"}),
    )
    .await;
    let (old_rs, old_pods) = wait_settled(&cluster, "web", 2).await;

    let controller = reloader(&cluster).arg("--reload-strategy=annotations").start();
    controller.wait_synced().await;
    kubectl(
        &cluster,
        &[
            "patch",
            "configmap",
            "web",
            "-n",
            &ns,
            "--type=merge",
            "-p",
            r#"{"data":{"k":"v2"}}"#,
        ],
    );

    let new_rs = wait_rolled(&cluster, "web", &old_rs, &old_pods, 2).await;
    assert_ne!(new_rs, old_rs);
    let recorded = template_annotation(&cluster, "web", "reloader.stakater.com/last-reloaded-from")
        .await
        .expect("last-reloaded-from on the pod template");
    let recorded: serde_json::Value = serde_json::from_str(&recorded).expect("JSON");
    assert_eq!(recorded["type"], "CONFIGMAP");
    assert_eq!(recorded["name"], "web");
    assert_eq!(recorded["namespace"], ns.as_str());
    controller.wait_line(&changes_detected(&ns, "web", "web")).await;
    assert_eq!(
        controller.count("Changes detected in"),
        1,
        "{}",
        controller.output()
    );
    cluster.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_edit_rolls_a_deployment_with_the_env_vars_strategy_and_a_restart_rolls_nothing() {
    let cluster = cluster().await;
    let ns = cluster.namespace().to_owned();
    kubectl(
        &cluster,
        &[
            "create",
            "secret",
            "generic",
            "db",
            "-n",
            &ns,
            "--from-literal=password=one",
        ],
    );
    create_deployment(
        &cluster,
        "api",
        ("Secret", "db"),
        2,
        json!({"secret.reloader.stakater.com/reload": "db"}),
    )
    .await;
    create_configmap(&cluster, "barrier", json!({"k": "b0"})).await;
    create_deployment(
        &cluster,
        "barrier",
        ("ConfigMap", "barrier"),
        1,
        json!({"reloader.stakater.com/auto": "true"}),
    )
    .await;
    let (old_rs, old_pods) = wait_settled(&cluster, "api", 2).await;
    let (barrier_rs, barrier_pods) = wait_settled(&cluster, "barrier", 1).await;

    let mut controller = reloader(&cluster).start();
    controller.wait_synced().await;
    let patch = r#"{"stringData":{"password":"two"}}"#;
    kubectl(
        &cluster,
        &["patch", "secret", "db", "-n", &ns, "--type=merge", "-p", patch],
    );
    let new_rs = wait_rolled(&cluster, "api", &old_rs, &old_pods, 2).await;
    let digest = template_env(&cluster, "api", "STAKATER_DB_SECRET")
        .await
        .expect("STAKATER_DB_SECRET set");
    assert_eq!(digest.len(), 40, "a SHA-1 hex digest: {digest}");
    assert!(
        !controller.output().contains("two"),
        "the Secret's value is never logged"
    );

    // A restart rolls nothing: after a change elsewhere has rolled (the barrier), `api` still
    // runs the same ReplicaSet and the same pods.
    controller.sigterm();
    controller.wait_exit().await;
    let (_, settled_pods) = wait_settled(&cluster, "api", 2).await;
    let controller = reloader(&cluster).start();
    controller.wait_synced().await;
    kubectl(
        &cluster,
        &[
            "patch",
            "configmap",
            "barrier",
            "-n",
            &ns,
            "--type=merge",
            "-p",
            r#"{"data":{"k":"b1"}}"#,
        ],
    );
    wait_rolled(&cluster, "barrier", &barrier_rs, &barrier_pods, 1).await;
    let (rs_after, pods_after) = wait_settled(&cluster, "api", 2).await;
    assert_eq!(rs_after, new_rs, "no new ReplicaSet after the restart");
    assert_eq!(pods_after, settled_pods, "no new pod after the restart");
    assert_eq!(replicasets(&cluster, "api").await.len(), 2);
    assert_eq!(
        controller.count("Changes detected in 'db'"),
        0,
        "{}",
        controller.output()
    );
    cluster.teardown().await;
}
