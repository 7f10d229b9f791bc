//! `reloader`: rolls Kubernetes workloads when the ConfigMaps and Secrets they use change.
#![recursion_limit = "256"] // `reloader config` renders every setting in one `serde_json::json!`

mod alerts;
mod cli;
mod compose;
mod controller;
mod explain;
mod ha;
mod hash_cmd;
mod http;
mod logging;
mod meta_info;
mod metrics;
mod observe;
mod webhook;

use std::process::ExitCode;

use clap::Parser;

/// jemalloc instead of glibc malloc: glibc keeps freed pages of the start-up lists in its
/// arenas, so resident memory grew with object size; jemalloc returns them (BENCHMARKS.md,
/// scale scenario: flat at 10× larger objects, a few MiB lower at 1×).
#[cfg(all(unix, not(target_env = "musl")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    match run(cli::Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: cli::Cli) -> anyhow::Result<()> {
    let env = |key: &str| std::env::var(key).ok();
    let run = match cli.command {
        Some(cli::Command::Config(args)) => {
            let settings = cli::settings::resolve(&args, &env)?;
            println!("{}", serde_json::to_string_pretty(&settings.to_json())?);
            return Ok(());
        }
        Some(cli::Command::Hash(args)) => return hash_cmd::run(&args),
        Some(cli::Command::Explain(args)) => return explain::run(&args),
        Some(cli::Command::Run(run)) => run,
        None => cli.run,
    };
    let settings = cli::settings::resolve(&run, &env)?;
    logging::init(settings.log_format, settings.log_level);
    for warning in &settings.warnings {
        tracing::warn!("{warning}");
    }
    tracing::info!("Starting Reloader");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(controller::run(settings))
}
