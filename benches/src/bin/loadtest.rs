//! `loadtest`: upstream Reloader's load scenarios against `kube-sim` and the real `reloader`.
//!
//! ```text
//! cargo run --release --bin loadtest -- --scenario S1 --duration 60 [--json | --markdown]
//! cargo run --release --bin loadtest -- --scenario all --duration 60 --floor --markdown
//! ```
//!
//! `--floor` also runs the bare watch→patch loop (`bare_loop`) on S1, S2 and S7 (when selected)
//! and reports the reloader's latency as a ratio to it. Exits 1 when any reloader scenario lost
//! or duplicated a change (see `reload_benches::loadtest`).

use std::time::Duration;

use clap::Parser;
use reload_benches::loadtest::procs::binary_dir;
use reload_benches::loadtest::report::{floor_markdown, to_json, to_markdown, to_text};
use reload_benches::loadtest::run::{RunOptions, ScenarioReport, run_scenario, scratch_dir};
use reload_benches::loadtest::scale::{Shape, run_scale};
use reload_benches::loadtest::scenarios::Scenario;
use reload_benches::loadtest::throughput::run_step;
use reload_benches::loadtest::{scale, throughput};

/// Runs upstream Reloader's load scenarios against kube-sim and the real reloader binary.
#[derive(Debug, Parser)]
struct Args {
    /// Scenario ids (S1 … S13, comma-separated), `all`, or `none`.
    #[arg(long, default_value = "all")]
    scenario: String,
    /// Seconds of changes per scenario.
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Also run the bare loop on S1, S2 and S7 and report ratios to it.
    #[arg(long)]
    floor: bool,
    /// Step the change rate through these changes/s (e.g. `250,500,1000,2000,4000`), one affected
    /// Deployment each, for the reloader (write limit raised, see `--throughput-write-qps`) and,
    /// with `--floor`, the bare loop.
    #[arg(long, value_delimiter = ',')]
    throughput: Vec<u64>,
    /// Seconds per throughput step.
    #[arg(long, default_value_t = 5)]
    throughput_seconds: u64,
    /// `--write-qps` and `--write-burst` of the reloader in the throughput steps (its default,
    /// 100/s burst 200, would cap every step at 100 rollouts/s).
    #[arg(long, default_value_t = 100_000)]
    throughput_write_qps: u64,
    /// Run the scale scenario with every object these times larger (e.g. `1,10`).
    #[arg(long, value_delimiter = ',')]
    scale: Vec<usize>,
    /// Print JSON (one array of reports).
    #[arg(long)]
    json: bool,
    /// Print a markdown table.
    #[arg(long, conflicts_with = "json")]
    markdown: bool,
}

/// The scenarios the bare loop runs on (ConfigMap data changes only).
const FLOOR_SCENARIOS: [Scenario; 3] = [Scenario::S1, Scenario::S2, Scenario::S7];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let scenarios: Vec<Scenario> = match args.scenario.to_ascii_lowercase().as_str() {
        "all" => Scenario::ALL.to_vec(),
        "none" => Vec::new(),
        list => list
            .split(',')
            .map(|id| Scenario::parse(id.trim()).ok_or_else(|| anyhow::anyhow!("unknown scenario {id}")))
            .collect::<anyhow::Result<_>>()?,
    };
    let bin_dir = binary_dir()?;
    let scratch = scratch_dir();
    let duration = Duration::from_secs(args.duration);
    let mut reports: Vec<ScenarioReport> = Vec::new();
    let mut floors: Vec<ScenarioReport> = Vec::new();
    for scenario in scenarios {
        let mut runs = vec![RunOptions::default()];
        if args.floor && FLOOR_SCENARIOS.contains(&scenario) {
            runs.push(RunOptions {
                floor: true,
                ..RunOptions::default()
            });
        }
        for options in runs {
            let who = if options.floor { "bare loop" } else { "reloader" };
            eprintln!(
                "loadtest: running {} against the {who} for {} s",
                scenario.id(),
                args.duration
            );
            let work = scratch.join(format!("{}-{who}", scenario.id()));
            let report = run_scenario(&bin_dir, &work, scenario, duration, &options).await?;
            if !args.json && !args.markdown {
                print!("{}", to_text(&report));
            }
            if options.floor {
                floors.push(report);
            } else {
                reports.push(report);
            }
        }
    }
    let steps = throughput_steps(&args, &bin_dir, &scratch).await?;
    let mut scales = Vec::new();
    for &factor in &args.scale {
        eprintln!("loadtest: scale scenario, objects {factor}× the base size");
        let run = run_scale(
            &bin_dir,
            &scratch.join(format!("scale-{factor}")),
            Shape::ISSUE_8,
            factor,
        )
        .await?;
        eprintln!("loadtest: {}", run.to_json());
        scales.push(run);
    }
    if args.json {
        let all: Vec<_> = reports.iter().chain(&floors).map(to_json).collect();
        let out = serde_json::json!({
            "scenarios": all,
            "throughput": steps.iter().map(throughput::Step::to_json).collect::<Vec<_>>(),
            "scale": scales.iter().map(scale::ScaleReport::to_json).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        if args.markdown {
            print!("{}", to_markdown(&reports));
            if !floors.is_empty() {
                println!();
                print!("{}", to_markdown(&floors));
                println!();
                print!("{}", floor_markdown(&reports, &floors));
            }
        }
        if !steps.is_empty() {
            println!("\n{}", throughput::to_markdown(&steps));
        }
        if !scales.is_empty() {
            println!("\n{}", scale::to_markdown(&scales));
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    if reports.iter().all(|r| r.accounting.is_exact()) {
        Ok(())
    } else {
        eprintln!("loadtest: a scenario lost or duplicated a change");
        std::process::exit(1)
    }
}

/// The throughput steps of `--throughput`, reloader then (with `--floor`) bare loop per rate.
async fn throughput_steps(
    args: &Args,
    bin_dir: &std::path::Path,
    scratch: &std::path::Path,
) -> anyhow::Result<Vec<throughput::Step>> {
    let mut steps = Vec::new();
    for &rate in &args.throughput {
        let qps = args.throughput_write_qps.to_string();
        let mut runs = vec![RunOptions {
            floor: false,
            reloader_args: vec![format!("--write-qps={qps}"), format!("--write-burst={qps}")],
        }];
        if args.floor {
            runs.push(RunOptions {
                floor: true,
                ..RunOptions::default()
            });
        }
        for options in runs {
            let who = if options.floor { "bare loop" } else { "reloader" };
            eprintln!("loadtest: throughput step {rate} changes/s against the {who}");
            let work = scratch.join(format!("throughput-{rate}-{who}"));
            let step = run_step(
                bin_dir,
                &work,
                rate,
                Duration::from_secs(args.throughput_seconds),
                &options,
            )
            .await?;
            eprintln!("loadtest: {}", step.to_json());
            steps.push(step);
        }
    }
    Ok(steps)
}
