//! One scenario end to end: simulator up, objects created, reloader up and ready, quiet,
//! drive, quiet again, then read back and judge.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use http::HeaderValue;
use http::header::USER_AGENT;
use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};

use super::accounting::{Accounting, account};
use super::collect::{journal, observe, snapshot, wait_for_quiet};
use super::procs::{ReloaderProcess, SimProcess, Usage, http, sample_usage};
use super::scenarios::Scenario;
use super::stats::counter;

/// The harness's own `User-Agent`, so its requests can be told from the reloader's.
pub const HARNESS_AGENT: &str = "loadtest";

/// The workload kinds whose PATCHes count as reloads.
const WORKLOAD_RESOURCES: [&str; 3] = ["deployments", "statefulsets", "daemonsets"];

/// What one scenario run measured.
#[derive(Debug, Clone)]
pub struct ScenarioReport {
    /// The scenario.
    pub scenario: Scenario,
    /// How long changes were driven.
    pub duration: Duration,
    /// Successful source updates the harness made.
    pub updates: u64,
    /// The journal/template accounting.
    pub accounting: Accounting,
    /// PATCHes of workloads committed during the drive (metadata-only writes included).
    pub workload_patches: u64,
    /// Increase of `reloader_reload_executed_total{success="true"}` over the drive.
    pub executed_metric: Option<f64>,
    /// The reloader's requests during the drive, by verb.
    pub reloader_requests: BTreeMap<String, u64>,
    /// RSS and CPU of the reloader process during the drive.
    pub usage: Usage,
}

/// Runs `scenario` for `duration` with the binaries in `bin_dir`, using `work` as scratch
/// space (kubeconfig, reloader log).
pub async fn run_scenario(
    bin_dir: &Path,
    work: &Path,
    scenario: Scenario,
    duration: Duration,
) -> anyhow::Result<ScenarioReport> {
    std::fs::create_dir_all(work)?;
    let kubeconfig = work.join("kubeconfig.yaml");
    let sim = SimProcess::start(bin_dir, &kubeconfig).await?;
    let client = client(&kubeconfig).await?;
    let references = scenario.setup(&client).await?;
    let reloader = ReloaderProcess::start(
        bin_dir,
        &kubeconfig,
        &work.join(format!("reloader-{}.log", scenario.id())),
    )
    .await?;
    // Let the start-up writes (metadata baselines) settle before the drive starts.
    wait_for_quiet(&sim.addr, Duration::from_secs(1), Duration::from_secs(30)).await?;
    let (start, start_rv) = snapshot(&client, references).await?;
    let executed_before = executed(&reloader.http_addr).await;
    http(&sim.addr, "POST", "/_sim/stats/reset").await?;
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let sampler = reloader.pid().map(|pid| tokio::spawn(sample_usage(pid, stopped)));

    let updates = scenario.drive(&client, duration).await;
    wait_for_quiet(&sim.addr, Duration::from_secs(2), Duration::from_secs(120)).await?;

    let _ = stop.send(());
    let usage = match sampler {
        Some(task) => task.await.unwrap_or_default(),
        None => Usage::default(),
    };
    let reloader_requests = reloader_requests(&sim.addr).await?;
    let executed_metric = match (executed_before, executed(&reloader.http_addr).await) {
        (Some(before), Some(after)) => Some(after - before),
        _ => None,
    };
    let writes = journal(&sim.addr, start_rv).await?;
    let workload_patches = writes
        .iter()
        .filter(|w| w.verb == "patch" && WORKLOAD_RESOURCES.contains(&w.resource.as_str()))
        .count() as u64;
    let observed = observe(&client, start, start_rv, &writes).await?;
    reloader.kill().await;
    sim.stop().await;
    Ok(ScenarioReport {
        scenario,
        duration,
        updates,
        accounting: account(&observed),
        workload_patches,
        executed_metric,
        reloader_requests,
        usage,
    })
}

/// A scratch directory for one harness run.
pub fn scratch_dir() -> PathBuf {
    std::env::temp_dir().join(format!("loadtest-{}", std::process::id()))
}

async fn client(kubeconfig: &Path) -> anyhow::Result<Client> {
    let kubeconfig = Kubeconfig::read_from(kubeconfig)?;
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
    config
        .headers
        .push((USER_AGENT, HeaderValue::from_static(HARNESS_AGENT)));
    Ok(Client::try_from(config)?)
}

async fn executed(reloader: &str) -> Option<f64> {
    let (_, body) = http(reloader, "GET", "/metrics").await.ok()?;
    counter(&body, "reloader_reload_executed_total", "success=\"true\"")
}

/// Requests since the last stats reset that did not come from the harness, by verb.
async fn reloader_requests(sim: &str) -> anyhow::Result<BTreeMap<String, u64>> {
    let (_, body) = http(sim, "GET", "/_sim/stats").await?;
    let stats: serde_json::Value = serde_json::from_str(&body)?;
    let mut by_verb = BTreeMap::new();
    for row in stats
        .get("requests")
        .and_then(|r| r.as_array())
        .into_iter()
        .flatten()
    {
        if row.get("user_agent").and_then(|u| u.as_str()) == Some(HARNESS_AGENT) {
            continue;
        }
        if let (Some(verb), Some(count)) = (
            row.get("verb").and_then(|v| v.as_str()),
            row.get("count").and_then(serde_json::Value::as_u64),
        ) {
            *by_verb.entry(verb.to_owned()).or_default() += count;
        }
    }
    Ok(by_verb)
}
