//! [`TestCluster`]: one handle for the end-to-end suites, on one of three backends:
//!
//! - the simulator (`kube-sim`), the default, or with `RELOAD_TEST_CLUSTER=sim`;
//! - the real control plane ([`crate::control_plane`]) with `RELOAD_TEST_CLUSTER=real`: one per
//!   test process, started on first use (built first if the cache lacks it) and stopped when
//!   the process exits;
//! - any cluster whose kubeconfig `RELOAD_TEST_KUBECONFIG` names.

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, PostParams};

use std::sync::OnceLock;

use crate::control_plane::config::ADMIN_USER;
use crate::control_plane::{ControlPlane, Options};
use crate::sim::objects::random_suffix;
use crate::sim::{SimError, Simulator};

/// Environment variable naming a kubeconfig of a real cluster to run the suites against.
pub const KUBECONFIG_ENV: &str = "RELOAD_TEST_KUBECONFIG";

/// Environment variable picking the backend: `sim` (default) or `real` (the control plane).
pub const BACKEND_ENV: &str = "RELOAD_TEST_CLUSTER";

/// Which API server a [`TestCluster`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The in-process simulator: no controllers, so no ReplicaSets or Pods.
    Simulator,
    /// The real control plane started by this process: controllers, scheduler, kwok pods.
    ControlPlane,
    /// A cluster named by `RELOAD_TEST_KUBECONFIG`.
    Kubeconfig,
}

impl Backend {
    /// Whether Deployments get ReplicaSets and Pods (a controller-manager runs).
    pub fn runs_pods(self) -> bool {
        !matches!(self, Backend::Simulator)
    }
}

/// The control plane shared by every test of this process, started on first use in a thread
/// of its own (so no test's runtime owns it). It is never dropped: when the process exits its
/// watchdog stops it and removes its data.
pub fn shared_control_plane() -> Result<&'static ControlPlane, String> {
    static PLANE: OnceLock<Result<ControlPlane, String>> = OnceLock::new();
    PLANE
        .get_or_init(|| {
            std::thread::spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                runtime
                    .block_on(ControlPlane::start(Options::default()))
                    .map_err(|e| format!("starting the real control plane: {e}"))
            })
            .join()
            .unwrap_or_else(|_| Err("the control plane's start-up thread panicked".into()))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Errors setting up a test cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The simulator did not start.
    #[error(transparent)]
    Simulator(#[from] SimError),
    /// The kubeconfig could not be read or used.
    #[error("kubeconfig {path}: {message}")]
    Kubeconfig {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The real control plane did not start.
    #[error("{0}")]
    ControlPlane(String),
    /// `RELOAD_TEST_CLUSTER` names no backend.
    #[error("{BACKEND_ENV}={0}: expected 'sim' or 'real'")]
    UnknownBackend(String),
    /// Creating the test namespace failed.
    #[error("creating namespace {namespace}: {source}")]
    Namespace {
        /// The namespace.
        namespace: String,
        /// Cause.
        #[source]
        source: Box<kube::Error>,
    },
}

/// A cluster for one test, with its own randomly named namespace.
pub struct TestCluster {
    client: kube::Client,
    namespace: String,
    sim: Option<Simulator>,
    plane: Option<&'static ControlPlane>,
    backend: Backend,
}

impl TestCluster {
    /// The cluster of `RELOAD_TEST_KUBECONFIG` if set, else the backend `RELOAD_TEST_CLUSTER`
    /// names (`sim`, the default, or `real`).
    pub async fn from_env() -> Result<Self, ClusterError> {
        if let Ok(path) = std::env::var(KUBECONFIG_ENV)
            && !path.is_empty()
        {
            return Self::real(&path).await;
        }
        match std::env::var(BACKEND_ENV).unwrap_or_default().as_str() {
            "" | "sim" => Self::simulated().await,
            "real" => Self::control_plane().await,
            other => Err(ClusterError::UnknownBackend(other.to_owned())),
        }
    }

    /// A fresh simulator.
    pub async fn simulated() -> Result<Self, ClusterError> {
        let sim = Simulator::start().await?;
        let client = sim.client()?;
        Self::with_namespace(client, Some(sim), None, Backend::Simulator).await
    }

    /// A namespace on this process's real control plane ([`shared_control_plane`]), whatever
    /// `RELOAD_TEST_CLUSTER` says: for the suites that prove behaviour on the real server.
    pub async fn control_plane() -> Result<Self, ClusterError> {
        let plane = shared_control_plane().map_err(ClusterError::ControlPlane)?;
        let client = plane
            .client(ADMIN_USER)
            .await
            .map_err(|e| ClusterError::ControlPlane(e.to_string()))?;
        Self::with_namespace(client, None, Some(plane), Backend::ControlPlane).await
    }

    /// A namespace on `plane`, a control plane of the test's own (for tests that kill its
    /// components).
    pub async fn on_control_plane(plane: &'static ControlPlane) -> Result<Self, ClusterError> {
        let client = plane
            .client(ADMIN_USER)
            .await
            .map_err(|e| ClusterError::ControlPlane(e.to_string()))?;
        Self::with_namespace(client, None, Some(plane), Backend::ControlPlane).await
    }

    /// The real cluster of the kubeconfig at `path`.
    pub async fn real(path: &str) -> Result<Self, ClusterError> {
        let err = |message: String| ClusterError::Kubeconfig {
            path: path.to_string(),
            message,
        };
        let kubeconfig = kube::config::Kubeconfig::read_from(path).map_err(|e| err(e.to_string()))?;
        let config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
                .await
                .map_err(|e| err(e.to_string()))?;
        let client = kube::Client::try_from(config).map_err(|e| err(e.to_string()))?;
        Self::with_namespace(client, None, None, Backend::Kubeconfig).await
    }

    async fn with_namespace(
        client: kube::Client,
        sim: Option<Simulator>,
        plane: Option<&'static ControlPlane>,
        backend: Backend,
    ) -> Result<Self, ClusterError> {
        let namespace = format!("reload-test-{}", random_suffix());
        let ns: Namespace =
            serde_json::from_value(serde_json::json!({"metadata": {"name": namespace}})).unwrap_or_default();
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .map_err(|e| ClusterError::Namespace {
                namespace: namespace.clone(),
                source: Box::new(e),
            })?;
        Ok(Self {
            client,
            namespace,
            sim,
            plane,
            backend,
        })
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// An admin kubeconfig for child processes (the `reloader` binary, kubectl): the
    /// simulator's, the control plane's admin, or `RELOAD_TEST_KUBECONFIG`'s text.
    pub fn admin_kubeconfig(&self) -> Result<String, ClusterError> {
        if let Some(sim) = &self.sim {
            return Ok(crate::sim::server::kubeconfig_yaml(&sim.url()));
        }
        if let Some(plane) = self.plane {
            return plane
                .kubeconfig(ADMIN_USER)
                .ok_or_else(|| ClusterError::ControlPlane("no admin token".into()));
        }
        let path = std::env::var(KUBECONFIG_ENV).unwrap_or_default();
        std::fs::read_to_string(&path).map_err(|e| ClusterError::Kubeconfig {
            path,
            message: e.to_string(),
        })
    }

    /// A client for the cluster.
    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    /// The test's namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The simulator, when the cluster is simulated.
    pub fn simulator(&self) -> Option<&Simulator> {
        self.sim.as_ref()
    }

    /// The simulator for a simulator-only test (fault injection); on a real cluster prints why
    /// the test is skipped and returns `None`.
    pub fn require_simulator(&self, test: &str) -> Option<&Simulator> {
        if self.sim.is_none() {
            eprintln!(
                "skipping {test}: needs the simulator's fault injection, not available on a real cluster"
            );
        }
        self.sim.as_ref()
    }

    /// Deletes the test namespace and stops the simulator.
    pub async fn teardown(self) {
        let _ = Api::<Namespace>::all(self.client.clone())
            .delete(&self.namespace, &DeleteParams::default())
            .await;
        if let Some(sim) = self.sim {
            sim.shutdown().await;
        }
    }
}
