//! Maximum throughput: the change rate is stepped (e.g. 250 … 4,000 ConfigMap changes/s, each
//! affecting one Deployment) and each step is judged like a scenario. The highest step at
//! which p99 change→rollout latency is under 50 ms, no change is lost, duplicated or coalesced,
//! and the harness reached at least 90 % of the rate, is the controller's maximum.
//!
//! Each step runs on a fresh simulator and controller. The harness writes each change as one
//! merge PATCH of the ConfigMap's data (not upstream's GET + UPDATE, which would halve the rate
//! the harness itself can offer), in batches every 10 ms.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use tokio::time::MissedTickBehavior;

use super::accounting::{Accounting, account};
use super::collect::{journal, observe, snapshot, wait_for_quiet};
use super::procs::{ReloaderProcess, SimProcess, Usage, http};
use super::run::{RunOptions, client, floor_map};
use super::scenarios::NAMESPACE;
use super::scenarios::objects::{
    References, SourceId, WorkloadSpec, create_config_map, create_namespace, simple_pod_spec,
};
use super::stats::percentile;

/// ConfigMaps (each referenced by one Deployment) the changes go round.
pub const POOL: usize = 500;

/// The latency bound of a passing step, milliseconds.
pub const P99_LIMIT_MS: f64 = 50.0;

/// One step of the throughput run.
#[derive(Debug, Clone)]
pub struct Step {
    /// `reloader` or `floor`.
    pub controller: &'static str,
    /// Offered rate, changes per second.
    pub target_rate: u64,
    /// Changes committed per second of drive.
    pub achieved_rate: f64,
    /// The accounting of the step.
    pub accounting: Accounting,
    /// Usage of the controller during the drive (not sampled: CPU from `/proc` totals).
    pub usage: Usage,
}

impl Step {
    /// Change → rollout latency percentile `q`, milliseconds.
    #[expect(clippy::cast_precision_loss, reason = "nanosecond latencies far below 2^52")]
    pub fn latency_ms(&self, q: f64) -> Option<f64> {
        percentile(&self.accounting.latencies_nanos, q).map(|n| n as f64 / 1e6)
    }

    /// True when the step met the bar: p99 < 50 ms, exact, nothing coalesced, ≥ 90 % of the rate.
    #[expect(clippy::cast_precision_loss, reason = "rates far below 2^52")]
    pub fn passed(&self) -> bool {
        self.accounting.is_exact()
            && self.accounting.coalesced == 0
            && self.accounting.rollouts > 0
            && self.latency_ms(0.99).is_some_and(|p| p < P99_LIMIT_MS)
            && self.achieved_rate >= 0.9 * self.target_rate as f64
    }

    /// The step as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "controller": self.controller,
            "target_rate": self.target_rate,
            "achieved_rate": self.achieved_rate,
            "rollouts": self.accounting.rollouts,
            "expected": self.accounting.expected,
            "lost": self.accounting.lost,
            "duplicated": self.accounting.duplicated,
            "coalesced": self.accounting.coalesced,
            "latency_ms": { "p50": self.latency_ms(0.5), "p99": self.latency_ms(0.99) },
            "cpu_cores_avg": self.usage.avg_cpu_cores,
            "passed": self.passed(),
        })
    }
}

/// Runs one step at `rate` changes/s for `duration`.
pub async fn run_step(
    bin_dir: &Path,
    work: &Path,
    rate: u64,
    duration: Duration,
    options: &RunOptions,
) -> anyhow::Result<Step> {
    std::fs::create_dir_all(work)?;
    let kubeconfig = work.join("kubeconfig.yaml");
    let sim = SimProcess::start(bin_dir, &kubeconfig).await?;
    let client = client(&kubeconfig).await?;
    let references = setup(&client).await?;
    let log = work.join("controller.log");
    let controller = if options.floor {
        let map = work.join("floor-map.json");
        std::fs::write(&map, serde_json::to_vec(&floor_map(&references))?)?;
        ReloaderProcess::start_floor(bin_dir, &kubeconfig, &log, &map).await?
    } else {
        ReloaderProcess::start(bin_dir, &kubeconfig, &log, &options.reloader_args).await?
    };
    wait_for_quiet(&sim.addr, Duration::from_secs(1), Duration::from_secs(60)).await?;
    let keys = references
        .iter()
        .map(|(w, sources)| (w.clone(), sources.iter().map(SourceId::key).collect()))
        .collect();
    let (start, start_rv) = snapshot(&client, keys).await?;
    http(&sim.addr, "POST", "/_sim/stats/reset").await?;
    let cpu_before = controller.pid().and_then(cpu_seconds);
    let started = Instant::now();
    let changes = drive(&client, rate, duration).await;
    let drive_secs = started.elapsed().as_secs_f64();
    wait_for_quiet(&sim.addr, Duration::from_secs(2), Duration::from_secs(180)).await?;
    let wall = started.elapsed().as_secs_f64();
    let cpu_after = controller.pid().and_then(cpu_seconds);
    let writes = journal(&sim.addr, start_rv).await?;
    let observed = observe(&client, start, start_rv, &writes).await?;
    controller.kill().await;
    sim.stop().await;
    #[expect(clippy::cast_precision_loss, reason = "change counts far below 2^52")]
    let achieved_rate = changes as f64 / drive_secs.max(f64::EPSILON);
    let avg_cpu_cores = cpu_before.zip(cpu_after).map_or(0.0, |(b, a)| (a - b) / wall);
    Ok(Step {
        controller: if options.floor { "floor" } else { "reloader" },
        target_rate: rate,
        achieved_rate,
        accounting: account(&observed),
        usage: Usage {
            avg_cpu_cores,
            ..Usage::default()
        },
    })
}

/// User + system CPU seconds of `pid` so far.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let ticks = u32::try_from(super::stats::cpu_ticks(&stat)?).ok()?;
    Some(f64::from(ticks) / 100.0)
}

/// [`POOL`] ConfigMaps `tp-cm-<i>` and Deployments `tp-deploy-<i>` (1:1), 16 creates in flight.
async fn setup(client: &Client) -> anyhow::Result<References> {
    create_namespace(client, NAMESPACE).await?;
    let created: Vec<anyhow::Result<(String, SourceId)>> = futures::stream::iter(0..POOL)
        .map(|i| async move {
            let cm = SourceId::config_map(NAMESPACE, &format!("tp-cm-{i}"));
            create_config_map(client, NAMESPACE, &cm.name, json!({ "key": "initial" })).await?;
            let name = format!("tp-deploy-{i}");
            let key = WorkloadSpec::deployment(NAMESPACE, &name, simple_pod_spec(&[&cm]))
                .create(client)
                .await?;
            Ok((key, cm))
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let mut refs = References::new();
    for result in created {
        let (key, cm) = result?;
        refs.insert(key, vec![cm]);
    }
    Ok(refs)
}

/// Offers `rate` changes/s for `duration`: every 10 ms a batch of the merge PATCHes due,
/// round-robin over the pool, at most 512 in flight. Returns the changes committed.
async fn drive(client: &Client, rate: u64, duration: Duration) -> u64 {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), NAMESPACE);
    let in_flight = Arc::new(tokio::sync::Semaphore::new(512));
    let mut tasks = tokio::task::JoinSet::new();
    let mut ticker = tokio::time::interval(Duration::from_millis(10));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let deadline = Instant::now() + duration;
    let mut n: u64 = 0;
    let mut ticks: u64 = 0;
    let mut done = 0;
    while Instant::now() < deadline {
        ticker.tick().await;
        ticks += 1;
        // Whole changes due by this tick (250/s is 2 or 3 per tick, not 2).
        let due = rate * ticks / 100;
        while n < due {
            n += 1;
            let Ok(permit) = in_flight.clone().acquire_owned().await else {
                break;
            };
            let api = api.clone();
            #[expect(clippy::cast_possible_truncation, reason = "n modulo a small pool")]
            let name = format!("tp-cm-{}", (n % POOL as u64) as usize);
            tasks.spawn(async move {
                let body = json!({ "data": { "key": format!("change-{n}") } });
                let ok = api
                    .patch(&name, &PatchParams::default(), &Patch::Merge(&body))
                    .await
                    .is_ok();
                drop(permit);
                ok
            });
        }
        while let Some(result) = tasks.try_join_next() {
            done += u64::from(result.unwrap_or(false));
        }
    }
    while let Some(result) = tasks.join_next().await {
        done += u64::from(result.unwrap_or(false));
    }
    done
}

/// The markdown table of `steps`.
pub fn to_markdown(steps: &[Step]) -> String {
    use std::fmt::Write as _;
    let mut out = String::from(
        "| controller | offered changes/s | achieved changes/s | rollouts / expected | lost | dup | coalesced | latency p50 / p99 ms | CPU avg cores | passed |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for s in steps {
        let ms = |q| {
            s.latency_ms(q)
                .map_or_else(|| "–".to_owned(), |v| format!("{v:.1}"))
        };
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} | {} / {} | {} | {} | {} | {} / {} | {:.2} | {} |",
            s.controller,
            s.target_rate,
            s.achieved_rate,
            s.accounting.rollouts,
            s.accounting.expected,
            s.accounting.lost,
            s.accounting.duplicated,
            s.accounting.coalesced,
            ms(0.5),
            ms(0.99),
            s.usage.avg_cpu_cores,
            if s.passed() { "yes" } else { "no" },
        );
    }
    for controller in ["reloader", "floor"] {
        let best = steps
            .iter()
            .filter(|s| s.controller == controller && s.passed())
            .map(|s| s.target_rate)
            .max();
        if steps.iter().any(|s| s.controller == controller) {
            let _ = writeln!(
                out,
                "\nMax throughput ({controller}): {}",
                best.map_or_else(|| "no step passed".to_owned(), |r| format!("{r} changes/s"))
            );
        }
    }
    out
}
