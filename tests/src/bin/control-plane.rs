//! `control-plane`: the real Kubernetes control plane on 127.0.0.1 (etcd, kube-apiserver,
//! kube-controller-manager, kube-scheduler, kwok with fake nodes), built from pinned Go modules.
//!
//! ```text
//! control-plane --kubeconfig /tmp/kc.yaml [--nodes 2] [--user-kubeconfigs DIR]
//! ```
//! Builds what is missing (into `~/.cache/reload-rs/control-plane`, or `$RELOAD_CP_CACHE`),
//! starts everything, writes an admin kubeconfig and prints `listening on https://127.0.0.1:PORT`
//! as its first stdout line once `/readyz` is ok and the nodes are Ready. Serves until
//! SIGINT/SIGTERM, then stops everything and removes its data; if it is killed, a watchdog does
//! the same.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use reload_tests::control_plane::config::ADMIN_USER;
use reload_tests::control_plane::{ControlPlane, Options, TEST_USERS};

#[derive(Debug, Parser)]
#[command(
    name = "control-plane",
    about = "The real Kubernetes control plane on 127.0.0.1"
)]
struct Args {
    /// Write the admin kubeconfig here.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// How many kwok nodes.
    #[arg(long, default_value_t = 2)]
    nodes: usize,
    /// Also write `<user>.kubeconfig` here for each test user (RBAC grants them nothing until
    /// bound).
    #[arg(long)]
    user_kubeconfigs: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    // Handlers first: a signal sent right after the "listening" line must stop us cleanly.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let plane = ControlPlane::start(Options { nodes: args.nodes }).await?;
    plane.write_kubeconfig(&args.kubeconfig, ADMIN_USER)?;
    if let Some(dir) = &args.user_kubeconfigs {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for user in TEST_USERS {
            plane.write_kubeconfig(&dir.join(format!("{user}.kubeconfig")), user)?;
        }
    }
    let mut out = std::io::stdout();
    writeln!(out, "listening on {}", plane.url())?;
    out.flush()?;
    eprintln!(
        "control-plane: ready in {:.1} s ({} kwok nodes; logs in {})",
        started.elapsed().as_secs_f64(),
        args.nodes,
        plane.data_dir().display()
    );
    let mut check = tokio::time::interval(Duration::from_secs(1));
    let result = loop {
        tokio::select! {
            _ = int.recv() => break Ok(()),
            _ = term.recv() => break Ok(()),
            _ = check.tick() => {
                if let Err(e) = plane.check_running() {
                    break Err(anyhow::Error::from(e));
                }
            }
        }
    };
    plane.stop();
    result
}
