//! `loadtest`: upstream Reloader's load scenarios against `kube-sim` and the real `reloader`.
//!
//! ```text
//! cargo run --release --bin loadtest -- --scenario S1 --duration 60 [--json | --markdown]
//! cargo run --release --bin loadtest -- --scenario all --duration 20 --markdown
//! ```
//!
//! Exits 1 when any scenario lost or duplicated a change (see `reload_benches::loadtest`).

use std::time::Duration;

use clap::Parser;
use reload_benches::loadtest::procs::binary_dir;
use reload_benches::loadtest::report::{to_json, to_markdown, to_text};
use reload_benches::loadtest::run::{run_scenario, scratch_dir};
use reload_benches::loadtest::scenarios::Scenario;

/// Runs upstream Reloader's load scenarios against kube-sim and the real reloader binary.
#[derive(Debug, Parser)]
struct Args {
    /// Scenario id (S1, S2, S4, S7, S9, S13) or `all`.
    #[arg(long, default_value = "all")]
    scenario: String,
    /// Seconds of changes per scenario.
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Print JSON (one array of reports).
    #[arg(long)]
    json: bool,
    /// Print a markdown table.
    #[arg(long, conflicts_with = "json")]
    markdown: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let scenarios: Vec<Scenario> = if args.scenario.eq_ignore_ascii_case("all") {
        Scenario::ALL.to_vec()
    } else {
        args.scenario
            .split(',')
            .map(|id| Scenario::parse(id.trim()).ok_or_else(|| anyhow::anyhow!("unknown scenario {id}")))
            .collect::<anyhow::Result<_>>()?
    };
    let bin_dir = binary_dir()?;
    let scratch = scratch_dir();
    let mut reports = Vec::new();
    for scenario in scenarios {
        eprintln!("loadtest: running {} for {} s", scenario.id(), args.duration);
        let report = run_scenario(
            &bin_dir,
            &scratch.join(scenario.id()),
            scenario,
            Duration::from_secs(args.duration),
        )
        .await?;
        if !args.json && !args.markdown {
            print!("{}", to_text(&report));
        }
        reports.push(report);
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&reports.iter().map(to_json).collect::<Vec<_>>())?
        );
    } else if args.markdown {
        print!("{}", to_markdown(&reports));
    }
    let _ = std::fs::remove_dir_all(&scratch);
    if reports.iter().all(|r| r.accounting.is_exact()) {
        Ok(())
    } else {
        eprintln!("loadtest: a scenario lost or duplicated a change");
        std::process::exit(1)
    }
}
