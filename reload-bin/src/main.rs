//! `reloader`: rolls Kubernetes workloads when the ConfigMaps and Secrets they use change.

#[expect(
    dead_code,
    reason = "wired to the engine observer when the engine lands (issue 6)"
)]
mod alerts;
mod cli;
#[allow(
    dead_code,
    unused_imports,
    reason = "started by the controller loop when the engine lands (issue 6)"
)]
mod ha;
mod hash_cmd;
#[expect(
    dead_code,
    reason = "served by the controller once the engine lands (issue 6)"
)]
mod http;
mod logging;
#[expect(
    dead_code,
    reason = "wired to the engine observer when the engine lands (issue 6)"
)]
mod metrics;

use std::process::ExitCode;

use clap::Parser;

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
        Some(cli::Command::Run(run)) => run,
        None => cli.run,
    };
    let settings = cli::settings::resolve(&run, &env)?;
    logging::init(settings.log_format, settings.log_level);
    for warning in &settings.warnings {
        tracing::warn!("{warning}");
    }
    tracing::info!("Starting Reloader");
    anyhow::bail!("the controller loop is not wired into the binary yet (issue 6)")
}
