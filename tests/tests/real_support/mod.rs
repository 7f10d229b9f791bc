//! What users check on a real cluster, as test helpers: ReplicaSets and Pods of a Deployment,
//! Ready counts, kubectl, and a `reloader` launch scoped to the test's namespace.
#![allow(dead_code, reason = "each real-cluster test uses a different subset")]

use std::collections::BTreeSet;
use std::future::Future;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, PostParams};
use reload_tests::cluster::TestCluster;
use serde_json::{Value, json};

use crate::binary_support::{Launch, temp_path};

/// How long a wait on the real control plane may take (pods start in a second or two; a
/// rollout of two replicas takes a few seconds).
pub const REAL_WAIT: Duration = Duration::from_secs(60);

/// Polls `check` every 200 ms until it returns `Some`, for at most [`REAL_WAIT`]; panics
/// naming `what` and the last state `describe` gives otherwise.
pub async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + REAL_WAIT;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {REAL_WAIT:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A ConfigMap `name` with `data`.
pub async fn create_configmap(cluster: &TestCluster, name: &str, data: Value) {
    let api: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(cluster.client(), cluster.namespace());
    let object =
        serde_json::from_value(json!({"metadata": {"name": name}, "data": data})).expect("configmap");
    api.create(&PostParams::default(), &object)
        .await
        .expect("configmap created");
}

/// A Deployment `name` (label `app=<name>`, `replicas` pods) whose container reads ConfigMap
/// or Secret `source` through `envFrom`, with `annotations`.
pub async fn create_deployment(
    cluster: &TestCluster,
    name: &str,
    source: (&str, &str),
    replicas: i32,
    annotations: Value,
) {
    let env_from = match source.0 {
        "Secret" => json!([{"secretRef": {"name": source.1}}]),
        _ => json!([{"configMapRef": {"name": source.1}}]),
    };
    let object: Deployment = serde_json::from_value(json!({
        "metadata": {"name": name, "annotations": annotations},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "registry.invalid/app:1", "envFrom": env_from}]}
            }
        }
    }))
    .expect("deployment");
    Api::<Deployment>::namespaced(cluster.client(), cluster.namespace())
        .create(&PostParams::default(), &object)
        .await
        .expect("deployment created");
}

/// The ReplicaSets owned by Deployment `name`, by name, with their desired replicas.
pub async fn replicasets(cluster: &TestCluster, name: &str) -> Vec<(String, i32)> {
    let api: Api<ReplicaSet> = Api::namespaced(cluster.client(), cluster.namespace());
    let list = api
        .list(&ListParams::default().labels(&format!("app={name}")))
        .await
        .expect("replicasets listed");
    let mut sets: Vec<(String, i32)> = list
        .items
        .into_iter()
        .filter(|rs| {
            rs.metadata
                .owner_references
                .as_ref()
                .is_some_and(|o| o.iter().any(|o| o.kind == "Deployment" && o.name == name))
        })
        .map(|rs| {
            let replicas = rs.spec.and_then(|s| s.replicas).unwrap_or(0);
            (rs.metadata.name.unwrap_or_default(), replicas)
        })
        .collect();
    sets.sort();
    sets
}

/// The pods of Deployment `name` (label `app=<name>`): `(pod, its ReplicaSet, Ready)`, pods
/// being deleted left out.
pub async fn pods(cluster: &TestCluster, name: &str) -> Vec<(String, String, bool)> {
    let api: Api<Pod> = Api::namespaced(cluster.client(), cluster.namespace());
    let list = api
        .list(&ListParams::default().labels(&format!("app={name}")))
        .await
        .expect("pods listed");
    list.items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .map(|p| {
            let owner = p
                .metadata
                .owner_references
                .as_ref()
                .and_then(|o| o.first())
                .map(|o| o.name.clone())
                .unwrap_or_default();
            let ready = p
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
            (p.metadata.name.unwrap_or_default(), owner, ready)
        })
        .collect()
}

/// Waits until Deployment `name` runs exactly `replicas` Ready pods, all from one ReplicaSet,
/// and no other pod; returns that ReplicaSet and the pods' names.
pub async fn wait_settled(cluster: &TestCluster, name: &str, replicas: usize) -> (String, BTreeSet<String>) {
    wait_for(
        &format!("Deployment {name} to run {replicas} Ready pods of one ReplicaSet"),
        || async {
            let pods = pods(cluster, name).await;
            let owners: BTreeSet<&String> = pods.iter().map(|(_, rs, _)| rs).collect();
            let all_ready = pods.iter().all(|(_, _, ready)| *ready);
            (pods.len() == replicas && owners.len() == 1 && all_ready).then(|| {
                let rs = pods[0].1.clone();
                (rs, pods.iter().map(|(p, _, _)| p.clone()).collect())
            })
        },
    )
    .await
}

/// A pod template annotation of Deployment `name`.
pub async fn template_annotation(cluster: &TestCluster, name: &str, key: &str) -> Option<String> {
    let api: Api<Deployment> = Api::namespaced(cluster.client(), cluster.namespace());
    let deployment = api.get(name).await.expect("deployment read");
    deployment.spec?.template.metadata?.annotations?.get(key).cloned()
}

/// An env var of Deployment `name`'s first container.
pub async fn template_env(cluster: &TestCluster, name: &str, var: &str) -> Option<String> {
    let api: Api<Deployment> = Api::namespaced(cluster.client(), cluster.namespace());
    let deployment = api.get(name).await.expect("deployment read");
    deployment
        .spec?
        .template
        .spec?
        .containers
        .first()?
        .env
        .as_ref()?
        .iter()
        .find(|e| e.name == var)?
        .value
        .clone()
}

/// The cluster's admin kubeconfig in a temporary file.
pub fn kubeconfig_file(cluster: &TestCluster) -> PathBuf {
    let path = temp_path("real-kubeconfig.yaml");
    std::fs::write(&path, cluster.admin_kubeconfig().expect("kubeconfig")).expect("kubeconfig written");
    path
}

/// Runs the real `kubectl` with the cluster's admin kubeconfig; panics with its output if it
/// fails; returns its stdout.
pub fn kubectl(cluster: &TestCluster, args: &[&str]) -> String {
    let kubeconfig = kubeconfig_file(cluster);
    let output = Command::new("kubectl")
        .arg(format!("--kubeconfig={}", kubeconfig.display()))
        .args(args)
        .output()
        .expect("kubectl runs");
    let _ = std::fs::remove_file(&kubeconfig);
    assert!(
        output.status.success(),
        "kubectl {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A `reloader` launch with the cluster's admin kubeconfig, watching only the test's namespace
/// (`KUBERNETES_NAMESPACE`, as Reloader's chart sets it when `watchGlobally` is false), so
/// tests running side by side on one control plane leave each other alone.
pub fn reloader(cluster: &TestCluster) -> Launch {
    Launch::with_kubeconfig(kubeconfig_file(cluster)).env("KUBERNETES_NAMESPACE", cluster.namespace())
}

/// Sets `k` of ConfigMap `name` to `value` (a merge patch, as `kubectl patch` sends).
pub async fn set_configmap_value(cluster: &TestCluster, name: &str, value: &str) {
    let api: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(cluster.client(), cluster.namespace());
    api.patch(
        name,
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(json!({"data": {"k": value}})),
    )
    .await
    .unwrap_or_else(|e| panic!("patching ConfigMap {name}: {e}"));
}

/// The `hash` of Deployment `name`'s `last-reloaded-from` (annotations strategy), if any.
pub async fn recorded_hash(cluster: &TestCluster, name: &str) -> Option<String> {
    let json = template_annotation(cluster, name, "reloader.stakater.com/last-reloaded-from").await?;
    let value: Value = serde_json::from_str(&json).ok()?;
    value["hash"].as_str().map(str::to_owned)
}

/// Whether Deployment `name` is paused.
pub async fn is_paused(cluster: &TestCluster, name: &str) -> bool {
    let api: Api<Deployment> = Api::namespaced(cluster.client(), cluster.namespace());
    let deployment = api.get(name).await.expect("deployment read");
    deployment.spec.and_then(|s| s.paused).unwrap_or(false)
}
