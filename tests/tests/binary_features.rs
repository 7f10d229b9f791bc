//! The real `reloader` binary against the simulator for the operator features of issue 6:
//! `reloader explain`, `--webhook-url` mode and the `ALERT_*` sinks, each against a local HTTP
//! receiver on 127.0.0.1.

mod binary_support;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::{Arc, Mutex};

use binary_support::{
    Launch, app, barrier, digest_of_value, eventually, reloader_writes, set_value, temp_path, wait_env,
};
use http::{HeaderMap, Method, StatusCode, Uri};
use reload_tests::binaries::reloader_path;
use reload_tests::sim::Simulator;
use serde_json::{Value, json};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    method: Method,
    path: String,
    content_type: String,
    body: String,
}

/// A local HTTP receiver answering every request with `status`, recording what it got.
#[derive(Clone)]
struct Receiver {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(status: StatusCode) -> Self {
        let requests: Arc<Mutex<Vec<Received>>> = Arc::default();
        let store = requests.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: String| {
                let store = store.clone();
                async move {
                    let content_type = headers
                        .get(http::header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    store.lock().expect("receiver lock").push(Received {
                        method,
                        path: uri.path().to_owned(),
                        content_type,
                        body,
                    });
                    (status, "received")
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { addr, requests }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn requests(&self) -> Vec<Received> {
        self.requests.lock().expect("receiver lock").clone()
    }

    async fn wait_for(&self, n: usize) -> Vec<Received> {
        eventually(&format!("{n} request(s) at the receiver"), || async {
            self.requests().len() >= n
        })
        .await;
        self.requests()
    }
}

/// A simulator with app `a/web` (ConfigMap `web`, `k=v1`) and the barrier app `a/barrier`.
async fn cluster() -> Simulator {
    let sim = Simulator::start().await.expect("simulator starts");
    app(&sim, "a", "web", "v1");
    app(&sim, "a", "barrier", "b0");
    sim
}

/// Runs `reloader explain` to completion against `sim`; returns stdout.
fn explain(sim: &Simulator, args: &[&str]) -> String {
    let kubeconfig = temp_path("explain-kubeconfig.yaml");
    sim.write_kubeconfig(&kubeconfig).expect("kubeconfig written");
    let path = reloader_path().unwrap_or_else(|error| panic!("{error}"));
    let output = Command::new(path)
        .arg("explain")
        .args(args)
        .env_clear()
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .expect("reloader explain runs");
    let _ = std::fs::remove_file(&kubeconfig);
    assert!(
        output.status.success(),
        "explain failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_names_the_path_the_rule_and_a_stale_digest() {
    let sim = cluster().await;
    sim.seed(json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "db", "namespace": "a"},
        "data": {"password": "aHVudGVyMi1uZXZlci1wcmludGVk"}}))
        .expect("secret seeded");
    // A workload that records v1 while the ConfigMap holds v2, and mounts the Secret.
    sim.seed(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "api", "namespace": "a",
            "annotations": {"reloader.stakater.com/auto": "true"}},
        "spec": {
            "selector": {"matchLabels": {"app": "api"}},
            "template": {
                "metadata": {"labels": {"app": "api"}},
                "spec": {
                    "containers": [{"name": "app", "image": "nginx",
                        "env": [{"name": "STAKATER_WEB_CONFIGMAP", "value": digest_of_value("v1")}],
                        "envFrom": [{"configMapRef": {"name": "web"}}],
                        "volumeMounts": [{"name": "creds", "mountPath": "/creds"}]}],
                    "volumes": [{"name": "creds", "secret": {"secretName": "db"}}]
                }
            }
        }
    }))
    .expect("deployment seeded");
    set_value(&sim, "a", "web", "v2").await;

    let text = explain(&sim, &["deployment/api", "-n", "a"]);
    assert!(text.contains("Deployment a/api"), "{text}");
    assert!(
        text.contains("ConfigMap web: WOULD RELOAD: reloads: auto annotation"),
        "{text}"
    );
    assert!(text.contains("via envFrom (container app)"), "{text}");
    assert!(text.contains("via volume creds (mounted by app)"), "{text}");
    assert!(
        text.contains(&format!("recorded digest: {} (template)", digest_of_value("v1"))),
        "{text}"
    );
    assert!(
        text.contains(&format!("current digest:  {}", digest_of_value("v2"))),
        "{text}"
    );
    assert!(text.contains("state: stale"), "{text}");
    assert!(
        !text.contains("hunter2") && !text.contains("aHVudGVyMi1uZXZlci1wcmludGVk"),
        "{text}"
    );

    let json: Value =
        serde_json::from_str(&explain(&sim, &["deploy/api", "-n", "a", "-o", "json"])).expect("valid JSON");
    let sources = json["sources"].as_array().expect("sources");
    let secret = sources
        .iter()
        .find(|s| s["kind"] == "Secret")
        .expect("the Secret is listed");
    assert_eq!(secret["digest_state"], "no-record");
    assert_eq!(secret["would_reload"], true);
    assert!(!json.to_string().contains("hunter2"));
    let cm = sources
        .iter()
        .find(|s| s["kind"] == "ConfigMap")
        .expect("the ConfigMap is listed");
    assert_eq!(cm["digest_state"], "stale");

    let ignored = explain(&sim, &["deployment/api", "-n", "a", "--namespaces-to-ignore=a"]);
    assert!(
        ignored.contains("namespace: NOT watched (listed in --namespaces-to-ignore)"),
        "{ignored}"
    );
    assert!(
        ignored.contains("ConfigMap web: would not reload: namespace out of scope"),
        "{ignored}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_url_posts_reloaders_body_per_change_and_writes_no_workload() {
    let sim = cluster().await;
    let receiver = Receiver::start(StatusCode::OK).await;
    let url = receiver.url("/hook");
    let reloader = Launch::new(&sim).arg(&format!("--webhook-url={url}")).start();
    reloader.wait_synced().await;
    let since = sim.current_resource_version();

    set_value(&sim, "a", "web", "v2").await;
    let requests = receiver.wait_for(1).await;
    assert_eq!(requests[0].method, Method::POST);
    assert_eq!(requests[0].path, "/hook");
    assert_eq!(requests[0].content_type, "application/json");
    assert_eq!(requests[0].body, r#"{"webhook":"update successful"}"#);
    reloader
        .wait_line(&format!(
            "Changes detected in 'web' of type 'CONFIGMAP' in namespace 'a', Sending webhook to '{url}'"
        ))
        .await;

    // A second change is a second POST; nothing was ever written.
    set_value(&sim, "a", "web", "v3").await;
    receiver.wait_for(2).await;
    assert_eq!(reloader_writes(&sim, since), Vec::new());
    assert!(
        reloader
            .output()
            .contains("webhook-url is set, will only send webhook")
    );
}

/// Runs one reload with `ALERT_SINK=sink` and returns what the receiver got.
async fn alert_through(sink: &str) -> Received {
    let sim = cluster().await;
    let receiver = Receiver::start(StatusCode::OK).await;
    let reloader = Launch::new(&sim)
        .env("ALERT_ON_RELOAD", "true")
        .env("ALERT_SINK", sink)
        .env("ALERT_WEBHOOK_URL", &receiver.url("/alert"))
        .start();
    reloader.wait_synced().await;
    set_value(&sim, "a", "web", "v2").await;
    wait_env(&sim, "a", "web", "v2").await;
    let requests = receiver.wait_for(1).await;
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(requests[0].method, Method::POST);
    requests[0].clone()
}

const MESSAGE: &str = "Reloader detected changes in *web* of type *CONFIGMAP* in namespace *a*. Hence reloaded *web* of type *Deployment* in namespace *a*";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slack_alert_carries_reloaders_attachment() {
    let got = alert_through("slack").await;
    assert_eq!(got.content_type, "application/json");
    let body: Value = serde_json::from_str(&got.body).expect("JSON body");
    assert_eq!(
        body,
        json!({"attachments": [{"color": "good", "author_name": "Reloader", "text": MESSAGE}]})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teams_and_gchat_alerts_carry_the_text_field() {
    for sink in ["teams", "gchat"] {
        let got = alert_through(sink).await;
        assert_eq!(got.content_type, "application/json", "{sink}");
        let body: Value = serde_json::from_str(&got.body).expect("JSON body");
        assert_eq!(body, json!({"text": MESSAGE}), "{sink}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raw_alert_is_plain_text_without_stars() {
    let got = alert_through("raw").await;
    assert_eq!(got.content_type, "text/plain");
    assert_eq!(got.body, MESSAGE.replace('*', ""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_alert_receiver_does_not_hold_up_reloads() {
    let sim = cluster().await;
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    };
    let reloader = Launch::new(&sim)
        .env("ALERT_ON_RELOAD", "true")
        .env("ALERT_SINK", "slack")
        .env("ALERT_WEBHOOK_URL", &format!("http://{dead}/alert"))
        .start();
    reloader.wait_synced().await;
    for value in ["v2", "v3", "v4"] {
        set_value(&sim, "a", "web", value).await;
        wait_env(&sim, "a", "web", value).await;
    }
    barrier(&sim, "a", "barrier", "b1").await;
    reloader.wait_line("Error sending alert").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_cache_counts_objects_per_kind_and_namespace_only_when_enabled() {
    let sim = cluster().await;
    let reloader = Launch::new(&sim).arg("--enable-debug-endpoints").start();
    reloader.wait_synced().await;
    let addr = reloader.http_addr().await;
    let fetch = || async move {
        let (status, body) = binary_support::http_get(addr, "/debug/cache").await;
        (status, serde_json::from_str::<Value>(&body).unwrap_or_default())
    };
    eventually("/debug/cache to list the ConfigMaps of a", || async {
        let (status, document) = fetch().await;
        status == 200 && document["kinds"]["ConfigMap"]["a"]["objects"] == 2
    })
    .await;
    let document = fetch().await.1;
    assert_eq!(document["kinds"]["Deployment"]["a"]["objects"], 2, "{document}");
    assert!(
        document["kinds"]["ConfigMap"]["a"]["bytes"]
            .as_u64()
            .is_some_and(|b| b > 0)
    );
    assert!(
        !document.to_string().contains("\"web\""),
        "no object names: {document}"
    );

    let plain = Launch::new(&sim).start();
    plain.wait_synced().await;
    let addr = plain.http_addr().await;
    assert_eq!(binary_support::http_get(addr, "/debug/cache").await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_meta_info_configmap_is_created_in_reloader_namespace() {
    use k8s_openapi::api::core::v1::ConfigMap;

    let sim = cluster().await;
    binary_support::namespace(&sim, "ops", json!({}));
    let reloader = Launch::new(&sim)
        .env("RELOADER_NAMESPACE", "ops")
        .env("RELOADER_DEPLOYMENT_NAME", "reloader")
        .arg("--reload-strategy=annotations")
        .start();
    reloader.wait_synced().await;
    let api: kube::Api<ConfigMap> = kube::Api::namespaced(sim.client().expect("client"), "ops");
    let cm = api.get("reloader-meta-info").await.expect("meta-info exists");
    assert_eq!(
        cm.metadata
            .labels
            .unwrap_or_default()
            .get("reloader.stakater.com/meta-info")
            .map(String::as_str),
        Some("reloader")
    );
    let data = cm.data.expect("data");
    let options: Value = serde_json::from_str(&data["reloaderOptions"]).expect("JSON");
    assert_eq!(options["reloadStrategy"], "annotations");
    let deployment: Value = serde_json::from_str(&data["deploymentInfo"]).expect("JSON");
    assert_eq!(deployment, json!({"name": "reloader", "namespace": "ops"}));
    let build: Value = serde_json::from_str(&data["buildInfo"]).expect("JSON");
    assert_eq!(build["edition"], "oss");

    // A restart updates it in place.
    drop(reloader);
    let again = Launch::new(&sim).env("RELOADER_NAMESPACE", "ops").start();
    again
        .wait_line("Meta info configmap already exists, updating it")
        .await;
}
