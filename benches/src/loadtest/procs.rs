//! The child processes: `kube-sim` and the real `reloader`, located next to the harness binary
//! (`target/release/`), plus a tiny loopback HTTP/1.0 client for their admin endpoints and a
//! sampler of the reloader's RSS and CPU from `/proc`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use super::stats::{cpu_ticks, rss_kib};

/// The directory holding `kube-sim` and `reloader`: `$LOADTEST_BIN_DIR`, else the harness's own
/// directory. When either binary is missing there, builds them with
/// `cargo build --release --workspace --bins` (and says so on stderr).
pub fn binary_dir() -> anyhow::Result<PathBuf> {
    let dir = match std::env::var_os("LOADTEST_BIN_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => std::env::current_exe()?
            .parent()
            .context("harness has no directory")?
            .to_path_buf(),
    };
    if !dir.join("kube-sim").is_file() || !dir.join("reloader").is_file() {
        eprintln!(
            "loadtest: kube-sim or reloader missing in {}; running cargo build --release --workspace --bins",
            dir.display()
        );
        let status = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "--release", "--workspace", "--bins"])
            .status()?;
        if !status.success() {
            bail!("cargo build --release --workspace --bins failed");
        }
    }
    Ok(dir)
}

/// A running `kube-sim`.
#[derive(Debug)]
pub struct SimProcess {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
}

impl SimProcess {
    /// Starts `kube-sim` on a free loopback port, writing its kubeconfig to `kubeconfig`.
    pub async fn start(dir: &Path, kubeconfig: &Path) -> anyhow::Result<Self> {
        Self::start_with_history(dir, kubeconfig, 10_000_000).await
    }

    /// Starts `kube-sim` keeping `history` watch events for replay (the accounting replays
    /// every write of a drive; the scale scenario needs none).
    pub async fn start_with_history(dir: &Path, kubeconfig: &Path, history: usize) -> anyhow::Result<Self> {
        let mut child = Command::new(dir.join("kube-sim"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--history",
                &history.to_string(),
                "--kubeconfig",
            ])
            .arg(kubeconfig)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting kube-sim")?;
        let stdout = child.stdout.take().context("kube-sim stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).await?;
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .with_context(|| format!("unexpected kube-sim banner {line:?}"))?
            .to_owned();
        Ok(Self { child, addr })
    }

    /// Stops the simulator.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Which controller a scenario runs against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Controller {
    /// The real `reloader` binary with upstream's load-test arguments plus these.
    Reloader(Vec<String>),
    /// The bare watch→patch loop (`bare_loop`) with this ConfigMap → workloads map file.
    Floor(PathBuf),
}

impl Controller {
    /// `reloader` or `floor`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Reloader(_) => "reloader",
            Self::Floor(_) => "floor",
        }
    }
}

/// A running controller: the `reloader` or the bare loop.
#[derive(Debug)]
pub struct ReloaderProcess {
    child: Child,
    /// `127.0.0.1:PORT` of the reloader's HTTP endpoints (empty for the bare loop).
    pub http_addr: String,
    /// Time from spawn to ready (`/ready` 200, or the bare loop's `ready` line).
    pub startup: Duration,
}

impl ReloaderProcess {
    /// Starts the reloader with upstream's load-test configuration (`--log-format=json`, default
    /// env-vars strategy, all namespaces) plus `extra` arguments against `kubeconfig`, logging
    /// to `log`; returns once it is ready.
    pub async fn start(dir: &Path, kubeconfig: &Path, log: &Path, extra: &[String]) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let http_addr = format!("127.0.0.1:{port}");
        let log = std::fs::OpenOptions::new().create(true).append(true).open(log)?;
        let started = Instant::now();
        // `LOADTEST_RELOADER_PREFIX="heaptrack -o /tmp/reloader"` runs the reloader under a
        // profiler (the sampled pid is then the profiler's).
        let prefix = std::env::var("LOADTEST_RELOADER_PREFIX").unwrap_or_default();
        let mut words = prefix.split_whitespace();
        let mut command = match words.next() {
            Some(program) => {
                let mut command = Command::new(program);
                command.args(words).arg(dir.join("reloader"));
                command
            }
            None => Command::new(dir.join("reloader")),
        };
        let child = command
            .arg("--log-format=json")
            .arg(format!("--http-addr={http_addr}"))
            .args(extra)
            .env("KUBECONFIG", kubeconfig)
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .context("starting reloader")?;
        let mut process = Self {
            child,
            http_addr,
            startup: Duration::ZERO,
        };
        process.wait_ready().await?;
        process.startup = started.elapsed();
        Ok(process)
    }

    /// Starts `controller`.
    pub async fn start_controller(
        dir: &Path,
        kubeconfig: &Path,
        log: &Path,
        controller: &Controller,
    ) -> anyhow::Result<Self> {
        match controller {
            Controller::Reloader(args) => Self::start(dir, kubeconfig, log, args).await,
            Controller::Floor(map) => Self::start_floor(dir, kubeconfig, log, map).await,
        }
    }

    /// Starts the bare loop with the ConfigMap → workloads `map`; returns once it watches.
    pub async fn start_floor(dir: &Path, kubeconfig: &Path, log: &Path, map: &Path) -> anyhow::Result<Self> {
        let started = Instant::now();
        let mut child = Command::new(dir.join("bare_loop"))
            .arg(map)
            .env("KUBECONFIG", kubeconfig)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log)?)
            .kill_on_drop(true)
            .spawn()
            .context("starting bare_loop")?;
        let stdout = child.stdout.take().context("bare_loop stdout")?;
        let mut line = String::new();
        tokio::time::timeout(
            Duration::from_secs(60),
            BufReader::new(stdout).read_line(&mut line),
        )
        .await
        .context("bare_loop not ready within 60 s")??;
        if line.trim() != "ready" {
            bail!("unexpected bare_loop banner {line:?}");
        }
        Ok(Self {
            child,
            http_addr: String::new(),
            startup: started.elapsed(),
        })
    }

    /// The process id (for `/proc`).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Ok((200, _)) = http(&self.http_addr, "GET", "/ready").await {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        bail!("reloader not ready within 120 s")
    }

    /// Kills the process at once (SIGKILL) and reaps it.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Current and peak (`VmHWM`) resident set size of process `pid`, MiB.
pub fn rss_now_and_peak_mib(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let peak = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse::<u32>().ok())?;
    let now = u32::try_from(rss_kib(&status)?).ok()?;
    Some((f64::from(now) / 1024.0, f64::from(peak) / 1024.0))
}

/// One loopback HTTP/1.0 request; returns the status code and the body.
pub async fn http(addr: &str, method: &str, path: &str) -> anyhow::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: 0\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").context("malformed HTTP response")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("malformed HTTP status line")?;
    Ok((status, body.to_owned()))
}

impl Usage {
    /// The usage of two processes that ran one after the other for `first_secs` and
    /// `second_secs` seconds.
    #[must_use]
    pub fn then(self, first_secs: f64, second: Usage, second_secs: f64) -> Usage {
        let total = (first_secs + second_secs).max(f64::EPSILON);
        let mean = |a: f64, b: f64| (a * first_secs + b * second_secs) / total;
        Usage {
            peak_rss_mib: self.peak_rss_mib.max(second.peak_rss_mib),
            avg_rss_mib: mean(self.avg_rss_mib, second.avg_rss_mib),
            avg_cpu_cores: mean(self.avg_cpu_cores, second.avg_cpu_cores),
            peak_cpu_cores: self.peak_cpu_cores.max(second.peak_cpu_cores),
        }
    }
}

/// Resource usage of a process sampled over a drive.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// Highest RSS seen, MiB.
    pub peak_rss_mib: f64,
    /// Mean RSS over the samples, MiB.
    pub avg_rss_mib: f64,
    /// CPU time over wall time for the whole drive, in cores.
    pub avg_cpu_cores: f64,
    /// Highest CPU over any one-second window, in cores.
    pub peak_cpu_cores: f64,
}

/// Samples `/proc/<pid>` every 100 ms until `stop` resolves.
pub async fn sample_usage(pid: u32, stop: tokio::sync::oneshot::Receiver<()>) -> Usage {
    let ticks_per_second = clock_ticks_per_second();
    let read = || {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        Some((rss_kib(&status)?, cpu_ticks(&stat)?))
    };
    let started = Instant::now();
    let first_ticks = read().map_or(0, |(_, t)| t);
    let (mut rss_sum, mut samples, mut peak_rss) = (0u64, 0u64, 0u64);
    let mut window = (Instant::now(), first_ticks);
    let (mut last_ticks, mut peak_cpu) = (first_ticks, 0.0f64);
    let mut interval = tokio::time::interval(Duration::from_millis(100));
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = interval.tick() => {}
        }
        let Some((rss, ticks)) = read() else { break };
        rss_sum += rss;
        samples += 1;
        peak_rss = peak_rss.max(rss);
        last_ticks = ticks;
        let elapsed = window.0.elapsed();
        if elapsed >= Duration::from_secs(1) {
            peak_cpu =
                peak_cpu.max(ticks_to_seconds(ticks - window.1, ticks_per_second) / elapsed.as_secs_f64());
            window = (Instant::now(), ticks);
        }
    }
    let wall = started.elapsed().as_secs_f64().max(f64::EPSILON);
    #[expect(clippy::cast_precision_loss, reason = "KiB counts far below 2^52")]
    let mib = |kib: u64| kib as f64 / 1024.0;
    #[expect(clippy::cast_precision_loss, reason = "sample counts far below 2^52")]
    let avg_rss_mib = if samples == 0 {
        0.0
    } else {
        mib(rss_sum) / samples as f64
    };
    let avg_cpu_cores = ticks_to_seconds(last_ticks.saturating_sub(first_ticks), ticks_per_second) / wall;
    Usage {
        peak_rss_mib: mib(peak_rss),
        avg_rss_mib,
        avg_cpu_cores,
        peak_cpu_cores: peak_cpu.max(avg_cpu_cores),
    }
}

#[expect(clippy::cast_precision_loss, reason = "tick counts far below 2^52")]
fn ticks_to_seconds(ticks: u64, per_second: u64) -> f64 {
    ticks as f64 / per_second.max(1) as f64
}

/// `getconf CLK_TCK` (100 on Linux in practice).
fn clock_ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}
