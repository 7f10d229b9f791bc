//! The simulator process-in-a-task: configuration, shared state, start, restart and shutdown.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::auth::{Authorizer, Rule};
use super::conn::KillableListener;
use super::error::{ApiError, ApiResult};
use super::faults::{FailureRule, Faults};
use super::journal::JournalEntry;
use super::kinds::{ResourceKind, served_kinds};
use super::stats::{Stats, StatsSnapshot};
use super::store::Store;

/// Errors starting or controlling the simulator.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Binding or serving the listener failed.
    #[error("simulator listener on {addr}: {source}")]
    Listen {
        /// Address tried.
        addr: SocketAddr,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Building the kube client failed.
    #[error("building a kube client for the simulator: {0}")]
    Client(#[source] Box<kube::Error>),
    /// Writing the kubeconfig failed.
    #[error("writing kubeconfig {path}: {source}")]
    Kubeconfig {
        /// File written.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A seed object was rejected.
    #[error("seeding object: {0}")]
    Seed(#[source] ApiError),
}

/// Simulator configuration (builder).
#[derive(Debug, Clone)]
pub struct SimConfig {
    listen: SocketAddr,
    custom_kinds: bool,
    history_limit: usize,
    bookmark_interval: Duration,
    authorizer: Authorizer,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            custom_kinds: true,
            history_limit: 10_000,
            bookmark_interval: Duration::from_secs(1),
            authorizer: Authorizer::default(),
        }
    }
}

impl SimConfig {
    /// Address to listen on (default `127.0.0.1:0`).
    #[must_use]
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Serve the custom kinds (Rollout, SecretProviderClass(PodStatus)); default true.
    #[must_use]
    pub fn custom_kinds(mut self, on: bool) -> Self {
        self.custom_kinds = on;
        self
    }

    /// How many change events are retained for watch replay (default 10 000).
    #[must_use]
    pub fn history_limit(mut self, events: usize) -> Self {
        self.history_limit = events;
        self
    }

    /// Interval between BOOKMARK events on watches that allow them (default 1 s).
    #[must_use]
    pub fn bookmark_interval(mut self, interval: Duration) -> Self {
        self.bookmark_interval = interval;
        self
    }

    /// Registers a bearer token for `user` with `rules` (see [`Rule::from_yaml`]).
    #[must_use]
    pub fn token(mut self, token: &str, user: &str, rules: Vec<Rule>) -> Self {
        self.authorizer.add(token, user, rules);
        self
    }

    /// Starts a simulator with this configuration.
    pub async fn start(self) -> Result<Simulator, SimError> {
        Simulator::start_with(self).await
    }
}

struct Running {
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

/// State shared by every request handler.
pub struct SimState {
    /// Served kinds, indexed by [`super::store::KindId`].
    pub kinds: Arc<[ResourceKind]>,
    store: Mutex<Store>,
    /// Request counters.
    pub stats: Arc<Stats>,
    /// Injected faults.
    pub faults: Faults,
    /// Token table.
    pub authorizer: RwLock<Authorizer>,
    /// Interval between watch bookmarks.
    pub bookmark_interval: Duration,
    watch_close: Mutex<CancellationToken>,
    watch_abort: Mutex<CancellationToken>,
    connections: Mutex<CancellationToken>,
    addr: Mutex<SocketAddr>,
    running: tokio::sync::Mutex<Option<Running>>,
}

impl SimState {
    /// Locks the store (an error only if a handler panicked while holding it).
    pub fn lock_store(&self) -> ApiResult<MutexGuard<'_, Store>> {
        self.store
            .lock()
            .map_err(|_| ApiError::new(500, "InternalError", "simulator store poisoned"))
    }

    /// Token cancelled when watches must close (injected close, restart, shutdown).
    pub fn watch_close_token(&self) -> CancellationToken {
        self.watch_close.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// Ends every open watch stream.
    pub fn close_watches(&self) {
        if let Ok(mut t) = self.watch_close.lock() {
            t.cancel();
            *t = CancellationToken::new();
        }
    }

    /// Token cancelled when watches must be cut without their final chunk.
    pub fn watch_abort_token(&self) -> CancellationToken {
        self.watch_abort.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// Cuts every open watch stream without its final chunk: the client's read of the body
    /// fails (as when the connection to a dying API server breaks) instead of ending cleanly.
    pub fn abort_watches(&self) {
        if let Ok(mut t) = self.watch_abort.lock() {
            t.cancel();
            *t = CancellationToken::new();
        }
    }

    /// Stops listening and cuts every open connection at once, mid-request or mid-watch (as
    /// a killed API server), then serves again on the same address after `window` (state
    /// kept). Meanwhile every connection attempt is refused. Returns once the server is down.
    pub async fn refuse_connections(self: &Arc<Self>, window: Duration) {
        let running = self.running.lock().await.take();
        if let Ok(t) = self.connections.lock() {
            t.cancel();
        }
        if let Some(r) = running {
            r.task.abort();
            let _ = r.task.await;
        }
        let state = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(window).await;
            if let Err(e) = state.serve(state.addr()).await {
                tracing::warn!(error = %e, "kube-sim could not serve again after refusing connections");
            }
        });
    }

    /// The address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr.lock().map(|a| *a).unwrap_or_else(|e| *e.into_inner())
    }

    async fn serve(self: &Arc<Self>, addr: SocketAddr) -> Result<(), SimError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| SimError::Listen { addr, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| SimError::Listen { addr, source })?;
        if let Ok(mut a) = self.addr.lock() {
            *a = bound;
        }
        let connections = CancellationToken::new();
        if let Ok(mut t) = self.connections.lock() {
            *t = connections.clone();
        }
        let listener = KillableListener::new(listener, connections);
        let app = axum::Router::new()
            .fallback(super::rest::handle)
            .with_state(self.clone());
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
        });
        *self.running.lock().await = Some(Running { shutdown, task });
        Ok(())
    }

    async fn stop(&self) {
        let running = self.running.lock().await.take();
        self.close_watches();
        if let Some(r) = running {
            r.shutdown.cancel();
            let abort = r.task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), r.task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }

    /// Stops serving, waits `downtime`, and serves again on the same address with state kept.
    pub async fn restart(self: &Arc<Self>, downtime: Duration) -> Result<(), SimError> {
        self.stop().await;
        tokio::time::sleep(downtime).await;
        let addr = self.addr();
        self.serve(addr).await
    }
}

/// A running Kubernetes API simulator. Dropping it stops the server and ends open watches.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use reload_tests::sim::Simulator;
/// let sim = Simulator::start().await?;
/// let client = sim.client()?;
/// let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> = kube::Api::default_namespaced(client);
/// assert!(cms.list(&Default::default()).await?.items.is_empty());
/// # Ok(()) }
/// ```
pub struct Simulator {
    state: Arc<SimState>,
}

impl Simulator {
    /// Starts a simulator with the default configuration on `127.0.0.1:0`.
    pub async fn start() -> Result<Self, SimError> {
        Self::start_with(SimConfig::default()).await
    }

    /// A configuration builder.
    pub fn config() -> SimConfig {
        SimConfig::default()
    }

    /// Starts a simulator with `config`.
    pub async fn start_with(config: SimConfig) -> Result<Self, SimError> {
        let kinds: Arc<[ResourceKind]> = served_kinds(config.custom_kinds).into();
        let state = Arc::new(SimState {
            store: Mutex::new(Store::new(kinds.clone(), config.history_limit)),
            kinds,
            stats: Arc::new(Stats::default()),
            faults: Faults::default(),
            authorizer: RwLock::new(config.authorizer),
            bookmark_interval: config.bookmark_interval,
            watch_close: Mutex::new(CancellationToken::new()),
            watch_abort: Mutex::new(CancellationToken::new()),
            connections: Mutex::new(CancellationToken::new()),
            addr: Mutex::new(config.listen),
            running: tokio::sync::Mutex::new(None),
        });
        state.serve(config.listen).await?;
        Ok(Self { state })
    }

    /// Shared state (for the HTTP layer and advanced tests).
    pub fn state(&self) -> &Arc<SimState> {
        &self.state
    }

    /// The address served.
    pub fn addr(&self) -> SocketAddr {
        self.state.addr()
    }

    /// Base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// A `kube::Config` pointing at the simulator (namespace `default`, no credentials).
    pub fn kube_config(&self) -> kube::Config {
        let uri: http::Uri = self.url().parse().unwrap_or_default();
        kube::Config::new(uri)
    }

    /// A `kube::Client` for the simulator (acts as cluster admin).
    pub fn client(&self) -> Result<kube::Client, SimError> {
        kube::Client::try_from(self.kube_config()).map_err(|e| SimError::Client(Box::new(e)))
    }

    /// A `kube::Client` authenticating with a bearer token registered in [`SimConfig::token`].
    pub fn client_with_token(&self, token: &str) -> Result<kube::Client, SimError> {
        let mut config = self.kube_config();
        config.auth_info.token = Some(token.to_string().into());
        kube::Client::try_from(config).map_err(|e| SimError::Client(Box::new(e)))
    }

    /// Writes a kubeconfig (context `kube-sim`, namespace `default`, plain http).
    pub fn write_kubeconfig(&self, path: &Path) -> Result<(), SimError> {
        std::fs::write(path, kubeconfig_yaml(&self.url())).map_err(|source| SimError::Kubeconfig {
            path: path.display().to_string(),
            source,
        })
    }

    /// Writes a kubeconfig like [`Simulator::write_kubeconfig`] whose user authenticates with
    /// `token` (register it with [`SimConfig::token`]).
    pub fn write_kubeconfig_with_token(&self, path: &Path, token: &str) -> Result<(), SimError> {
        std::fs::write(path, kubeconfig_yaml_with_token(&self.url(), token)).map_err(|source| {
            SimError::Kubeconfig {
                path: path.display().to_string(),
                source,
            }
        })
    }

    /// Creates an object as an admin would (for seeding), returning the stored object.
    pub fn seed(&self, obj: serde_json::Value) -> Result<serde_json::Value, SimError> {
        super::rest::create_object(&self.state, obj)
            .map(|o| (*o).clone())
            .map_err(SimError::Seed)
    }

    /// Request counters and open watches.
    pub fn stats(&self) -> StatsSnapshot {
        self.state.stats.snapshot()
    }

    /// Clears the request counters.
    pub fn reset_stats(&self) {
        self.state.stats.reset();
    }

    /// Committed writes with a resourceVersion greater than `since`.
    pub fn journal(&self, since: u64) -> Vec<JournalEntry> {
        self.state
            .lock_store()
            .map(|s| s.journal().since(since))
            .unwrap_or_default()
    }

    /// The latest resourceVersion.
    pub fn current_resource_version(&self) -> u64 {
        self.state
            .lock_store()
            .map(|s| s.current_rv())
            .unwrap_or_default()
    }

    /// Fault: ends every open watch stream now.
    pub fn close_watches(&self) {
        self.state.close_watches();
    }

    /// Fault: cuts every open watch stream without its final chunk (the client sees a read
    /// error, not a clean end, and re-watches).
    pub fn abort_watches(&self) {
        self.state.abort_watches();
    }

    /// Fault: the server dies and stays away for `window`: every open connection is cut at
    /// once (requests in flight get no answer, watches end without their final chunk) and
    /// every new connection is refused until it serves again on the same port, state kept.
    /// Returns once the server is down.
    pub async fn refuse_connections(&self, window: Duration) {
        self.state.refuse_connections(window).await;
    }

    /// Fault: drops retained history; a watch from an older resourceVersion gets 410 Gone.
    pub fn compact(&self) {
        if let Ok(mut s) = self.state.lock_store() {
            s.compact();
        }
    }

    /// Fault: fails the next requests matching `rule`.
    pub fn fail_next(&self, rule: FailureRule) {
        self.state.faults.fail(rule);
    }

    /// Fault: adds `latency` to every API response (zero removes it).
    pub fn set_latency(&self, latency: Duration) {
        self.state.faults.set_latency(latency);
    }

    /// Fault: adds `latency` to every API request of the authenticated `user` (a stalled or
    /// partitioned client; zero removes it). A request whose client gives up while it waits
    /// is never committed.
    pub fn set_user_latency(&self, user: &str, latency: Duration) {
        self.state.faults.set_user_latency(user, latency);
    }

    /// Removes every injected failure and latency.
    pub fn clear_faults(&self) {
        self.state.faults.clear();
    }

    /// Fault: stops the server, waits `downtime`, serves again on the same port with state kept.
    pub async fn restart(&self, downtime: Duration) -> Result<(), SimError> {
        self.state.restart(downtime).await
    }

    /// Stops the server and ends open watches.
    pub async fn shutdown(self) {
        self.state.stop().await;
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.state.close_watches();
        if let Ok(mut running) = self.state.running.try_lock()
            && let Some(r) = running.take()
        {
            r.shutdown.cancel();
        }
    }
}

/// A kubeconfig for `url`: cluster, user and context all named `kube-sim`, namespace `default`.
pub fn kubeconfig_yaml(url: &str) -> String {
    kubeconfig_with_user(url, "{}")
}

/// [`kubeconfig_yaml`] whose user sends `Authorization: Bearer <token>`.
pub fn kubeconfig_yaml_with_token(url: &str, token: &str) -> String {
    let quoted = serde_json::Value::String(token.to_string());
    kubeconfig_with_user(url, &format!("{{token: {quoted}}}"))
}

fn kubeconfig_with_user(url: &str, user: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: kube-sim
  cluster:
    server: {url}
users:
- name: kube-sim
  user: {user}
contexts:
- name: kube-sim
  context:
    cluster: kube-sim
    user: kube-sim
    namespace: default
current-context: kube-sim
preferences: {{}}
"
    )
}
