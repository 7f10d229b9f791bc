//! The real Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver,
//! kube-controller-manager, kube-scheduler and kwok with fake nodes whose pods become Ready.
//!
//! The binaries are built from pinned Go modules by `tests/control-plane/build.sh` into a cache
//! outside the clone ([`toolchain`]). [`ControlPlane::start`] generates throwaway certificates,
//! a service-account key and a token file (an admin in `system:masters`, and test users RBAC
//! grants nothing until a test binds them), starts every component in one process group
//! watched by a watchdog ([`supervisor`]), creates the kwok Nodes and returns once `/readyz` is
//! ok, the Nodes are Ready and the controller-manager has made the `default` ServiceAccount.
//! Dropping it (or killing its owner) stops everything and removes its data.

pub mod config;
pub mod pki;
pub mod supervisor;
pub mod toolchain;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, ServiceAccount};
use kube::api::{Api, PostParams};

use crate::sim::objects::random_suffix;
use config::{ADMIN_USER, Layout};
use supervisor::{SpawnError, Supervisor};
use toolchain::{Toolchain, ToolchainError};

/// The components, in start order.
pub const COMPONENTS: [&str; 5] = [
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
];

/// The test users every control plane has a token for (besides the admin). RBAC grants them
/// nothing until a test binds them.
pub const TEST_USERS: [&str; 4] = ["reloader", "reloader-standby", "tester", "stakater-reloader"];

/// How long the plane may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// What to start.
#[derive(Debug, Clone)]
pub struct Options {
    /// How many kwok nodes.
    pub nodes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self { nodes: 2 }
    }
}

/// Errors starting or driving the control plane.
#[derive(Debug, thiserror::Error)]
pub enum ControlPlaneError {
    /// The binaries could not be built.
    #[error("building the control plane: {0}")]
    Toolchain(#[from] ToolchainError),
    /// The certificates or keys could not be made.
    #[error("making the control plane's certificates: {0}")]
    Pki(#[from] pki::PkiError),
    /// A process could not be started.
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    /// A file or port could not be set up.
    #[error("setting up {what}: {source}")]
    Io {
        /// What.
        what: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A component exited while the plane was starting or running.
    #[error("{name} exited ({status}); last lines of its log:\n{log}")]
    Exited {
        /// The component.
        name: String,
        /// Its status.
        status: std::process::ExitStatus,
        /// The end of its log.
        log: String,
    },
    /// The plane did not become ready in time.
    #[error("timed out after {timeout:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        timeout: Duration,
    },
    /// A client could not be made or a request failed.
    #[error("{what}: {message}")]
    Client {
        /// What was done.
        what: String,
        /// The error.
        message: String,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ControlPlaneError {
    let what = what.into();
    move |source| ControlPlaneError::Io { what, source }
}

/// A running control plane. Dropping it stops every component and removes its data.
pub struct ControlPlane {
    supervisor: Mutex<Supervisor>,
    toolchain: Toolchain,
    layout: Layout,
    ca_pem: String,
    tokens: BTreeMap<String, String>,
    nodes: usize,
}

/// A free TCP port on 127.0.0.1 (bound, then released).
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl ControlPlane {
    /// Builds what is missing, starts every component and waits until the plane is ready.
    pub async fn start(options: Options) -> Result<Self, ControlPlaneError> {
        let toolchain = Toolchain::ensure()?;
        let data_dir = std::env::temp_dir().join(format!("reload-control-plane-{}", random_suffix()));
        std::fs::create_dir_all(&data_dir).map_err(io(format!("{}", data_dir.display())))?;
        let supervisor = Supervisor::new(&data_dir);
        let pki = pki::create(&data_dir)?;
        let port = || free_port().map_err(io("a free port on 127.0.0.1"));
        let layout = Layout {
            etcd_client_port: port()?,
            etcd_peer_port: port()?,
            apiserver_port: port()?,
            ca_cert: pki.ca_cert.clone(),
            server_cert: pki.server_cert.clone(),
            server_key: pki.server_key.clone(),
            service_account_key: pki.service_account_key.clone(),
            service_account_public_key: pki.service_account_public_key.clone(),
            admin_kubeconfig: data_dir.join("admin.kubeconfig"),
            token_file: data_dir.join("tokens.csv"),
            data_dir,
        };
        let tokens: BTreeMap<String, String> = std::iter::once(ADMIN_USER)
            .chain(TEST_USERS)
            .map(|user| {
                (
                    user.to_owned(),
                    format!("{user}-{}{}", random_suffix(), random_suffix()),
                )
            })
            .collect();
        std::fs::write(&layout.token_file, config::token_file(&tokens)).map_err(io("the token file"))?;
        let plane = Self {
            supervisor: Mutex::new(supervisor),
            toolchain,
            ca_pem: pki.ca_pem,
            layout,
            tokens,
            nodes: options.nodes,
        };
        let admin = plane.kubeconfig(ADMIN_USER).unwrap_or_default();
        std::fs::write(&plane.layout.admin_kubeconfig, admin).map_err(io("the admin kubeconfig"))?;
        for component in COMPONENTS {
            plane.start_component(component)?;
            if component == "kube-apiserver" {
                plane.wait_api_ready().await?;
            }
        }
        plane.wait_nodes_and_controllers().await?;
        Ok(plane)
    }

    fn supervisor(&self) -> MutexGuard<'_, Supervisor> {
        self.supervisor
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn args(&self, component: &str) -> Vec<String> {
        match component {
            "etcd" => config::etcd_args(&self.layout),
            "kube-apiserver" => config::apiserver_args(&self.layout),
            "kube-controller-manager" => config::controller_manager_args(&self.layout),
            "kube-scheduler" => config::scheduler_args(&self.layout),
            _ => config::kwok_args(&self.layout, &self.toolchain.kwok_stage_files()),
        }
    }

    /// Starts `component` (one of [`COMPONENTS`]); used at start and to restart it after
    /// [`Self::kill`].
    pub fn start_component(&self, component: &str) -> Result<u32, ControlPlaneError> {
        let args = self.args(component);
        let program = self.toolchain.binary(component);
        Ok(self.supervisor().spawn(component, &program, &args)?)
    }

    /// Kills `component` with SIGKILL (a crash); [`Self::start_component`] brings it back with
    /// its data (etcd keeps its data folder).
    pub fn kill(&self, component: &str) -> Result<(), ControlPlaneError> {
        self.supervisor()
            .kill(component)
            .map_err(io(format!("killing {component}")))
    }

    /// Waits until kube-apiserver answers `/readyz` with ok.
    pub async fn wait_api_ready(&self) -> Result<(), ControlPlaneError> {
        let client = self.client(ADMIN_USER).await?;
        let started = Instant::now();
        loop {
            let request =
                http::Request::get("/readyz")
                    .body(Vec::new())
                    .map_err(|e| ControlPlaneError::Client {
                        what: "building GET /readyz".into(),
                        message: e.to_string(),
                    })?;
            if let Ok(text) = client.request_text(request).await
                && text.trim() == "ok"
            {
                return Ok(());
            }
            self.check_running()?;
            if started.elapsed() > READY_TIMEOUT {
                return Err(ControlPlaneError::Timeout {
                    what: format!("kube-apiserver /readyz on {}", self.url()),
                    timeout: READY_TIMEOUT,
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn wait_nodes_and_controllers(&self) -> Result<(), ControlPlaneError> {
        let client = self.client(ADMIN_USER).await?;
        let nodes: Api<Node> = Api::all(client.clone());
        for i in 0..self.nodes {
            let node: Node =
                serde_json::from_value(config::kwok_node(&format!("kwok-node-{i}"))).map_err(|e| {
                    ControlPlaneError::Client {
                        what: "building a Node".into(),
                        message: e.to_string(),
                    }
                })?;
            nodes
                .create(&PostParams::default(), &node)
                .await
                .map_err(|e| ControlPlaneError::Client {
                    what: format!("creating Node kwok-node-{i}"),
                    message: e.to_string(),
                })?;
        }
        let accounts: Api<ServiceAccount> = Api::namespaced(client, "default");
        let started = Instant::now();
        loop {
            let ready = nodes
                .list(&Default::default())
                .await
                .map(|list| list.items.iter().filter(|n| node_is_ready(n)).count())
                .unwrap_or(0);
            let default_account = accounts.get_opt("default").await.ok().flatten().is_some();
            if ready >= self.nodes && default_account {
                return Ok(());
            }
            self.check_running()?;
            if started.elapsed() > READY_TIMEOUT {
                return Err(ControlPlaneError::Timeout {
                    what: format!(
                        "{} Ready kwok nodes ({ready} ready) and the default ServiceAccount ({})",
                        self.nodes,
                        if default_account { "made" } else { "missing" }
                    ),
                    timeout: READY_TIMEOUT,
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// An error naming the first component that has exited, with its log's end.
    pub fn check_running(&self) -> Result<(), ControlPlaneError> {
        let mut supervisor = self.supervisor();
        match supervisor.exited() {
            Some((name, status)) => Err(ControlPlaneError::Exited {
                log: supervisor.log_tail(&name, 30),
                name,
                status,
            }),
            None => Ok(()),
        }
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.layout.url()
    }

    /// The bearer token of `user` (the admin or one of [`TEST_USERS`]).
    pub fn token(&self, user: &str) -> Option<&str> {
        self.tokens.get(user).map(String::as_str)
    }

    /// A kubeconfig for `user`, or `None` for an unknown user.
    pub fn kubeconfig(&self, user: &str) -> Option<String> {
        let token = self.token(user)?;
        Some(config::kubeconfig(&self.url(), &self.ca_pem, user, token))
    }

    /// Writes `user`'s kubeconfig to `path`.
    pub fn write_kubeconfig(&self, path: &Path, user: &str) -> Result<(), ControlPlaneError> {
        let yaml = self.kubeconfig(user).ok_or_else(|| ControlPlaneError::Client {
            what: format!("a kubeconfig for {user}"),
            message: "no such test user".into(),
        })?;
        std::fs::write(path, yaml).map_err(io(format!("writing {}", path.display())))
    }

    /// A kube client authenticating as `user`.
    pub async fn client(&self, user: &str) -> Result<kube::Client, ControlPlaneError> {
        let err = |message: String| ControlPlaneError::Client {
            what: format!("a client for {user}"),
            message,
        };
        let yaml = self
            .kubeconfig(user)
            .ok_or_else(|| err("no such test user".into()))?;
        client_from_kubeconfig(&yaml).await.map_err(err)
    }

    /// The data folder (logs: `<component>.log`).
    pub fn data_dir(&self) -> &PathBuf {
        &self.layout.data_dir
    }

    /// Stops every component and removes the data folder (also done when it is dropped).
    pub fn stop(&self) {
        self.supervisor().stop();
    }
}

/// A kube client from kubeconfig YAML text.
pub async fn client_from_kubeconfig(yaml: &str) -> Result<kube::Client, String> {
    let kubeconfig = kube::config::Kubeconfig::from_yaml(yaml).map_err(|e| e.to_string())?;
    let config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
            .await
            .map_err(|e| e.to_string())?;
    kube::Client::try_from(config).map_err(|e| e.to_string())
}

/// Whether a Node's `Ready` condition is `True`.
pub fn node_is_ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}
