//! Helpers shared by the simulator suites.
#![allow(dead_code, reason = "each suite uses a different subset")]

use std::time::Duration;

use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use reload_tests::sim::Simulator;
use serde_json::Value;

/// Polls `check` until it returns `Some`, for at most 10 s (a bounded wait, not a timing check).
pub async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..200 {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out after 10 s waiting for {what}");
}

/// Starts a simulator and a client for it.
pub async fn sim() -> (Simulator, kube::Client) {
    let sim = Simulator::start().await.expect("simulator starts");
    let client = sim.client().expect("client builds");
    (sim, client)
}

/// A dynamic API for `group/version` `plural` of `kind`.
pub fn dynamic(
    client: &kube::Client,
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
    ns: Option<&str>,
) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural);
    match ns {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    }
}

/// Turns a JSON value into a DynamicObject.
pub fn dyn_obj(v: Value) -> DynamicObject {
    serde_json::from_value(v).expect("valid object")
}

/// The HTTP status code of a kube API error.
pub fn code(err: &kube::Error) -> u16 {
    match err {
        kube::Error::Api(s) => s.code,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// The reason of a kube API error.
pub fn reason(err: &kube::Error) -> String {
    match err {
        kube::Error::Api(s) => s.reason.clone(),
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// A minimal Deployment.
pub fn deployment(name: &str) -> Value {
    serde_json::json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "nginx"}]}
            }
        }
    })
}
