//! [`TestCluster`]: one handle for the end-to-end suites — the simulator by default, a real
//! cluster when `RELOAD_TEST_KUBECONFIG` names a kubeconfig.

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, PostParams};

use crate::sim::objects::random_suffix;
use crate::sim::{SimError, Simulator};

/// Environment variable naming a kubeconfig of a real cluster to run the suites against.
pub const KUBECONFIG_ENV: &str = "RELOAD_TEST_KUBECONFIG";

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
}

impl TestCluster {
    /// A real cluster if `RELOAD_TEST_KUBECONFIG` is set, else a fresh simulator.
    pub async fn from_env() -> Result<Self, ClusterError> {
        match std::env::var(KUBECONFIG_ENV) {
            Ok(path) if !path.is_empty() => Self::real(&path).await,
            _ => Self::simulated().await,
        }
    }

    /// A fresh simulator.
    pub async fn simulated() -> Result<Self, ClusterError> {
        let sim = Simulator::start().await?;
        let client = sim.client()?;
        Self::with_namespace(client, Some(sim)).await
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
        Self::with_namespace(client, None).await
    }

    async fn with_namespace(client: kube::Client, sim: Option<Simulator>) -> Result<Self, ClusterError> {
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
