//! Running the reload engine against the simulator: start/stop, observed events, workload
//! and source fixtures, and reading results back.
#![allow(dead_code, reason = "each engine suite uses a different subset")]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, PodTemplateSpec};
use kube::api::{Api, Patch, PatchParams};
use reload_core::engine::{Engine, EngineConfig, EngineEvent, Rate};
use reload_core::hash::ReloaderHasher;
use reload_core::matcher::{AnnotationMatcher, MatcherConfig};
use reload_core::{Digest, Hasher, ReloadStrategy, SourceContent};
use reload_strategies::{AnnotationStrategy, EnvVarStrategy};
use reload_tests::sim::Simulator;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Which strategy the engine runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Reloader's default `env-vars`.
    EnvVars,
    /// Reloader's `annotations`.
    Annotations,
}

impl Strategy {
    pub fn both() -> [Strategy; 2] {
        [Strategy::EnvVars, Strategy::Annotations]
    }

    fn build(self) -> Arc<dyn ReloadStrategy> {
        match self {
            Strategy::EnvVars => Arc::new(EnvVarStrategy),
            Strategy::Annotations => Arc::new(AnnotationStrategy),
        }
    }
}

/// A running engine and what it reported.
pub struct Running {
    events: Arc<Mutex<Vec<EngineEvent>>>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<reload_core::Result<()>>>,
}

/// The default config for tests: generous write rate so tests do not wait on it.
pub fn config() -> EngineConfig {
    EngineConfig::default().write_rate(Rate::new(1000.0, 1000))
}

/// Starts the engine on `sim` and waits until every watch has listed.
pub async fn start(
    sim: &Simulator,
    strategy: Strategy,
    config: EngineConfig,
    matcher: MatcherConfig,
) -> Running {
    start_with_client(sim.client().expect("client builds"), strategy, config, matcher).await
}

/// Starts the engine with `client` (e.g. a token with limited rights) and waits until every
/// watch has listed.
pub async fn start_with_client(
    client: kube::Client,
    strategy: Strategy,
    config: EngineConfig,
    matcher: MatcherConfig,
) -> Running {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let observer = move |e: &EngineEvent| sink.lock().expect("events lock").push(e.clone());
    let engine = Engine::new(
        config,
        Arc::new(AnnotationMatcher::new(matcher)),
        strategy.build(),
        Arc::new(ReloaderHasher),
    )
    .observer(Arc::new(observer));
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(engine.run(client, async move {
        let _ = stop_rx.await;
    }));
    let running = Running {
        events,
        stop: Some(stop_tx),
        task: Some(task),
    };
    running
        .wait_for("the engine to sync", |e| {
            e.iter().any(|e| matches!(e, EngineEvent::Synced))
        })
        .await;
    running
}

impl Running {
    /// Every event so far.
    pub fn events(&self) -> Vec<EngineEvent> {
        self.events.lock().expect("events lock").clone()
    }

    /// Polls until `check` holds on the events, for at most 10 s (a bounded wait).
    pub async fn wait_for(&self, what: &str, check: impl Fn(&[EngineEvent]) -> bool) {
        for _ in 0..400 {
            if check(&self.events()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("timed out waiting for {what}; events: {:#?}", self.events());
    }

    /// Waits until `n` Reloaded events were reported in total.
    pub async fn wait_reloaded(&self, n: usize) {
        self.wait_for(&format!("{n} rollouts"), |e| reloaded(e) >= n)
            .await;
    }

    /// Waits until `n` Baselined events were reported in total.
    pub async fn wait_baselined(&self, n: usize) {
        self.wait_for(&format!("{n} baselines"), |e| {
            count(e, |e| matches!(e, EngineEvent::Baselined { .. })) >= n
        })
        .await;
    }

    /// Stops the engine.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// The setup most engine suites share: a simulator holding ConfigMap `ns/cm` with
/// `{"k": "v1"}` and `workloads`, and an engine started on it with `strategy` and `config` that
/// has baselined every workload.
pub async fn start_on_configmap(
    ns: &str,
    cm: &str,
    workloads: Vec<Value>,
    strategy: Strategy,
    config: EngineConfig,
) -> (Simulator, Running) {
    let sim = Simulator::start().await.expect("simulator");
    seed(&sim, configmap(ns, cm, json!({"k": "v1"})));
    let n = workloads.len();
    for workload in workloads {
        seed(&sim, workload);
    }
    let engine = start(&sim, strategy, config, MatcherConfig::default()).await;
    engine.wait_baselined(n).await;
    (sim, engine)
}

pub fn count(events: &[EngineEvent], pred: impl Fn(&EngineEvent) -> bool) -> usize {
    events.iter().filter(|e| pred(e)).count()
}

pub fn reloaded(events: &[EngineEvent]) -> usize {
    count(events, |e| matches!(e, EngineEvent::Reloaded { .. }))
}

/// Reference paths of §5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    EnvFrom,
    ValueFrom,
    Volume,
    Projected,
    InitOnly,
}

impl Path {
    pub const ALL: [Path; 5] = [
        Path::EnvFrom,
        Path::ValueFrom,
        Path::Volume,
        Path::Projected,
        Path::InitOnly,
    ];

    /// A pod spec with container `app` referencing ConfigMap `cm` this way.
    pub fn pod_spec(self, cm: &str) -> Value {
        let app = |extra: Value| {
            let mut c = json!({"name": "app", "image": "nginx"});
            if let (Value::Object(c), Value::Object(extra)) = (&mut c, extra) {
                c.extend(extra);
            }
            c
        };
        match self {
            Path::EnvFrom => {
                json!({"containers": [app(json!({"envFrom": [{"configMapRef": {"name": cm}}]}))]})
            }
            Path::ValueFrom => json!({"containers": [app(json!({"env": [
                {"name": "KEEP", "value": "me"},
                {"name": "X", "valueFrom": {"configMapKeyRef": {"name": cm, "key": "k"}}}
            ]}))]}),
            Path::Volume => json!({
                "containers": [app(json!({"volumeMounts": [{"name": "v", "mountPath": "/etc/v"}]}))],
                "volumes": [{"name": "v", "configMap": {"name": cm}}]
            }),
            Path::Projected => json!({
                "containers": [app(json!({"volumeMounts": [{"name": "v", "mountPath": "/etc/v"}]}))],
                "volumes": [{"name": "v", "projected": {"sources": [{"configMap": {"name": cm}}]}}]
            }),
            Path::InitOnly => json!({
                "initContainers": [{"name": "init", "image": "busybox", "envFrom": [{"configMapRef": {"name": cm}}]}],
                "containers": [app(json!({}))]
            }),
        }
    }
}

/// A workload object of `kind` (Deployment, DaemonSet, StatefulSet).
pub fn workload(
    kind: &str,
    ns: &str,
    name: &str,
    annotations: Value,
    template_annotations: Value,
    pod_spec: Value,
) -> Value {
    let mut spec = json!({
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}, "annotations": template_annotations}, "spec": pod_spec}
    });
    if kind == "StatefulSet" {
        spec["serviceName"] = json!(name);
    }
    json!({
        "apiVersion": "apps/v1", "kind": kind,
        "metadata": {"name": name, "namespace": ns, "annotations": annotations},
        "spec": spec
    })
}

/// An auto-reload Deployment `ns/name` whose container `app` reads ConfigMap `cm` through
/// `envFrom`.
pub fn deployment_on(ns: &str, name: &str, cm: &str) -> Value {
    workload(
        "Deployment",
        ns,
        name,
        auto(),
        json!({}),
        Path::EnvFrom.pod_spec(cm),
    )
}

pub fn configmap(ns: &str, name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": data})
}

pub fn auto() -> Value {
    json!({"reloader.stakater.com/auto": "true"})
}

/// Creates `obj` as an admin would, creating its namespace first if needed.
pub fn seed(sim: &Simulator, obj: Value) {
    if let Some(ns) = obj["metadata"]["namespace"].as_str() {
        // Already existing is fine.
        let _ = sim.seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}));
    }
    sim.seed(obj).expect("seeded");
}

/// Sets `data` of a ConfigMap through the API (a merge patch, as `kubectl edit` would).
pub async fn set_data(sim: &Simulator, ns: &str, name: &str, data: Value) {
    let api: Api<ConfigMap> = Api::namespaced(sim.client().expect("client"), ns);
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"data": data})),
    )
    .await
    .expect("configmap patched");
}

/// Reloader's digest of ConfigMap data.
pub fn digest_of(data: &[(&str, &str)]) -> Digest {
    let data: BTreeMap<String, String> = data
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    ReloaderHasher.digest(&SourceContent::ConfigMap {
        data: &data,
        binary_data: &BTreeMap::new(),
    })
}

/// The pod template of a workload, read through the API.
pub async fn template(sim: &Simulator, kind: &str, ns: &str, name: &str) -> PodTemplateSpec {
    let client = sim.client().expect("client");
    match kind {
        "Deployment" => {
            Api::<Deployment>::namespaced(client, ns)
                .get(name)
                .await
                .expect("get")
                .spec
                .expect("spec")
                .template
        }
        "DaemonSet" => {
            Api::<DaemonSet>::namespaced(client, ns)
                .get(name)
                .await
                .expect("get")
                .spec
                .expect("spec")
                .template
        }
        _ => {
            Api::<StatefulSet>::namespaced(client, ns)
                .get(name)
                .await
                .expect("get")
                .spec
                .expect("spec")
                .template
        }
    }
}

/// The value of env var `name` of container `app`.
pub fn env_value(template: &PodTemplateSpec, name: &str) -> Option<String> {
    template
        .spec
        .as_ref()?
        .containers
        .iter()
        .find(|c| c.name == "app")?
        .env
        .as_ref()?
        .iter()
        .find(|e| e.name == name)?
        .value
        .clone()
}

/// A pod-template annotation.
pub fn template_annotation(template: &PodTemplateSpec, key: &str) -> Option<String> {
    template
        .metadata
        .as_ref()?
        .annotations
        .as_ref()?
        .get(key)
        .cloned()
}

/// Asserts the workload's template records `digest` for ConfigMap `cm` the way `strategy`
/// writes it (env var value, or `last-reloaded-from` JSON).
pub fn assert_records(strategy: Strategy, template: &PodTemplateSpec, cm: &str, ns: &str, digest: &Digest) {
    match strategy {
        Strategy::EnvVars => {
            let var = reload_strategies::env_var_name(reload_core::SourceKind::ConfigMap, cm);
            assert_eq!(
                env_value(template, &var).as_deref(),
                Some(digest.as_str()),
                "env var {var}"
            );
        }
        Strategy::Annotations => {
            let value = template_annotation(template, reload_strategies::LAST_RELOADED_FROM)
                .expect("last-reloaded-from");
            let json: Value = serde_json::from_str(&value).expect("JSON");
            assert_eq!(json["type"], "CONFIGMAP");
            assert_eq!(json["name"], cm);
            assert_eq!(json["namespace"], ns);
            assert_eq!(json["hash"], digest.as_str());
            assert_eq!(json["containerRefs"], json!(["app"]));
        }
    }
}

/// Asserts the template carries no trigger state for `cm`.
pub fn assert_untouched(strategy: Strategy, template: &PodTemplateSpec, cm: &str) {
    match strategy {
        Strategy::EnvVars => {
            let var = reload_strategies::env_var_name(reload_core::SourceKind::ConfigMap, cm);
            assert_eq!(env_value(template, &var), None, "env var {var} must be absent");
        }
        Strategy::Annotations => {
            assert_eq!(
                template_annotation(template, reload_strategies::LAST_RELOADED_FROM),
                None
            );
        }
    }
}
