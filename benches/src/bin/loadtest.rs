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
use reload_benches::loadtest::scenarios::Scenario;

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
    if args.json {
        let all: Vec<_> = reports.iter().chain(&floors).map(to_json).collect();
        println!("{}", serde_json::to_string_pretty(&all)?);
    } else if args.markdown {
        print!("{}", to_markdown(&reports));
        if !floors.is_empty() {
            println!();
            print!("{}", to_markdown(&floors));
            println!();
            print!("{}", floor_markdown(&reports, &floors));
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
