//! Shared pieces of the fault suite: the seed, a random world of sources and workloads, bursts
//! of changes, and "wait until quiet, then check the invariant".
#![allow(dead_code, reason = "each fault module uses a different subset")]

pub mod engine;
pub mod invariant;
#[cfg(test)]
mod invariant_tests;

use std::time::Duration;

use base64::Engine as _;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, Patch, PatchParams};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use reload_core::ReloadStrategy;
use reload_tests::sim::Simulator;
use serde_json::{Value, json};

pub use invariant::{Report, check};

/// The seed of one scenario run: `FAULTS_SEED` if set, else random. Printed at creation and
/// named in every assertion message, so a failure can be replayed with `FAULTS_SEED=<n>`.
#[derive(Debug, Clone, Copy)]
pub struct Seed(pub u64);

impl Seed {
    /// The seed for `scenario` (printed to stderr, which the test harness shows on failure).
    pub fn new(scenario: &str) -> Self {
        let seed = std::env::var("FAULTS_SEED")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or_else(rand::random);
        eprintln!("{scenario}: FAULTS_SEED={seed}");
        Seed(seed)
    }

    /// A generator for this seed.
    pub fn rng(self) -> StdRng {
        StdRng::seed_from_u64(self.0)
    }
}

impl std::fmt::Display for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FAULTS_SEED={}", self.0)
    }
}

/// One source of the world.
#[derive(Debug, Clone)]
pub struct Source {
    /// `ConfigMap` or `Secret`.
    pub secret: bool,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// A random set of sources and auto workloads referencing them, in a few namespaces.
#[derive(Debug, Clone)]
pub struct World {
    /// Every source.
    pub sources: Vec<Source>,
    /// Every workload: (kind, namespace, name).
    pub workloads: Vec<(String, String, String)>,
}

/// Sizes of a world.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Namespaces (`f0`, `f1`, ...).
    pub namespaces: usize,
    /// Sources per namespace.
    pub sources: usize,
    /// Workloads per namespace.
    pub workloads: usize,
}

impl Default for Shape {
    fn default() -> Self {
        Shape {
            namespaces: 2,
            sources: 4,
            workloads: 6,
        }
    }
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// The object of a source with `{"k": value}`.
pub fn source_object(source: &Source, value: &str) -> Value {
    if source.secret {
        json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": source.name, "namespace": source.namespace}, "data": {"k": b64(value)}})
    } else {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": source.name, "namespace": source.namespace}, "data": {"k": value}})
    }
}

fn reference(source: &Source, how: u8) -> (Value, Option<Value>) {
    let key = if source.secret {
        "secretRef"
    } else {
        "configMapRef"
    };
    match how {
        0 => (json!({"envFrom": [{key: {"name": source.name}}]}), None),
        _ => {
            let volume = if source.secret {
                json!({"name": format!("v-{}", source.name), "secret": {"secretName": source.name}})
            } else {
                json!({"name": format!("v-{}", source.name), "configMap": {"name": source.name}})
            };
            (
                json!({"volumeMounts": [{"name": format!("v-{}", source.name), "mountPath": format!("/etc/{}", source.name)}]}),
                Some(volume),
            )
        }
    }
}

/// An auto workload of `kind` whose container `app` references `sources`.
pub fn workload_object(kind: &str, ns: &str, name: &str, sources: &[&Source], rng: &mut StdRng) -> Value {
    let mut container = json!({"name": "app", "image": "nginx"});
    let mut volumes = Vec::new();
    for source in sources {
        let (part, volume) = reference(source, rng.random_range(0..2));
        for (k, v) in part.as_object().into_iter().flatten() {
            match container.get_mut(k).and_then(Value::as_array_mut) {
                Some(list) => list.extend(v.as_array().cloned().unwrap_or_default()),
                None => container[k] = v.clone(),
            }
        }
        volumes.extend(volume);
    }
    let mut spec = json!({
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}},
            "spec": {"containers": [container], "volumes": volumes}}
    });
    if kind == "StatefulSet" {
        spec["serviceName"] = json!(name);
    }
    json!({"apiVersion": "apps/v1", "kind": kind,
        "metadata": {"name": name, "namespace": ns, "annotations": {"reloader.stakater.com/auto": "true"}},
        "spec": spec})
}

/// Seeds a random world of `shape` into `sim` (values `v0`).
pub fn seed_world(sim: &Simulator, rng: &mut StdRng, shape: Shape) -> World {
    let mut world = World {
        sources: Vec::new(),
        workloads: Vec::new(),
    };
    for n in 0..shape.namespaces {
        let ns = format!("f{n}");
        let _ = sim.seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}));
        let first = world.sources.len();
        for s in 0..shape.sources {
            let source = Source {
                secret: rng.random_bool(0.3),
                namespace: ns.clone(),
                name: format!("src-{s}"),
            };
            sim.seed(source_object(&source, "v0")).expect("source seeded");
            world.sources.push(source);
        }
        for w in 0..shape.workloads {
            let kind = ["Deployment", "Deployment", "StatefulSet", "DaemonSet"][rng.random_range(0..4)];
            let count = rng.random_range(1..=2);
            let mut picked: Vec<&Source> = Vec::new();
            while picked.len() < count {
                let s = &world.sources[first + rng.random_range(0..shape.sources)];
                if !picked.iter().any(|p| p.name == s.name) {
                    picked.push(s);
                }
            }
            let name = format!("w-{w}");
            sim.seed(workload_object(kind, &ns, &name, &picked, rng))
                .expect("workload seeded");
            world.workloads.push((kind.to_owned(), ns.clone(), name));
        }
    }
    world
}

/// Reloader's pause-period annotation.
pub const PAUSE_PERIOD: &str = "deployment.reloader.stakater.com/pause-period";

/// Every kind [`seed_more_kinds`] can add: a CronJob (`cron`), a Job (`batch`) and a
/// Deployment with a 2 s pause-period (`paused`).
pub const MORE_KINDS: &[&str] = &["CronJob", "Job", "Deployment"];

/// Adds to every namespace of `world` one workload of each of `kinds` (from [`MORE_KINDS`]),
/// each on one or two random sources of its namespace.
pub fn seed_more_kinds(sim: &Simulator, rng: &mut StdRng, world: &mut World, kinds: &[&str]) {
    let mut namespaces: Vec<String> = world.sources.iter().map(|s| s.namespace.clone()).collect();
    namespaces.dedup();
    for ns in namespaces {
        let local: Vec<&Source> = world.sources.iter().filter(|s| s.namespace == ns).collect();
        for (kind, name) in [("CronJob", "cron"), ("Job", "batch"), ("Deployment", "paused")] {
            if !kinds.contains(&kind) {
                continue;
            }
            let count = rng.random_range(1..=2).min(local.len());
            let mut picked: Vec<&Source> = Vec::new();
            while picked.len() < count {
                let s = local[rng.random_range(0..local.len())];
                if !picked.iter().any(|p| p.name == s.name) {
                    picked.push(s);
                }
            }
            let mut object = workload_object("Deployment", &ns, name, &picked, rng);
            if kind == "Deployment" {
                object["metadata"]["annotations"][PAUSE_PERIOD] = json!("2s");
            } else {
                let mut template = object["spec"]["template"].take();
                template["spec"]["restartPolicy"] = json!("Never");
                object["apiVersion"] = json!("batch/v1");
                object["kind"] = json!(kind);
                object["spec"] = if kind == "CronJob" {
                    json!({"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": template}}})
                } else {
                    json!({"template": template})
                };
            }
            sim.seed(object).expect("workload seeded");
            world
                .workloads
                .push((kind.to_owned(), ns.clone(), name.to_owned()));
        }
    }
}

/// Sets a source's `k` to `value` through the API, retrying while the simulator is down or
/// answers an injected error (the burst itself must not be lost to the faults it causes).
pub async fn set_source(sim: &Simulator, source: &Source, value: &str) {
    let patch = match source_object(source, value) {
        Value::Object(o) => json!({"data": o.get("data").cloned().unwrap_or_default()}),
        _ => json!({}),
    };
    for _ in 0..200 {
        let Ok(client) = sim.client() else { break };
        let result = if source.secret {
            Api::<Secret>::namespaced(client, &source.namespace)
                .patch(&source.name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map(|_| ())
        } else {
            Api::<ConfigMap>::namespaced(client, &source.namespace)
                .patch(&source.name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map(|_| ())
        };
        if result.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("could not change {}/{} to {value}", source.namespace, source.name);
}

/// `changes` changes of random sources, each to a value unique in this run, a few ms apart.
pub async fn burst(sim: &Simulator, world: &World, rng: &mut StdRng, round: usize, changes: usize) {
    for c in 0..changes {
        let source = &world.sources[rng.random_range(0..world.sources.len())];
        set_source(sim, source, &format!("r{round}-c{c}")).await;
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..25))).await;
    }
}

/// Waits until no write was committed for `quiet`, at most `limit`.
pub async fn wait_quiet(sim: &Simulator, quiet: Duration, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    let mut last = sim.current_resource_version();
    let mut since = tokio::time::Instant::now();
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = sim.current_resource_version();
        if now != last {
            last = now;
            since = tokio::time::Instant::now();
        } else if since.elapsed() >= quiet {
            return;
        }
    }
}

/// Waits until the system is quiet (no write for ~1 s) and the invariant holds, for at most
/// 30 s; then checks once more after another quiet second (a late duplicate must not slip by).
/// Panics with the seed and the report if the invariant never holds.
pub async fn settle(sim: &Simulator, strategy: &dyn ReloadStrategy, seed: Seed, scenario: &str) -> Report {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        wait_quiet(sim, Duration::from_secs(1), Duration::from_secs(15)).await;
        let report = check(&sim.journal(0), strategy);
        if report.holds() {
            wait_quiet(sim, Duration::from_secs(1), Duration::from_secs(15)).await;
            let again = check(&sim.journal(0), strategy);
            assert!(again.holds(), "{scenario} ({seed}): {again}");
            eprintln!("{scenario} ({seed}): {again}");
            return again;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{scenario} ({seed}): the invariant does not hold once quiet: {report}"
        );
    }
}
