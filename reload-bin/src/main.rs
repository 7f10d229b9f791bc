//! `reloader`: rolls Kubernetes workloads when the ConfigMaps and Secrets they use change.

mod cli;

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    let run = match cli.command {
        Some(cli::Command::Run(run)) => run,
        None => cli.run,
    };
    let settings = cli::settings::resolve(&run, &|key| std::env::var(key).ok())?;
    for warning in &settings.warnings {
        eprintln!("{warning}");
    }
    anyhow::bail!("the controller loop is not wired into the binary yet (issue 6)")
}
