//! Upstream's load scenarios (`LOADTEST.md` §2): the objects each creates and the changes it
//! drives, at upstream's object counts and rates. Simulator objects only: no pods, so readiness
//! waits of upstream's set-up have nothing to wait for.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::Client;
use kube::api::{Api, PostParams};
use reload_core::SourceKind;
use reload_strategies::env_var_name;
use serde_json::{Value, json};
use tokio::time::MissedTickBehavior;

use crate::fixtures::rng::SplitMix64;

/// The namespace upstream's scenarios use.
pub const NAMESPACE: &str = "reloader-test";

/// The scenarios the harness implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Burst: 10 ConfigMaps, 10 Deployments, one random data update every 100 ms.
    S1,
    /// Fan-out: one ConfigMap referenced by 50 Deployments, one update every 5 s.
    S2,
    /// No-op: only an annotation of 10 ConfigMaps changes, every 100 ms.
    S4,
    /// API pressure: 10 writers each update one of 50 ConfigMaps every 100 ms.
    S7,
    /// Multi workload types: one ConfigMap, 5 Deployments + 3 StatefulSets + 2 DaemonSets, every 5 s.
    S9,
    /// Complex references: 5 ConfigMaps, each primary for one Deployment (envFrom, keyRefs,
    /// volume) and secondary (projected volume) for another, one update every 2 s.
    S13,
}

impl Scenario {
    /// Every implemented scenario, in upstream's order.
    pub const ALL: [Scenario; 6] = [Self::S1, Self::S2, Self::S4, Self::S7, Self::S9, Self::S13];

    /// Parses `S1`, `s1`, ….
    pub fn parse(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.id().eq_ignore_ascii_case(id))
    }

    /// Upstream's id (`S1`).
    pub fn id(self) -> &'static str {
        match self {
            Self::S1 => "S1",
            Self::S2 => "S2",
            Self::S4 => "S4",
            Self::S7 => "S7",
            Self::S9 => "S9",
            Self::S13 => "S13",
        }
    }

    /// Creates the scenario's objects; returns the source keys each workload references.
    pub async fn setup(self, client: &Client) -> anyhow::Result<BTreeMap<String, Vec<String>>> {
        create_namespace(client, NAMESPACE).await?;
        let mut refs = BTreeMap::new();
        let env = |name: &str| json!([{ "configMapRef": { "name": name } }]);
        match self {
            Self::S1 | Self::S4 | Self::S7 => {
                let (prefix, count, value) = match self {
                    Self::S1 => ("burst", 10, "initial"),
                    Self::S4 => ("noop", 10, "static-value"),
                    _ => ("pressure", 50, "initial"),
                };
                for i in 0..count {
                    let cm = format!("{prefix}-cm-{i}");
                    create_config_map(client, &cm, json!({ "key": value })).await?;
                    let name = format!("{prefix}-deploy-{i}");
                    let spec = pod_spec(&json!([container("app", &env(&cm))]), &json!([]), &json!([]));
                    refs.insert(
                        create_workload(client, "deployments", &name, spec).await?,
                        vec![source_key(&cm)],
                    );
                }
            }
            Self::S2 | Self::S9 => {
                let (cm, kinds): (&str, &[(&str, usize)]) = if self == Self::S2 {
                    ("shared-cm", &[("deployments", 50)])
                } else {
                    (
                        "multi-type-cm",
                        &[("deployments", 5), ("statefulsets", 3), ("daemonsets", 2)],
                    )
                };
                create_config_map(client, cm, json!({ "config": "initial" })).await?;
                for (kind, count) in kinds {
                    for i in 0..*count {
                        let name = format!("{}-{kind}-{i}", &cm[..cm.len() - 3]);
                        let spec = pod_spec(&json!([container("app", &env(cm))]), &json!([]), &json!([]));
                        refs.insert(
                            create_workload(client, kind, &name, spec).await?,
                            vec![source_key(cm)],
                        );
                    }
                }
            }
            Self::S13 => {
                for i in 0..5 {
                    let data = json!({ "key1": "v1", "key2": "v2", "config": "initial" });
                    create_config_map(client, &format!("complex-cm-{i}"), data).await?;
                }
                for i in 0..5 {
                    let (primary, secondary) =
                        (format!("complex-cm-{i}"), format!("complex-cm-{}", (i + 1) % 5));
                    let key_ref = |key: &str| json!({ "configMapKeyRef": { "name": primary, "key": key } });
                    let main = json!({ "name": "main", "image": IMAGE, "command": ["sleep", "999999999"],
                        "env": [{ "name": "CONFIG_KEY1", "valueFrom": key_ref("key1") },
                                { "name": "CONFIG_KEY2", "valueFrom": key_ref("key2") }] });
                    let sidecar = json!({ "name": "sidecar", "image": IMAGE, "command": ["sleep", "999999999"],
                        "volumeMounts": [{ "name": "config", "mountPath": "/config" },
                                         { "name": "projected", "mountPath": "/projected" }] });
                    let volumes = json!([
                        { "name": "config", "configMap": { "name": primary } },
                        { "name": "projected", "projected": { "sources": [
                            { "configMap": { "name": primary, "items": [{ "key": "key1", "path": "primary-key1" }] } },
                            { "configMap": { "name": secondary, "items": [{ "key": "key1", "path": "secondary-key1" }] } }
                        ] } }
                    ]);
                    let init = json!([container("init", &env(&primary))]);
                    let spec = pod_spec(&json!([main, sidecar]), &init, &volumes);
                    let key =
                        create_workload(client, "deployments", &format!("complex-deploy-{i}"), spec).await?;
                    refs.insert(key, vec![source_key(&primary), source_key(&secondary)]);
                }
            }
        }
        Ok(refs)
    }

    /// Drives the scenario's changes for `duration`; returns the successful updates.
    pub async fn drive(self, client: &Client, duration: Duration) -> u64 {
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), NAMESPACE);
        let deadline = Instant::now() + duration;
        match self {
            Self::S1 => {
                every(Duration::from_millis(100), deadline, 1, |n, rng| {
                    let api = api.clone();
                    let cm = format!("burst-cm-{}", rng.next_u64() % 10);
                    let nanos = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_nanos());
                    async move { update(&api, &cm, |c| set(c, "key", format!("value-{n}-{nanos}"))).await }
                })
                .await
            }
            Self::S2 | Self::S9 => {
                let cm = if self == Self::S2 {
                    "shared-cm"
                } else {
                    "multi-type-cm"
                };
                every(Duration::from_secs(5), deadline, 2, |n, _| {
                    let api = api.clone();
                    async move { update(&api, cm, |c| set(c, "config", format!("update-{n}"))).await }
                })
                .await
            }
            Self::S4 => {
                every(Duration::from_millis(100), deadline, 4, |n, rng| {
                    let api = api.clone();
                    let cm = format!("noop-cm-{}", rng.next_u64() % 10);
                    async move {
                        update(&api, &cm, |c| {
                            c.metadata
                                .annotations
                                .get_or_insert_default()
                                .insert("noop-counter".into(), n.to_string());
                        })
                        .await
                    }
                })
                .await
            }
            Self::S7 => {
                let writers =
                    (0..10u64).map(|g| {
                        let api = api.clone();
                        tokio::spawn(every(
                            Duration::from_millis(100),
                            deadline,
                            70 + g,
                            move |n, rng| {
                                let api = api.clone();
                                let cm = format!("pressure-cm-{}", rng.next_u64() % 50);
                                async move {
                                    update(&api, &cm, |c| set(c, "key", format!("g{g}-update-{n}"))).await
                                }
                            },
                        ))
                    });
                futures::future::join_all(writers)
                    .await
                    .into_iter()
                    .map(|r| r.unwrap_or(0))
                    .sum()
            }
            Self::S13 => {
                every(Duration::from_secs(2), deadline, 13, |n, rng| {
                    let api = api.clone();
                    let cm = format!("complex-cm-{}", rng.next_u64() % 5);
                    async move {
                        update(&api, &cm, |c| {
                            set(c, "key1", format!("key1-update-{n}"));
                            set(c, "config", format!("config-update-{n}"));
                        })
                        .await
                    }
                })
                .await
            }
        }
    }
}

const IMAGE: &str = "gcr.io/google-containers/busybox:1.27";

/// Runs `step` every `period` until `deadline` (missed ticks are skipped, like a Go ticker);
/// returns how many steps succeeded.
async fn every<F, Fut>(period: Duration, deadline: Instant, seed: u64, mut step: F) -> u64
where
    F: FnMut(u64, &mut SplitMix64) -> Fut,
    Fut: Future<Output = bool>,
{
    let mut rng = SplitMix64::new(seed);
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    ticker.tick().await;
    let mut done = 0;
    let mut n = 0;
    loop {
        ticker.tick().await;
        if Instant::now() >= deadline {
            return done;
        }
        n += 1;
        if step(n, &mut rng).await {
            done += 1;
        }
    }
}

/// GET + UPDATE of one ConfigMap, as upstream does; a conflict or error counts as no update.
async fn update(api: &Api<ConfigMap>, name: &str, change: impl FnOnce(&mut ConfigMap)) -> bool {
    let Ok(mut cm) = api.get(name).await else {
        return false;
    };
    change(&mut cm);
    api.replace(name, &PostParams::default(), &cm).await.is_ok()
}

fn set(cm: &mut ConfigMap, key: &str, value: String) {
    cm.data.get_or_insert_default().insert(key.to_owned(), value);
}

/// The key the accounting uses for a ConfigMap of the test namespace.
fn source_key(name: &str) -> String {
    format!("{NAMESPACE}/{}", env_var_name(SourceKind::ConfigMap, name))
}

fn container(name: &str, env_from: &Value) -> Value {
    json!({ "name": name, "image": IMAGE, "command": ["sleep", "999999999"], "envFrom": env_from,
            "resources": { "requests": { "cpu": "1m", "memory": "4Mi" }, "limits": { "cpu": "10m", "memory": "16Mi" } } })
}

fn pod_spec(containers: &Value, init_containers: &Value, volumes: &Value) -> Value {
    json!({ "containers": containers, "initContainers": init_containers, "volumes": volumes,
            "terminationGracePeriodSeconds": 0 })
}

async fn create_namespace(client: &Client, name: &str) -> anyhow::Result<()> {
    let ns: Namespace = serde_json::from_value(json!({ "metadata": { "name": name } }))?;
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await?;
    Ok(())
}

async fn create_config_map(client: &Client, name: &str, data: Value) -> anyhow::Result<()> {
    let cm: ConfigMap = serde_json::from_value(json!({ "metadata": { "name": name }, "data": data }))?;
    Api::<ConfigMap>::namespaced(client.clone(), NAMESPACE)
        .create(&PostParams::default(), &cm)
        .await?;
    Ok(())
}

/// Creates an auto-reload workload of `kind` (plural) with `pod_spec`; returns its accounting key.
async fn create_workload(client: &Client, kind: &str, name: &str, pod_spec: Value) -> anyhow::Result<String> {
    let mut spec = json!({
        "replicas": 1,
        "selector": { "matchLabels": { "app": name } },
        "template": { "metadata": { "labels": { "app": name } }, "spec": pod_spec },
    });
    if kind == "deployments" {
        spec["strategy"] =
            json!({ "type": "RollingUpdate", "rollingUpdate": { "maxSurge": 1, "maxUnavailable": 1 } });
    } else if kind == "statefulsets" {
        spec["serviceName"] = json!(name);
    }
    if kind == "daemonsets" {
        spec.as_object_mut().map(|s| s.remove("replicas"));
    }
    let object = json!({ "metadata": { "name": name, "annotations": { "reloader.stakater.com/auto": "true" } }, "spec": spec });
    let pp = PostParams::default();
    match kind {
        "deployments" => drop(
            Api::<Deployment>::namespaced(client.clone(), NAMESPACE)
                .create(&pp, &serde_json::from_value(object)?)
                .await?,
        ),
        "statefulsets" => drop(
            Api::<StatefulSet>::namespaced(client.clone(), NAMESPACE)
                .create(&pp, &serde_json::from_value(object)?)
                .await?,
        ),
        _ => drop(
            Api::<DaemonSet>::namespaced(client.clone(), NAMESPACE)
                .create(&pp, &serde_json::from_value(object)?)
                .await?,
        ),
    }
    Ok(format!("{NAMESPACE}/{kind}/{name}"))
}
