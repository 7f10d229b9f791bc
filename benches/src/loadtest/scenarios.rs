//! Upstream's load scenarios (`LOADTEST.md` §2): the objects each creates and the changes it
//! drives, at upstream's object counts and rates. Simulator objects only: no pods, so readiness
//! waits of upstream's set-up have nothing to wait for.

pub mod objects;

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Client;
use kube::api::{Api, DeleteParams};
use serde_json::json;
use tokio::time::MissedTickBehavior;

use self::objects::{
    References, SourceId, WorkloadSpec, container, create_config_map, create_namespace, create_secret,
    env_from, one_to_one, pod_spec, set, simple_pod_spec, update_config_map, update_secret,
};
use crate::fixtures::rng::SplitMix64;

/// The namespace upstream's scenarios use.
pub const NAMESPACE: &str = "reloader-test";

/// Upstream's pause-period annotation and the period S12 sets.
pub const PAUSE_PERIOD: (&str, &str) = ("deployment.reloader.stakater.com/pause-period", "15s");

/// The scenarios the harness implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Burst: 10 ConfigMaps, 10 Deployments, one random data update every 100 ms.
    S1,
    /// Fan-out: one ConfigMap referenced by 50 Deployments, one update every 5 s.
    S2,
    /// High cardinality: 11 namespaces × (20 ConfigMaps + 20 Deployments), one random update
    /// every 200 ms.
    S3,
    /// No-op: only an annotation of 10 ConfigMaps changes, every 100 ms.
    S4,
    /// Workload churn: a Deployment referencing `churn-cm` created every 500 ms, the one ten
    /// older deleted; `churn-cm` updated every 2 s.
    S5,
    /// Controller restart: 20 ConfigMaps + 20 Deployments, one update every 200 ms; the
    /// reloader is killed (SIGKILL) and restarted after 20 s (see [`Scenario::restart_after`]).
    S6,
    /// API pressure: 10 writers each update one of 50 ConfigMaps every 100 ms.
    S7,
    /// Large objects: 10 ConfigMaps with two 100 KiB values, one update every 2 s.
    S8,
    /// Multi workload types: one ConfigMap, 5 Deployments + 3 StatefulSets + 2 DaemonSets, every 5 s.
    S9,
    /// Secrets and mixed: 5 Secrets, 5 ConfigMaps, 10 Deployments (secret-only, CM-only, mixed);
    /// every 500 ms alternately a random Secret or ConfigMap changes.
    S10,
    /// Annotation strategy: 10 ConfigMaps + 10 Deployments, one update every 500 ms, with the
    /// reloader run with `--reload-strategy=annotations`.
    S11,
    /// Pause and resume: 10 ConfigMaps + 10 Deployments with a 15 s `pause-period`, one update
    /// every 2 s.
    S12,
    /// Complex references: 5 ConfigMaps, each primary for one Deployment (envFrom, keyRefs,
    /// volume) and secondary (projected volume) for another, one update every 2 s.
    S13,
}

impl Scenario {
    /// Every scenario, in upstream's order.
    pub const ALL: [Scenario; 13] = [
        Self::S1,
        Self::S2,
        Self::S3,
        Self::S4,
        Self::S5,
        Self::S6,
        Self::S7,
        Self::S8,
        Self::S9,
        Self::S10,
        Self::S11,
        Self::S12,
        Self::S13,
    ];

    /// Parses `S1`, `s1`, ….
    pub fn parse(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.id().eq_ignore_ascii_case(id))
    }

    /// Upstream's id (`S1`).
    pub fn id(self) -> &'static str {
        const IDS: [&str; 13] = [
            "S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S9", "S10", "S11", "S12", "S13",
        ];
        IDS[self as usize]
    }

    /// Extra reloader arguments the scenario needs (S11: the annotations strategy).
    pub fn reloader_args(self) -> &'static [&'static str] {
        match self {
            Self::S11 => &["--reload-strategy=annotations"],
            _ => &[],
        }
    }

    /// When the reloader is killed and restarted during a drive of `duration` (S6: after 20 s,
    /// or half the drive when it is shorter than 40 s).
    pub fn restart_after(self, duration: Duration) -> Option<Duration> {
        (self == Self::S6).then(|| Duration::from_secs(20).min(duration / 2))
    }

    /// How long the simulator must see no write before the drive counts as finished (S12: longer
    /// than the pause period, so paused Deployments resume first).
    pub fn quiet_after(self) -> Duration {
        match self {
            Self::S12 => Duration::from_secs(17),
            _ => Duration::from_secs(2),
        }
    }

    /// Creates the scenario's objects for a drive of `duration`; returns the sources each
    /// workload references (S5: also the Deployments the drive will create).
    pub async fn setup(self, client: &Client, duration: Duration) -> anyhow::Result<References> {
        create_namespace(client, NAMESPACE).await?;
        let mut refs = References::new();
        match self {
            Self::S1 => one_to_one(client, NAMESPACE, "burst", 10, "initial", &[], &mut refs).await?,
            Self::S4 => one_to_one(client, NAMESPACE, "noop", 10, "static-value", &[], &mut refs).await?,
            Self::S6 => one_to_one(client, NAMESPACE, "restart", 20, "initial", &[], &mut refs).await?,
            Self::S7 => one_to_one(client, NAMESPACE, "pressure", 50, "initial", &[], &mut refs).await?,
            Self::S11 => one_to_one(client, NAMESPACE, "annot", 10, "initial", &[], &mut refs).await?,
            Self::S12 => {
                one_to_one(
                    client,
                    NAMESPACE,
                    "pause",
                    10,
                    "initial",
                    &[PAUSE_PERIOD],
                    &mut refs,
                )
                .await?;
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
                let source = SourceId::config_map(NAMESPACE, cm);
                create_config_map(client, NAMESPACE, cm, json!({ "config": "initial" })).await?;
                for (kind, count) in kinds {
                    for i in 0..*count {
                        let name = format!("{}-{kind}-{i}", &cm[..cm.len() - 3]);
                        let spec = WorkloadSpec {
                            kind,
                            ..WorkloadSpec::deployment(NAMESPACE, &name, simple_pod_spec(&[&source]))
                        };
                        refs.insert(spec.create(client).await?, vec![source.clone()]);
                    }
                }
            }
            Self::S3 => {
                for ns in s3_namespaces() {
                    if ns != NAMESPACE {
                        create_namespace(client, &ns).await?;
                    }
                    one_to_one(client, &ns, "card", 20, "initial", &[], &mut refs).await?;
                }
            }
            Self::S5 => {
                create_config_map(client, NAMESPACE, "churn-cm", json!({ "config": "initial" })).await?;
                let source = SourceId::config_map(NAMESPACE, "churn-cm");
                for n in 1..=churn_creates(duration) {
                    refs.insert(
                        format!("{NAMESPACE}/deployments/churn-deploy-{n}"),
                        vec![source.clone()],
                    );
                }
            }
            Self::S8 => {
                let large = "x".repeat(100 * 1024);
                for i in 0..10 {
                    let cm = SourceId::config_map(NAMESPACE, &format!("large-cm-{i}"));
                    let data = json!({ "large-key-1": large, "large-key-2": large });
                    create_config_map(client, NAMESPACE, &cm.name, data).await?;
                    let name = format!("large-deploy-{i}");
                    let spec = WorkloadSpec::deployment(NAMESPACE, &name, simple_pod_spec(&[&cm]));
                    refs.insert(spec.create(client).await?, vec![cm]);
                }
            }
            Self::S10 => setup_s10(client, &mut refs).await?,
            Self::S13 => setup_s13(client, &mut refs).await?,
        }
        Ok(refs)
    }

    /// Drives the scenario's changes for `duration`; returns the successful source updates.
    pub async fn drive(self, client: &Client, duration: Duration) -> u64 {
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), NAMESPACE);
        let deadline = Instant::now() + duration;
        let ms = Duration::from_millis;
        // (period, ConfigMap prefix, count, seed) of the scenarios updating `key` of a random
        // `<prefix>-cm-<i>` of the test namespace.
        let one_random = |period, prefix: &'static str, count: u64, seed| {
            let api = api.clone();
            every(period, deadline, seed, move |n, rng| {
                let api = api.clone();
                let cm = format!("{prefix}-cm-{}", rng.next_u64() % count);
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos());
                async move { update_config_map(&api, &cm, |c| set(c, "key", format!("value-{n}-{nanos}"))).await }
            })
        };
        match self {
            Self::S1 => one_random(ms(100), "burst", 10, 1).await,
            Self::S6 => one_random(ms(200), "restart", 20, 6).await,
            Self::S11 => one_random(ms(500), "annot", 10, 11).await,
            Self::S12 => one_random(ms(2000), "pause", 10, 12).await,
            Self::S2 | Self::S9 => {
                let cm = if self == Self::S2 {
                    "shared-cm"
                } else {
                    "multi-type-cm"
                };
                every(ms(5000), deadline, 2, |n, _| {
                    let api = api.clone();
                    async move { update_config_map(&api, cm, |c| set(c, "config", format!("update-{n}"))).await }
                })
                .await
            }
            Self::S3 => {
                let namespaces = s3_namespaces();
                every(ms(200), deadline, 3, |n, rng| {
                    let ns = &namespaces[(rng.next_u64() % 11) as usize];
                    let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
                    let cm = format!("card-cm-{}", rng.next_u64() % 20);
                    async move { update_config_map(&api, &cm, |c| set(c, "key", format!("update-{n}"))).await }
                })
                .await
            }
            Self::S4 => {
                every(ms(100), deadline, 4, |n, rng| {
                    let api = api.clone();
                    let cm = format!("noop-cm-{}", rng.next_u64() % 10);
                    async move {
                        update_config_map(&api, &cm, |c| {
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
            Self::S5 => drive_s5(client, &api, deadline).await,
            Self::S7 => drive_s7(&api, deadline).await,
            Self::S8 => drive_s8(&api, deadline).await,
            Self::S10 => drive_s10(client, &api, deadline).await,
            Self::S13 => {
                every(ms(2000), deadline, 13, |n, rng| {
                    let api = api.clone();
                    let cm = format!("complex-cm-{}", rng.next_u64() % 5);
                    async move {
                        update_config_map(&api, &cm, |c| {
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

/// S7: 10 writers, each updating a random one of 50 ConfigMaps every 100 ms.
async fn drive_s7(api: &Api<ConfigMap>, deadline: Instant) -> u64 {
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
                        update_config_map(&api, &cm, |c| set(c, "key", format!("g{g}-update-{n}"))).await
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

/// S8: every 2 s, the last 10 characters of `large-key-1` of a random ConfigMap become `-<n>`.
async fn drive_s8(api: &Api<ConfigMap>, deadline: Instant) -> u64 {
    every(Duration::from_secs(2), deadline, 8, |n, rng| {
        let api = api.clone();
        let cm = format!("large-cm-{}", rng.next_u64() % 10);
        async move {
            update_config_map(&api, &cm, |c| {
                if let Some(value) = c.data.get_or_insert_default().get_mut("large-key-1") {
                    value.truncate(value.len().saturating_sub(10));
                    value.push('-');
                    value.push_str(&n.to_string());
                }
            })
            .await
        }
    })
    .await
}

/// S10: every 500 ms, alternately `password` of a random Secret or `config` of a random
/// ConfigMap.
async fn drive_s10(client: &Client, api: &Api<ConfigMap>, deadline: Instant) -> u64 {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NAMESPACE);
    every(Duration::from_millis(500), deadline, 10, |n, rng| {
        let (api, secrets) = (api.clone(), secrets.clone());
        let pick = rng.next_u64() % 5;
        async move {
            if n % 2 == 1 {
                let name = format!("mixed-secret-{pick}");
                update_secret(&secrets, &name, "password", format!("password-{n}")).await
            } else {
                let cm = format!("mixed-cm-{pick}");
                update_config_map(&api, &cm, |c| set(c, "config", format!("update-{n}"))).await
            }
        }
    })
    .await
}

/// S3's namespaces: the test namespace and `reloader-test-0..9`.
fn s3_namespaces() -> Vec<String> {
    std::iter::once(NAMESPACE.to_owned())
        .chain((0..10).map(|i| format!("{NAMESPACE}-{i}")))
        .collect()
}

/// Upper bound of the Deployments S5 creates in `duration` (one per 500 ms).
fn churn_creates(duration: Duration) -> u64 {
    duration.as_secs() * 2 + 2
}

/// S5: `churn-deploy-N` created every 500 ms, `churn-deploy-(N−10)` deleted; `churn-cm`
/// updated every 2 s. Returns the ConfigMap updates.
async fn drive_s5(client: &Client, api: &Api<ConfigMap>, deadline: Instant) -> u64 {
    let source = SourceId::config_map(NAMESPACE, "churn-cm");
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NAMESPACE);
    let churn = every(Duration::from_millis(500), deadline, 5, |n, _| {
        let (client, deployments, source) = (client.clone(), deployments.clone(), source.clone());
        async move {
            let name = format!("churn-deploy-{n}");
            let spec = WorkloadSpec::deployment(NAMESPACE, &name, simple_pod_spec(&[&source]));
            let created = spec.create(&client).await.is_ok();
            if n > 10 {
                let old = format!("churn-deploy-{}", n - 10);
                let _ = deployments.delete(&old, &DeleteParams::default()).await;
            }
            created
        }
    });
    let updates = every(Duration::from_secs(2), deadline, 50, |n, _| {
        let api = api.clone();
        async move { update_config_map(&api, "churn-cm", |c| set(c, "config", format!("update-{n}"))).await }
    });
    tokio::join!(churn, updates).1
}

/// S10: Secrets `mixed-secret-0..4`, ConfigMaps `mixed-cm-0..4`; Deployments: 5 secret-only
/// (secret i), 3 ConfigMap-only (cm 0..2), 2 mixed (cm i + secret i, i = 0, 1).
async fn setup_s10(client: &Client, refs: &mut References) -> anyhow::Result<()> {
    let secrets: Vec<SourceId> = (0..5)
        .map(|i| SourceId::secret(NAMESPACE, &format!("mixed-secret-{i}")))
        .collect();
    let cms: Vec<SourceId> = (0..5)
        .map(|i| SourceId::config_map(NAMESPACE, &format!("mixed-cm-{i}")))
        .collect();
    for (secret, cm) in secrets.iter().zip(&cms) {
        create_secret(client, NAMESPACE, &secret.name, json!({ "password": "initial" })).await?;
        create_config_map(client, NAMESPACE, &cm.name, json!({ "config": "initial" })).await?;
    }
    let mut workloads: Vec<(String, Vec<&SourceId>)> = Vec::new();
    for (i, secret) in secrets.iter().enumerate() {
        workloads.push((format!("secret-deploy-{i}"), vec![secret]));
    }
    for (i, cm) in cms.iter().take(3).enumerate() {
        workloads.push((format!("cm-deploy-{i}"), vec![cm]));
    }
    for i in 0..2 {
        workloads.push((format!("mixed-deploy-{i}"), vec![&cms[i], &secrets[i]]));
    }
    for (name, sources) in workloads {
        let spec = WorkloadSpec::deployment(NAMESPACE, &name, simple_pod_spec(&sources));
        refs.insert(spec.create(client).await?, sources.into_iter().cloned().collect());
    }
    Ok(())
}

/// S13: `complex-cm-0..4`; `complex-deploy-i` references `complex-cm-i` everywhere and
/// `complex-cm-(i+1)%5` through a projected volume.
async fn setup_s13(client: &Client, refs: &mut References) -> anyhow::Result<()> {
    for i in 0..5 {
        let data = json!({ "key1": "v1", "key2": "v2", "config": "initial" });
        create_config_map(client, NAMESPACE, &format!("complex-cm-{i}"), data).await?;
    }
    for i in 0..5 {
        let primary = SourceId::config_map(NAMESPACE, &format!("complex-cm-{i}"));
        let secondary = SourceId::config_map(NAMESPACE, &format!("complex-cm-{}", (i + 1) % 5));
        let key_ref = |key: &str| json!({ "configMapKeyRef": { "name": primary.name, "key": key } });
        let main = json!({ "name": "main", "image": objects::IMAGE, "command": ["sleep", "999999999"],
            "env": [{ "name": "CONFIG_KEY1", "valueFrom": key_ref("key1") },
                    { "name": "CONFIG_KEY2", "valueFrom": key_ref("key2") }] });
        let sidecar = json!({ "name": "sidecar", "image": objects::IMAGE, "command": ["sleep", "999999999"],
            "volumeMounts": [{ "name": "config", "mountPath": "/config" },
                             { "name": "projected", "mountPath": "/projected" }] });
        let volumes = json!([
            { "name": "config", "configMap": { "name": primary.name } },
            { "name": "projected", "projected": { "sources": [
                { "configMap": { "name": primary.name, "items": [{ "key": "key1", "path": "primary-key1" }] } },
                { "configMap": { "name": secondary.name, "items": [{ "key": "key1", "path": "secondary-key1" }] } }
            ] } }
        ]);
        let init = json!([container("init", &env_from(&[&primary]))]);
        let name = format!("complex-deploy-{i}");
        let spec = WorkloadSpec::deployment(
            NAMESPACE,
            &name,
            pod_spec(&json!([main, sidecar]), &init, &volumes),
        );
        refs.insert(spec.create(client).await?, vec![primary, secondary]);
    }
    Ok(())
}

/// Runs `step` every `period` until `deadline` (missed ticks are skipped, like a Go ticker);
/// returns how many steps succeeded.
pub(crate) async fn every<F, Fut>(period: Duration, deadline: Instant, seed: u64, mut step: F) -> u64
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
