//! The command lines and files of one control plane: flags for each component on loopback, the
//! token file and kubeconfigs. Pure: no process is started here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The user the admin token authenticates as (group `system:masters`).
pub const ADMIN_USER: &str = "admin";

/// Ports and files every component needs.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The data folder (etcd data, logs, PKI, kubeconfigs).
    pub data_dir: PathBuf,
    /// etcd's client port.
    pub etcd_client_port: u16,
    /// etcd's peer port.
    pub etcd_peer_port: u16,
    /// kube-apiserver's secure port.
    pub apiserver_port: u16,
    /// The CA certificate.
    pub ca_cert: PathBuf,
    /// kube-apiserver's serving certificate and key.
    pub server_cert: PathBuf,
    /// kube-apiserver's serving key.
    pub server_key: PathBuf,
    /// The service-account signing key.
    pub service_account_key: PathBuf,
    /// Its public half.
    pub service_account_public_key: PathBuf,
    /// The admin kubeconfig the components use.
    pub admin_kubeconfig: PathBuf,
    /// The static token file.
    pub token_file: PathBuf,
}

impl Layout {
    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.apiserver_port)
    }
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// etcd, single member, plain HTTP on loopback.
pub fn etcd_args(layout: &Layout) -> Vec<String> {
    let client = format!("http://127.0.0.1:{}", layout.etcd_client_port);
    let peer = format!("http://127.0.0.1:{}", layout.etcd_peer_port);
    vec![
        "--name=reload-test".into(),
        format!("--data-dir={}", path(&layout.data_dir.join("etcd"))),
        format!("--listen-client-urls={client}"),
        format!("--advertise-client-urls={client}"),
        format!("--listen-peer-urls={peer}"),
        format!("--initial-advertise-peer-urls={peer}"),
        format!("--initial-cluster=reload-test={peer}"),
        "--listen-metrics-urls=".into(),
        "--log-level=warn".into(),
        "--quota-backend-bytes=4294967296".into(),
    ]
}

/// kube-apiserver on 127.0.0.1 with token authentication and the RBAC authorizer.
pub fn apiserver_args(layout: &Layout) -> Vec<String> {
    vec![
        format!("--etcd-servers=http://127.0.0.1:{}", layout.etcd_client_port),
        "--bind-address=127.0.0.1".into(),
        "--advertise-address=127.0.0.1".into(),
        // Loopback is refused as an advertised endpoint unless nothing reconciles it.
        "--endpoint-reconciler-type=none".into(),
        format!("--secure-port={}", layout.apiserver_port),
        format!("--cert-dir={}", path(&layout.data_dir.join("apiserver-certs"))),
        format!("--tls-cert-file={}", path(&layout.server_cert)),
        format!("--tls-private-key-file={}", path(&layout.server_key)),
        format!("--client-ca-file={}", path(&layout.ca_cert)),
        format!("--token-auth-file={}", path(&layout.token_file)),
        "--authorization-mode=RBAC".into(),
        "--anonymous-auth=false".into(),
        "--service-account-issuer=https://kubernetes.default.svc".into(),
        format!(
            "--service-account-key-file={}",
            path(&layout.service_account_public_key)
        ),
        format!(
            "--service-account-signing-key-file={}",
            path(&layout.service_account_key)
        ),
        "--service-cluster-ip-range=10.96.0.0/16".into(),
        "--profiling=false".into(),
        "--v=1".into(),
    ]
}

/// kube-controller-manager: no serving port, no leader election, service-account credentials.
pub fn controller_manager_args(layout: &Layout) -> Vec<String> {
    vec![
        format!("--kubeconfig={}", path(&layout.admin_kubeconfig)),
        "--secure-port=0".into(),
        "--leader-elect=false".into(),
        "--use-service-account-credentials=true".into(),
        format!(
            "--service-account-private-key-file={}",
            path(&layout.service_account_key)
        ),
        format!("--root-ca-file={}", path(&layout.ca_cert)),
        "--controllers=*".into(),
        "--concurrent-deployment-syncs=10".into(),
        "--concurrent-replicaset-syncs=10".into(),
        "--v=1".into(),
    ]
}

/// kube-scheduler: no serving port, no leader election.
pub fn scheduler_args(layout: &Layout) -> Vec<String> {
    vec![
        format!("--kubeconfig={}", path(&layout.admin_kubeconfig)),
        "--secure-port=0".into(),
        "--leader-elect=false".into(),
        "--v=1".into(),
    ]
}

/// The annotation that hands a Node to kwok.
pub const KWOK_NODE_ANNOTATION: (&str, &str) = ("kwok.x-k8s.io/node", "fake");

/// kwok, managing only the Nodes annotated [`KWOK_NODE_ANNOTATION`].
pub fn kwok_args(layout: &Layout, stage_files: &[PathBuf]) -> Vec<String> {
    let mut args = vec![
        format!("--kubeconfig={}", path(&layout.admin_kubeconfig)),
        "--manage-all-nodes=false".into(),
        format!(
            "--manage-nodes-with-annotation-selector={}={}",
            KWOK_NODE_ANNOTATION.0, KWOK_NODE_ANNOTATION.1
        ),
        "--node-lease-duration-seconds=40".into(),
    ];
    args.extend(stage_files.iter().map(|f| format!("--config={}", path(f))));
    args
}

/// The static token file: `token,user,uid,"groups"` per line; the admin is in `system:masters`,
/// the other users in no group (they get exactly what RBAC grants them).
pub fn token_file(tokens: &BTreeMap<String, String>) -> String {
    tokens
        .iter()
        .map(|(user, token)| {
            let groups = if user == ADMIN_USER { "system:masters" } else { "" };
            format!("{token},{user},{user},\"{groups}\"\n")
        })
        .collect()
}

/// A kubeconfig for `server` trusting `ca_pem`, authenticating with `token`.
pub fn kubeconfig(server: &str, ca_pem: &str, user: &str, token: &str) -> String {
    use base64::Engine as _;
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: reload-test
  cluster:
    server: {server}
    certificate-authority-data: {ca}
users:
- name: {user}
  user:
    token: {token}
contexts:
- name: reload-test
  context:
    cluster: reload-test
    user: {user}
current-context: reload-test
"
    )
}

/// A Node for kwok to run: annotated for kwok, with room for many pods.
pub fn kwok_node(name: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {KWOK_NODE_ANNOTATION.0: KWOK_NODE_ANNOTATION.1, "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "type": "kwok"}
        },
        "status": {
            "allocatable": {"cpu": "64", "memory": "256Gi", "pods": "1000"},
            "capacity": {"cpu": "64", "memory": "256Gi", "pods": "1000"},
            "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux", "kubeletVersion": "fake", "kubeProxyVersion": "fake"}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_token_is_in_system_masters_and_users_in_no_group() {
        let mut tokens = BTreeMap::new();
        tokens.insert(ADMIN_USER.to_owned(), "t0".to_owned());
        tokens.insert("reloader".to_owned(), "t1".to_owned());
        assert_eq!(
            token_file(&tokens),
            "t0,admin,admin,\"system:masters\"\nt1,reloader,reloader,\"\"\n"
        );
    }

    #[test]
    fn a_kubeconfig_names_the_server_and_the_token() {
        let yaml = kubeconfig("https://127.0.0.1:6443", "PEM", "reloader", "tok");
        let parsed: serde_yaml::Value = serde_yaml::from_str(&yaml).expect("yaml");
        assert_eq!(
            parsed["clusters"][0]["cluster"]["server"],
            "https://127.0.0.1:6443"
        );
        assert_eq!(parsed["users"][0]["user"]["token"], "tok");
        assert_eq!(parsed["current-context"], "reload-test");
    }
}
