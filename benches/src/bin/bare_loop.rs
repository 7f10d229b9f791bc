//! `bare_loop`: the floor the reloader is measured against. A bare watch → patch loop with kube
//! and nothing else: no matching, no hashing, no rate limit, no retries. It watches every
//! ConfigMap and, on each update, merge-PATCHes the pod template of the workloads the harness
//! mapped to that ConfigMap with `floor.loadtest/<configmap>: "<resourceVersion>"` (the harness
//! turns the resourceVersion back into a digest for its accounting).
//!
//! ```text
//! KUBECONFIG=... bare_loop MAP.json    # {"<ns>/<configmap>": ["<ns>/<plural>/<name>", ...]}
//! ```
//! Prints `ready` once its watch is open.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context as _;
use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, WatchEvent, WatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, ResourceExt as _};
use reload_benches::loadtest::collect::FLOOR_ANNOTATION_PREFIX;
use serde_json::json;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let path = std::env::args().nth(1).context("usage: bare_loop MAP.json")?;
    let map: BTreeMap<String, Vec<String>> = serde_json::from_slice(&std::fs::read(&path)?)?;
    let map = Arc::new(map);
    let client = Client::try_default().await?;
    let configmaps = Api::<ConfigMap>::all(client.clone());
    let mut rv = configmaps
        .list_metadata(&ListParams::default())
        .await?
        .metadata
        .resource_version
        .unwrap_or_default();
    let mut announced = false;
    loop {
        let mut events = configmaps
            .watch(&WatchParams::default().timeout(290), &rv)
            .await?
            .boxed();
        if !announced {
            println!("ready");
            announced = true;
        }
        while let Some(event) = events.try_next().await? {
            let (cm, modified) = match event {
                WatchEvent::Modified(cm) => (cm, true),
                WatchEvent::Added(cm) | WatchEvent::Deleted(cm) => (cm, false),
                WatchEvent::Bookmark(_) => continue,
                WatchEvent::Error(e) => anyhow::bail!("watch failed: {e:?}"),
            };
            let Some(version) = cm.resource_version() else {
                continue;
            };
            rv.clone_from(&version);
            if !modified {
                continue;
            }
            let key = format!("{}/{}", cm.namespace().unwrap_or_default(), cm.name_any());
            for workload in map.get(&key).into_iter().flatten() {
                let (client, workload) = (client.clone(), workload.clone());
                let body = json!({ "spec": { "template": { "metadata": { "annotations": {
                    format!("{FLOOR_ANNOTATION_PREFIX}{}", cm.name_any()): version } } } } });
                tokio::spawn(async move {
                    if let Err(error) = patch(client, &workload, &body).await {
                        eprintln!("bare_loop: patching {workload}: {error}");
                    }
                });
            }
        }
    }
}

/// Merge-PATCHes `<ns>/<plural>/<name>` with `body`.
async fn patch(client: Client, workload: &str, body: &serde_json::Value) -> anyhow::Result<()> {
    let mut parts = workload.splitn(3, '/');
    let (Some(ns), Some(plural), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
        anyhow::bail!("bad workload key");
    };
    let kind = match plural {
        "statefulsets" => "StatefulSet",
        "daemonsets" => "DaemonSet",
        _ => "Deployment",
    };
    let resource = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("apps", "v1", kind), plural);
    Api::<DynamicObject>::namespaced_with(client, ns, &resource)
        .patch(name, &PatchParams::default(), &Patch::Merge(body))
        .await?;
    Ok(())
}
