//! One scenario end to end: simulator up, objects created, controller up and ready, quiet,
//! drive, quiet again, then read back and judge.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use http::HeaderValue;
use http::header::USER_AGENT;
use k8s_openapi::api::apps::v1::Deployment;
use kube::Client;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use reload_core::SourceKind;
use reload_strategies::annotations::LAST_RELOADED_FROM;
use serde_json::{Value, json};

use super::accounting::{Accounting, account};
use super::collect::{Write, journal, observe, snapshot, wait_for_quiet};
use super::procs::{Controller, ReloaderProcess, SimProcess, Usage, http, sample_usage};
use super::scenarios::Scenario;
use super::scenarios::objects::{References, SourceId};
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
    /// `reloader` or `floor` (the bare loop).
    pub controller: &'static str,
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
    /// The controller's requests during the drive, by verb.
    pub reloader_requests: BTreeMap<String, u64>,
    /// RSS and CPU of the controller process during the drive.
    pub usage: Usage,
    /// Controller log lines at level `warning` or `error`.
    pub log_problems: u64,
    /// Scenario-specific figures (S5 churn, S6 restart, S10 split, S11 annotations, …).
    pub extra: BTreeMap<String, Value>,
}

/// How to run a scenario.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Run the bare loop instead of the reloader.
    pub floor: bool,
    /// Extra reloader arguments (after the scenario's own).
    pub reloader_args: Vec<String>,
}

/// A sampler of one controller process's usage.
struct Sampling {
    stop: tokio::sync::oneshot::Sender<()>,
    task: Option<tokio::task::JoinHandle<Usage>>,
    started: Instant,
}

impl Sampling {
    fn start(process: &ReloaderProcess) -> Self {
        let (stop, stopped) = tokio::sync::oneshot::channel();
        Self {
            stop,
            task: process.pid().map(|pid| tokio::spawn(sample_usage(pid, stopped))),
            started: Instant::now(),
        }
    }

    async fn finish(self) -> (Usage, f64) {
        let _ = self.stop.send(());
        let usage = match self.task {
            Some(task) => task.await.unwrap_or_default(),
            None => Usage::default(),
        };
        (usage, self.started.elapsed().as_secs_f64())
    }
}

/// Runs `scenario` for `duration` with the binaries in `bin_dir`, using `work` as scratch
/// space (kubeconfig, controller log, the bare loop's map).
pub async fn run_scenario(
    bin_dir: &Path,
    work: &Path,
    scenario: Scenario,
    duration: Duration,
    options: &RunOptions,
) -> anyhow::Result<ScenarioReport> {
    std::fs::create_dir_all(work)?;
    let kubeconfig = work.join("kubeconfig.yaml");
    let sim = SimProcess::start(bin_dir, &kubeconfig).await?;
    let client = client(&kubeconfig).await?;
    let references = scenario.setup(&client, duration).await?;
    let controller = if options.floor {
        let map = work.join("floor-map.json");
        std::fs::write(&map, serde_json::to_vec(&floor_map(&references))?)?;
        Controller::Floor(map)
    } else {
        let mut args: Vec<String> = scenario.reloader_args().iter().map(|a| (*a).to_owned()).collect();
        args.extend(options.reloader_args.iter().cloned());
        Controller::Reloader(args)
    };
    let log = work.join(format!("{}-{}.log", controller.name(), scenario.id()));
    let reloader = ReloaderProcess::start_controller(bin_dir, &kubeconfig, &log, &controller).await?;
    // Let the start-up writes (metadata baselines) settle before the drive starts.
    wait_for_quiet(&sim.addr, Duration::from_secs(1), Duration::from_secs(30)).await?;
    let keys = references
        .iter()
        .map(|(w, sources)| (w.clone(), sources.iter().map(SourceId::key).collect()))
        .collect();
    let (start, start_rv) = snapshot(&client, keys).await?;
    let executed_before = executed(&reloader.http_addr).await;
    http(&sim.addr, "POST", "/_sim/stats/reset").await?;
    let sampling = Sampling::start(&reloader);
    let mut extra = BTreeMap::new();

    let restart = async {
        let Some(after) = scenario.restart_after(duration) else {
            return anyhow::Ok((reloader, sampling, None));
        };
        tokio::time::sleep(after).await;
        let executed_at_kill = executed(&reloader.http_addr).await;
        reloader.kill().await;
        let (first_usage, first_secs) = sampling.finish().await;
        let restarted = ReloaderProcess::start_controller(bin_dir, &kubeconfig, &log, &controller).await?;
        let ready = restarted.startup;
        let sampling = Sampling::start(&restarted);
        Ok((
            restarted,
            sampling,
            Some((executed_at_kill, first_usage, first_secs, after, ready)),
        ))
    };
    let (updates, restart) = tokio::join!(scenario.drive(&client, duration), restart);
    let (reloader, sampling, restarted) = restart?;
    wait_for_quiet(&sim.addr, scenario.quiet_after(), Duration::from_secs(180)).await?;

    let (mut usage, secs) = sampling.finish().await;
    let executed_after = executed(&reloader.http_addr).await;
    let executed_metric = match restarted {
        None => executed_before.zip(executed_after).map(|(b, a)| a - b),
        Some((at_kill, first_usage, first_secs, after, ready)) => {
            usage = first_usage.then(first_secs, usage, secs);
            extra.insert("killed_after_s".into(), json!(after.as_secs_f64()));
            extra.insert("restart_ready_ms".into(), json!(ready.as_secs_f64() * 1e3));
            // Reloads between the last read and the SIGKILL are missing from this sum.
            executed_before
                .zip(at_kill)
                .zip(executed_after)
                .map(|((b, k), a)| k - b + a)
        }
    };
    let reloader_requests = reloader_requests(&sim.addr).await?;
    let writes = journal(&sim.addr, start_rv).await?;
    let workload_patches = writes
        .iter()
        .filter(|w| w.verb == "patch" && WORKLOAD_RESOURCES.contains(&w.resource.as_str()))
        .count() as u64;
    let observed = observe(&client, start, start_rv, &writes).await?;
    extra.extend(scenario_extra(scenario, &client, &writes).await?);
    reloader.kill().await;
    sim.stop().await;
    let accounting = account(&observed);
    if scenario == Scenario::S12 {
        extra.insert("pauses".into(), json!(accounting.pauses));
        extra.insert("pod_rollouts".into(), json!(accounting.pod_rollouts));
    }
    Ok(ScenarioReport {
        scenario,
        controller: controller.name(),
        duration,
        updates,
        accounting,
        workload_patches,
        executed_metric,
        reloader_requests,
        usage,
        log_problems: log_problems(&log),
        extra,
    })
}

/// The bare loop's map: `<namespace>/<ConfigMap>` → workload keys referencing it.
pub fn floor_map(references: &References) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (workload, sources) in references {
        for source in sources.iter().filter(|s| s.kind == SourceKind::ConfigMap) {
            map.entry(format!("{}/{}", source.namespace, source.name))
                .or_default()
                .push(workload.clone());
        }
    }
    map
}

/// Figures only some scenarios have, from the journal and the final objects.
async fn scenario_extra(
    scenario: Scenario,
    client: &Client,
    writes: &[Write],
) -> anyhow::Result<BTreeMap<String, Value>> {
    let count = |verb: &str, resource: &str| {
        writes
            .iter()
            .filter(|w| w.verb == verb && w.resource == resource)
            .count()
    };
    let mut extra = BTreeMap::new();
    match scenario {
        Scenario::S5 => {
            extra.insert(
                "deployments_created".into(),
                json!(count("create", "deployments")),
            );
            extra.insert(
                "deployments_deleted".into(),
                json!(count("delete", "deployments")),
            );
        }
        Scenario::S10 => {
            extra.insert("secret_updates".into(), json!(count("update", "secrets")));
            extra.insert("configmap_updates".into(), json!(count("update", "configmaps")));
        }
        Scenario::S11 => {
            let deployments = Api::<Deployment>::all(client.clone())
                .list(&ListParams::default())
                .await?;
            let with = deployments
                .items
                .iter()
                .filter(|d| {
                    d.spec
                        .as_ref()
                        .and_then(|s| s.template.metadata.as_ref())
                        .and_then(|m| m.annotations.as_ref())
                        .is_some_and(|a| a.contains_key(LAST_RELOADED_FROM))
                })
                .count();
            extra.insert("templates_with_last_reloaded_from".into(), json!(with));
            extra.insert("deployments".into(), json!(deployments.items.len()));
        }
        _ => {}
    }
    Ok(extra)
}

/// Log lines at level `warning` or `error` (logrus's JSON `level` field).
fn log_problems(log: &Path) -> u64 {
    std::fs::read_to_string(log).map_or(0, |text| {
        text.lines()
            .filter(|l| l.contains("\"level\":\"warning\"") || l.contains("\"level\":\"error\""))
            .count() as u64
    })
}

/// A scratch directory for one harness run.
pub fn scratch_dir() -> PathBuf {
    std::env::temp_dir().join(format!("loadtest-{}", std::process::id()))
}

/// A client of the simulator behind `kubeconfig`, identified as the harness.
pub async fn client(kubeconfig: &Path) -> anyhow::Result<Client> {
    let kubeconfig = Kubeconfig::read_from(kubeconfig)?;
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
    config
        .headers
        .push((USER_AGENT, HeaderValue::from_static(HARNESS_AGENT)));
    Ok(Client::try_from(config)?)
}

/// `reloader_reload_executed_total{success="true"}` of the reloader at `addr`.
pub async fn executed(reloader: &str) -> Option<f64> {
    if reloader.is_empty() {
        return None;
    }
    let (_, body) = http(reloader, "GET", "/metrics").await.ok()?;
    counter(&body, "reloader_reload_executed_total", "success=\"true\"")
}

/// Requests since the last stats reset that did not come from the harness, by verb.
pub async fn reloader_requests(sim: &str) -> anyhow::Result<BTreeMap<String, u64>> {
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
