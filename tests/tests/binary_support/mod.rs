//! Running the real `reloader` binary as a child process against an in-process simulator:
//! launching it with a kubeconfig, collecting its output, signals, HTTP probes, and fixtures
//! and journal queries for the assertions.
#![allow(dead_code, reason = "each binary test uses a different subset")]

use std::collections::BTreeMap;
use std::future::Future;
use std::io::{BufRead as _, BufReader, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, PodTemplateSpec};
use kube::api::{Api, Patch, PatchParams};
use reload_core::hash::ReloaderHasher;
use reload_core::{Hasher, SourceContent};
use reload_tests::binaries::reloader_path;
use reload_tests::sim::{JournalEntry, Simulator};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// How long any bounded wait polls before failing.
pub const WAIT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(25);

/// A fresh path in the temporary directory, unique in this process.
pub fn temp_path(stem: &str) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("reloader-e2e-{}-{n}-{stem}", std::process::id()))
}

/// Polls `check` until it holds, for at most [`WAIT`]; panics naming `what` otherwise.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(POLL).await;
    }
    panic!("timed out after {WAIT:?} waiting for {what}");
}

/// How to start one `reloader` process.
#[derive(Clone)]
pub struct Launch {
    kubeconfig: Arc<TempFile>,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl Launch {
    /// `reloader` against `sim`, HTTP on a free loopback port, with a clean environment.
    pub fn new(sim: &Simulator) -> Self {
        let kubeconfig = temp_path("kubeconfig.yaml");
        sim.write_kubeconfig(&kubeconfig).expect("kubeconfig written");
        Launch::with_kubeconfig(kubeconfig)
    }

    /// `reloader` with the given kubeconfig file (removed when the launch and its processes are dropped).
    pub fn with_kubeconfig(kubeconfig: PathBuf) -> Self {
        Launch {
            kubeconfig: Arc::new(TempFile(kubeconfig)),
            args: vec!["--http-addr=127.0.0.1:0".to_owned()],
            env: Vec::new(),
        }
    }

    /// Adds a command-line argument.
    #[must_use]
    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_owned());
        self
    }

    /// Sets an environment variable for the child.
    #[must_use]
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Starts this launch as HA replica `pod` in namespace `reloader` (which must exist), with
    /// short leader-election timings (lease 2 s, renew deadline 1 s, retry 200 ms) so a
    /// takeover happens within the tests' waits.
    pub fn start_ha_replica(&self, pod: &str) -> Reloader {
        self.clone()
            .arg("--enable-ha")
            .arg("--leader-election-lease-duration=2s")
            .arg("--leader-election-renew-deadline=1s")
            .arg("--leader-election-retry-period=200ms")
            .env("POD_NAME", pod)
            .env("POD_NAMESPACE", "reloader")
            .start()
    }

    /// Starts the process (the environment is cleared but for `KUBECONFIG` and [`Launch::env`]).
    pub fn start(&self) -> Reloader {
        let path = reloader_path().unwrap_or_else(|error| panic!("{error}"));
        let mut command = Command::new(&path);
        command
            .args(&self.args)
            .env_clear()
            .env("KUBECONFIG", &self.kubeconfig.0)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", path.display()));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let readers = vec![
            collect(stdout, Stream::Stdout, lines.clone()),
            collect(stderr, Stream::Stderr, lines.clone()),
        ];
        Reloader {
            child,
            _kubeconfig: self.kubeconfig.clone(),
            lines,
            readers,
            exit: None,
        }
    }
}

/// A file removed when the last holder drops it.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Copies the lines of `stream` into `lines` on a thread until it closes.
fn collect(
    stream: impl Read + Send + 'static,
    from: Stream,
    lines: Arc<Mutex<Vec<(Stream, String)>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { return };
            lines.lock().expect("lines lock").push((from, line));
        }
    })
}

/// Which output stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error (where the logs go).
    Stderr,
}

/// A running `reloader`; killed when dropped.
pub struct Reloader {
    child: Child,
    _kubeconfig: Arc<TempFile>,
    lines: Arc<Mutex<Vec<(Stream, String)>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
    exit: Option<ExitStatus>,
}

impl Reloader {
    /// Every output line (stdout and stderr) so far.
    pub fn lines(&self) -> Vec<String> {
        let lines = self.lines.lock().expect("lines lock");
        lines.iter().map(|(_, line)| line.clone()).collect()
    }

    /// The standard error lines so far.
    pub fn stderr(&self) -> Vec<String> {
        let lines = self.lines.lock().expect("lines lock");
        lines
            .iter()
            .filter(|(from, _)| *from == Stream::Stderr)
            .map(|(_, line)| line.clone())
            .collect()
    }

    /// The output so far, for failure messages.
    pub fn output(&self) -> String {
        self.lines().join("\n")
    }

    /// How many output lines contain `text`.
    pub fn count(&self, text: &str) -> usize {
        self.lines().iter().filter(|l| l.contains(text)).count()
    }

    /// Waits until an output line contains `text` and returns it.
    pub async fn wait_line(&self, text: &str) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        while tokio::time::Instant::now() < deadline {
            if let Some(line) = self.lines().into_iter().find(|l| l.contains(text)) {
                return line;
            }
            tokio::time::sleep(POLL).await;
        }
        panic!(
            "no output line contains {text:?} after {WAIT:?}; output:\n{}",
            self.output()
        );
    }

    /// Waits until the caches are synced (Reloader then reconciles).
    pub async fn wait_synced(&self) {
        self.wait_line("Caches synced, reconciling").await;
    }

    /// The address the HTTP server bound (from its start-up line).
    pub async fn http_addr(&self) -> SocketAddr {
        let marker = "Serving /metrics, /live and /ready on ";
        let line = self.wait_line(marker).await;
        let rest = &line[line.find(marker).expect("marker") + marker.len()..];
        let addr: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
            .collect();
        addr.parse()
            .unwrap_or_else(|error| panic!("bad address {addr:?} in {line:?}: {error}"))
    }

    /// Sends SIGTERM.
    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Sends SIGKILL and reaps the process.
    pub fn sigkill(&mut self) {
        let _ = self.child.kill();
        self.exit = self.child.wait().ok();
    }

    /// Waits (bounded) for the process to exit and returns its status.
    pub async fn wait_exit(&mut self) -> ExitStatus {
        let deadline = tokio::time::Instant::now() + WAIT;
        while tokio::time::Instant::now() < deadline {
            if let Some(status) = self.exit {
                return status;
            }
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                self.exit = Some(status);
                for reader in self.readers.drain(..) {
                    let _ = reader.join();
                }
                return status;
            }
            tokio::time::sleep(POLL).await;
        }
        panic!(
            "reloader did not exit within {WAIT:?}; output:\n{}",
            self.output()
        );
    }

    /// SIGTERM, then waits for a clean exit.
    pub async fn stop(mut self) {
        self.sigterm();
        let status = self.wait_exit().await;
        assert!(
            status.success(),
            "reloader exited with {status}; output:\n{}",
            self.output()
        );
    }
}

impl Drop for Reloader {
    fn drop(&mut self) {
        if self.exit.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// GET `path` on `addr` over HTTP/1.0; returns the status code and body.
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .expect("request written");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("response read");
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map_or_else(String::new, |(_, body)| body.to_owned());
    (status, body)
}

// ----- fixtures -----

/// Creates namespace `ns` (if missing).
pub fn namespace(sim: &Simulator, ns: &str, labels: Value) {
    let _ = sim.seed(json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": ns, "labels": labels}}));
}

/// Creates ConfigMap `ns/name` with `data` and `labels`.
pub fn configmap(sim: &Simulator, ns: &str, name: &str, data: Value, labels: Value) {
    namespace(sim, ns, json!({}));
    sim.seed(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns, "labels": labels}, "data": data}))
        .expect("configmap seeded");
}

/// Creates Deployment `ns/name` with `reloader.stakater.com/auto: "true"` whose container `app`
/// takes ConfigMap `cm` through `envFrom`.
pub fn auto_deployment(sim: &Simulator, ns: &str, name: &str, cm: &str) {
    namespace(sim, ns, json!({}));
    sim.seed(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns,
            "annotations": {"reloader.stakater.com/auto": "true"}},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "nginx",
                    "envFrom": [{"configMapRef": {"name": cm}}]}]}
            }
        }
    }))
    .expect("deployment seeded");
}

/// A ConfigMap `ns/name` with `{"k": value}` and an auto Deployment of the same name using it.
pub fn app(sim: &Simulator, ns: &str, name: &str, value: &str) {
    configmap(sim, ns, name, json!({"k": value}), json!({}));
    auto_deployment(sim, ns, name, name);
}

/// Merge-patches a ConfigMap through the API as `kubectl edit` would.
pub async fn patch_configmap(sim: &Simulator, ns: &str, name: &str, patch: Value) {
    Api::<ConfigMap>::namespaced(sim.client().expect("client"), ns)
        .patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .expect("configmap patched");
}

/// Sets `{"k": value}` as a ConfigMap's data.
pub async fn set_value(sim: &Simulator, ns: &str, name: &str, value: &str) {
    patch_configmap(sim, ns, name, json!({"data": {"k": value}})).await;
}

/// Reloader's digest (SHA-1) of ConfigMap data `{"k": value}`.
pub fn digest_of_value(value: &str) -> String {
    let data = BTreeMap::from([("k".to_owned(), value.to_owned())]);
    ReloaderHasher
        .digest(&SourceContent::ConfigMap {
            data: &data,
            binary_data: &BTreeMap::new(),
        })
        .as_str()
        .to_owned()
}

/// `STAKATER_<NAME>_CONFIGMAP` for ConfigMap `name` (upper case, `-` and `.` as `_`).
pub fn env_var(cm: &str) -> String {
    format!(
        "STAKATER_{}_CONFIGMAP",
        cm.to_uppercase().replace(['-', '.'], "_")
    )
}

/// A Deployment read through the API.
pub async fn deployment(sim: &Simulator, ns: &str, name: &str) -> Deployment {
    Api::<Deployment>::namespaced(sim.client().expect("client"), ns)
        .get(name)
        .await
        .expect("deployment read")
}

/// A Deployment's pod template.
pub async fn template(sim: &Simulator, ns: &str, name: &str) -> PodTemplateSpec {
    deployment(sim, ns, name)
        .await
        .spec
        .expect("deployment spec")
        .template
}

/// The value of env var `var` on container `app` of a Deployment.
pub async fn env_value(sim: &Simulator, ns: &str, name: &str, var: &str) -> Option<String> {
    let template = template(sim, ns, name).await;
    template
        .spec?
        .containers
        .into_iter()
        .find(|c| c.name == "app")?
        .env?
        .into_iter()
        .find(|e| e.name == var)?
        .value
}

/// Waits until Deployment `name` (same-named ConfigMap) records `digest_of_value(value)` in
/// its `STAKATER_*` env var.
pub async fn wait_env(sim: &Simulator, ns: &str, name: &str, value: &str) {
    let want = digest_of_value(value);
    let var = env_var(name);
    eventually(&format!("{ns}/{name} to record {var}={want}"), || async {
        env_value(sim, ns, name, &var).await.as_deref() == Some(want.as_str())
    })
    .await;
}

/// Waits until the engine recorded the baseline of ConfigMap `cm` on Deployment `ns/name`.
pub async fn wait_baseline(sim: &Simulator, ns: &str, name: &str, cm: &str) {
    let key = format!("\"configmap/{cm}\"");
    eventually(&format!("the baseline of {cm} on {ns}/{name}"), || async {
        deployment(sim, ns, name)
            .await
            .metadata
            .annotations
            .unwrap_or_default()
            .get("reloader.rs/baseline")
            .is_some_and(|v| v.contains(&key))
    })
    .await;
}

/// Changes the barrier app `ns/name` to `value` and waits for its rollout: the controller has
/// processed everything it was sent before (used to count writes without sleeping).
pub async fn barrier(sim: &Simulator, ns: &str, name: &str, value: &str) {
    set_value(sim, ns, name, value).await;
    wait_env(sim, ns, name, value).await;
}

/// Writes the controller made (field manager `Reloader`) after `since`.
pub fn reloader_writes(sim: &Simulator, since: u64) -> Vec<JournalEntry> {
    sim.journal(since)
        .into_iter()
        .filter(|e| e.field_manager == "Reloader")
        .collect()
}

/// Writes to Deployment `ns/name` after `since` (by anyone but the creating seed).
pub fn deployment_writes(sim: &Simulator, since: u64, ns: &str, name: &str) -> Vec<JournalEntry> {
    sim.journal(since)
        .into_iter()
        .filter(|e| e.resource == "deployments" && e.namespace == ns && e.name == name && e.verb != "create")
        .collect()
}

/// Reloader's rollout message for an auto Deployment named like its ConfigMap.
pub fn changes_detected(ns: &str, cm: &str, deployment: &str) -> String {
    format!(
        "Changes detected in '{cm}' of type 'CONFIGMAP' in namespace '{ns}'; updated '{deployment}' of type 'Deployment' in namespace '{ns}'"
    )
}

/// Whether `time` is logrus's `2006-01-02T15:04:05Z` (UTC, seconds).
pub fn is_logrus_time(time: &str) -> bool {
    let bytes = time.as_bytes();
    bytes.len() == 20
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b'T',
            13 | 16 => *b == b':',
            19 => *b == b'Z',
            _ => b.is_ascii_digit(),
        })
}
