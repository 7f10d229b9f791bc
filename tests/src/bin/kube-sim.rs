//! `kube-sim`: a standalone Kubernetes API simulator for tests, benches and demos.
//!
//! ```text
//! kube-sim --listen 127.0.0.1:0 --kubeconfig /tmp/kube-sim.yaml [--seed-file objects.yaml]
//! ```
//! Prints `listening on http://127.0.0.1:PORT` as its first stdout line and serves until
//! SIGINT/SIGTERM. Admin endpoints for fault injection are under `/_sim/` (see `sim::admin`).

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use reload_tests::sim::{Rule, Simulator, fixtures};

#[derive(Debug, Parser)]
#[command(name = "kube-sim", about = "Kubernetes API simulator")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Write a kubeconfig for the server here.
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Multi-document YAML of objects to create at start.
    #[arg(long)]
    seed_file: Option<PathBuf>,
    /// Serve without the custom kinds (Rollout, SecretProviderClass, ...).
    #[arg(long)]
    no_custom_kinds: bool,
    /// `TOKEN=USER=FILE`: a bearer token for USER with the rules of the Role/ClusterRole YAML FILE.
    #[arg(long = "token")]
    tokens: Vec<String>,
    /// Watch history retained for replay, in events.
    #[arg(long, default_value_t = 10_000)]
    history: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut config = Simulator::config()
        .listen(args.listen)
        .custom_kinds(!args.no_custom_kinds)
        .history_limit(args.history);
    for spec in &args.tokens {
        let mut parts = spec.splitn(3, '=');
        let (Some(token), Some(user), Some(file)) = (parts.next(), parts.next(), parts.next()) else {
            anyhow::bail!("--token expects TOKEN=USER=FILE, got {spec}");
        };
        let yaml = std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?;
        let rules = Rule::from_yaml(&yaml).map_err(|e| anyhow::anyhow!("{file}: {}", e.message))?;
        config = config.token(token, user, rules);
    }
    let sim = config.start().await?;
    if let Some(path) = &args.seed_file {
        let yaml = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        for doc in fixtures::parse_yaml_documents(&yaml)? {
            sim.seed(doc)?;
        }
    }
    if let Some(path) = &args.kubeconfig {
        sim.write_kubeconfig(path)?;
    }
    // Handlers first: a signal sent right after the "listening" line must stop us cleanly.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let mut out = std::io::stdout();
    writeln!(out, "listening on {}", sim.url())?;
    out.flush()?;
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
    sim.shutdown().await;
    Ok(())
}
