//! The scale scenario of issue 8: 10,000 ConfigMaps and 10,000 Secrets of 4 KiB, 600
//! `helm.sh/release.v1` Secrets of 128 KiB and 2,000 Deployments across 200 namespaces, created
//! through the API (16 creates in flight) before the reloader starts. Measures the reloader's cold
//! start to `/ready`, its RSS once the start-up writes are done, and its peak RSS (`VmHWM`);
//! run again with every object `factor` times larger to see whether memory stays flat.

use std::path::Path;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};

use super::collect::wait_for_quiet;
use super::procs::{ReloaderProcess, SimProcess, rss_now_and_peak_mib};
use super::run::client;
use super::scenarios::objects::{
    SourceId, WorkloadSpec, create_config_map, create_namespace, simple_pod_spec,
};

/// Object counts of the scale scenario.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Namespaces.
    pub namespaces: usize,
    /// ConfigMaps per namespace.
    pub config_maps: usize,
    /// Secrets per namespace.
    pub secrets: usize,
    /// Helm release Secrets per namespace.
    pub helm_releases: usize,
    /// Deployments per namespace.
    pub deployments: usize,
    /// Bytes of a ConfigMap or Secret (before the factor).
    pub source_bytes: usize,
    /// Bytes of a Helm release Secret (before the factor).
    pub helm_bytes: usize,
}

impl Shape {
    /// Issue 8's shape: 200 namespaces × (50 ConfigMaps, 50 Secrets, 3 Helm releases, 10 Deployments).
    pub const ISSUE_8: Shape = Shape {
        namespaces: 200,
        config_maps: 50,
        secrets: 50,
        helm_releases: 3,
        deployments: 10,
        source_bytes: 4 * 1024,
        helm_bytes: 128 * 1024,
    };
}

/// What one scale run measured.
#[derive(Debug, Clone)]
pub struct ScaleReport {
    /// The size factor applied to every object.
    pub factor: usize,
    /// Objects created (namespaces excluded).
    pub objects: usize,
    /// Bytes of ConfigMap and Secret values created.
    pub source_bytes: u64,
    /// Seconds to create everything.
    pub seed_seconds: f64,
    /// Reloader spawn → `/ready` 200.
    pub ready_seconds: f64,
    /// Reloader spawn → no write for 2 s (start-up baselines done).
    pub settled_seconds: f64,
    /// RSS when ready, MiB.
    pub rss_ready_mib: f64,
    /// RSS once settled, MiB.
    pub rss_settled_mib: f64,
    /// Peak RSS since start (`VmHWM`), MiB.
    pub rss_peak_mib: f64,
}

impl ScaleReport {
    /// The report as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "factor": self.factor,
            "objects": self.objects,
            "source_mib": self.source_mib(),
            "seed_seconds": self.seed_seconds,
            "ready_seconds": self.ready_seconds,
            "settled_seconds": self.settled_seconds,
            "rss_mib": { "ready": self.rss_ready_mib, "settled": self.rss_settled_mib, "peak": self.rss_peak_mib },
        })
    }

    #[expect(clippy::cast_precision_loss, reason = "byte counts far below 2^52")]
    fn source_mib(&self) -> f64 {
        self.source_bytes as f64 / (1024.0 * 1024.0)
    }
}

/// Runs the scale scenario with every object `factor` times larger.
pub async fn run_scale(
    bin_dir: &Path,
    work: &Path,
    shape: Shape,
    factor: usize,
) -> anyhow::Result<ScaleReport> {
    std::fs::create_dir_all(work)?;
    let kubeconfig = work.join("kubeconfig.yaml");
    let sim = SimProcess::start_with_history(bin_dir, &kubeconfig, 1000).await?;
    let client = client(&kubeconfig).await?;
    let seeding = Instant::now();
    let (objects, source_bytes) = seed(&client, shape, factor).await?;
    let seed_seconds = seeding.elapsed().as_secs_f64();
    let started = Instant::now();
    let reloader = ReloaderProcess::start(bin_dir, &kubeconfig, &work.join("reloader.log"), &[]).await?;
    let ready_seconds = started.elapsed().as_secs_f64();
    let pid = reloader.pid().unwrap_or(0);
    let (rss_ready_mib, _) = rss_now_and_peak_mib(pid).unwrap_or_default();
    wait_for_quiet(&sim.addr, Duration::from_secs(2), Duration::from_secs(600)).await?;
    let settled_seconds = started.elapsed().as_secs_f64() - 2.0;
    let (rss_settled_mib, rss_peak_mib) = rss_now_and_peak_mib(pid).unwrap_or_default();
    reloader.kill().await;
    sim.stop().await;
    Ok(ScaleReport {
        factor,
        objects,
        source_bytes,
        seed_seconds,
        ready_seconds,
        settled_seconds,
        rss_ready_mib,
        rss_settled_mib,
        rss_peak_mib,
    })
}

/// One object to create.
enum Object {
    ConfigMap(String, String, usize),
    Secret(String, String, usize, bool),
    Deployment(String, String, Vec<SourceId>),
}

/// Creates the shape's objects; returns their count and the bytes of source values.
async fn seed(client: &Client, shape: Shape, factor: usize) -> anyhow::Result<(usize, u64)> {
    let mut objects = Vec::new();
    for n in 0..shape.namespaces {
        let ns = format!("scale-{n}");
        create_namespace(client, &ns).await?;
        for i in 0..shape.config_maps {
            objects.push(Object::ConfigMap(
                ns.clone(),
                format!("cm-{i}"),
                shape.source_bytes * factor,
            ));
        }
        for i in 0..shape.secrets {
            objects.push(Object::Secret(
                ns.clone(),
                format!("secret-{i}"),
                shape.source_bytes * factor,
                false,
            ));
        }
        for i in 0..shape.helm_releases {
            let name = format!("sh.helm.release.v1.app-{i}.v1");
            objects.push(Object::Secret(ns.clone(), name, shape.helm_bytes * factor, true));
        }
        for i in 0..shape.deployments {
            // Each Deployment uses 5 ConfigMaps and 5 Secrets of its namespace.
            let sources = (0..5)
                .flat_map(|k| {
                    let j = (i * 5 + k) % shape.config_maps.max(1);
                    [
                        SourceId::config_map(&ns, &format!("cm-{j}")),
                        SourceId::secret(&ns, &format!("secret-{j}")),
                    ]
                })
                .collect();
            objects.push(Object::Deployment(ns.clone(), format!("deploy-{i}"), sources));
        }
    }
    let count = objects.len();
    let results: Vec<anyhow::Result<u64>> = futures::stream::iter(objects)
        .map(|object| create(client, object))
        .buffer_unordered(16)
        .collect()
        .await;
    let mut bytes = 0;
    for result in results {
        bytes += result?;
    }
    Ok((count, bytes))
}

/// Creates one object; returns the bytes of its values.
async fn create(client: &Client, object: Object) -> anyhow::Result<u64> {
    match object {
        Object::ConfigMap(ns, name, size) => {
            create_config_map(client, &ns, &name, json!({ "data": filler(&name, size) })).await?;
            Ok(size as u64)
        }
        Object::Secret(ns, name, size, helm) => {
            let mut secret =
                json!({ "metadata": { "name": name }, "stringData": { "data": filler(&name, size) } });
            if helm {
                secret["type"] = json!("helm.sh/release.v1");
                secret["metadata"]["labels"] = json!({ "owner": "helm", "status": "deployed" });
            }
            let secret: Secret = serde_json::from_value(secret)?;
            Api::<Secret>::namespaced(client.clone(), &ns)
                .create(&PostParams::default(), &secret)
                .await?;
            Ok(size as u64)
        }
        Object::Deployment(ns, name, sources) => {
            let sources: Vec<&SourceId> = sources.iter().collect();
            WorkloadSpec::deployment(&ns, &name, simple_pod_spec(&sources))
                .create(client)
                .await?;
            Ok(0)
        }
    }
}

/// `size` printable bytes that differ per object.
fn filler(seed: &str, size: usize) -> String {
    seed.chars()
        .chain(
            std::iter::repeat_n("abcdefghijklmnopqrstuvwxyz0123456789", size / 36 + 1).flat_map(str::chars),
        )
        .take(size)
        .collect()
}

/// The markdown table of scale runs.
pub fn to_markdown(runs: &[ScaleReport]) -> String {
    use std::fmt::Write as _;
    let mut out = String::from(
        "| object size | objects | source data MiB | seed s | cold start → ready s | → settled s | RSS ready MiB | RSS settled MiB | RSS peak (VmHWM) MiB |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for r in runs {
        let _ = writeln!(
            out,
            "| {}× | {} | {:.0} | {:.1} | {:.2} | {:.2} | {:.1} | {:.1} | {:.1} |",
            r.factor,
            r.objects,
            r.source_mib(),
            r.seed_seconds,
            r.ready_seconds,
            r.settled_seconds,
            r.rss_ready_mib,
            r.rss_settled_mib,
            r.rss_peak_mib,
        );
    }
    out
}
