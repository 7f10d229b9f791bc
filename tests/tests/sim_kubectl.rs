//! The real `kubectl` against `kube-sim` started as a separate process.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A `kube-sim` process and its kubeconfig; killed on drop.
struct KubeSim {
    child: Child,
    kubeconfig: PathBuf,
    _dir: TempDir,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for KubeSim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn kubectl_path() -> &'static str {
    let path = "/usr/bin/kubectl";
    assert!(
        Path::new(path).exists(),
        "kubectl is missing: these tests need /usr/bin/kubectl (v1.32+), which CI has"
    );
    path
}

impl KubeSim {
    fn start(seed: Option<&str>) -> Self {
        let dir =
            std::env::temp_dir().join(format!("kube-sim-test-{}-{}", std::process::id(), rand_suffix()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let kubeconfig = dir.join("kubeconfig");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kube-sim"));
        cmd.args(["--listen", "127.0.0.1:0", "--kubeconfig"])
            .arg(&kubeconfig);
        if let Some(seed) = seed {
            let file = dir.join("seed.yaml");
            std::fs::write(&file, seed).expect("seed file");
            cmd.arg("--seed-file").arg(file);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("kube-sim starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut first = String::new();
        BufReader::new(stdout).read_line(&mut first).expect("first line");
        assert!(first.starts_with("listening on http://127.0.0.1:"), "{first}");
        Self {
            child,
            kubeconfig,
            _dir: TempDir(dir),
        }
    }

    fn kubectl(&self, args: &[&str]) -> String {
        let out = Command::new(kubectl_path())
            .env("KUBECONFIG", &self.kubeconfig)
            .args(args)
            .output()
            .expect("kubectl runs");
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn kubectl_fails(&self, args: &[&str]) -> String {
        let out = Command::new(kubectl_path())
            .env("KUBECONFIG", &self.kubeconfig)
            .args(args)
            .output()
            .expect("kubectl runs");
        assert!(!out.status.success(), "kubectl {args:?} should fail");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        serde_json::from_str(&self.kubectl(args)).expect("kubectl printed JSON")
    }
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher as _, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

const MANIFEST: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: app-config, labels: {team: a}}
data: {key: one}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {team: a}}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: nginx
        env: [{name: A, value: "1"}]
"#;

fn apply_manifest(sim: &KubeSim) {
    let dir = std::env::temp_dir().join(format!("kube-sim-manifest-{}", rand_suffix()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("m.yaml");
    std::fs::write(&file, MANIFEST).expect("manifest");
    let out = sim.kubectl(&["create", "-f", file.to_str().expect("utf-8 path")]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.contains("configmap/app-config created") && out.contains("deployment.apps/web created"),
        "{out}"
    );
}

#[test]
fn kubectl_creates_and_gets_objects_in_every_output_format() {
    let sim = KubeSim::start(None);
    apply_manifest(&sim);
    assert_eq!(
        sim.json(&["get", "configmap", "app-config", "-o", "json"])["data"]["key"],
        "one"
    );
    assert!(
        sim.kubectl(&["get", "cm", "app-config", "-o", "yaml"])
            .contains("key: one")
    );
    assert_eq!(
        sim.kubectl(&["get", "deploy", "-o", "name"]).trim(),
        "deployment.apps/web"
    );
    let all = sim.kubectl(&["get", "cm", "-A"]);
    assert!(all.contains("default") && all.contains("app-config"), "{all}");
    assert_eq!(
        sim.kubectl(&["get", "cm,deploy", "-l", "team=a", "-o", "name"])
            .lines()
            .count(),
        2
    );
    assert!(
        sim.kubectl(&["get", "cm", "-l", "team=b", "-o", "name"])
            .trim()
            .is_empty()
    );
}

#[test]
fn kubectl_create_is_validated_strictly_by_the_server() {
    let sim = KubeSim::start(None);
    let dir = std::env::temp_dir().join(format!("kube-sim-bad-{}", rand_suffix()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("bad.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad}\ndatta: {k: v}\n",
    )
    .expect("write");
    let err = sim.kubectl_fails(&["create", "-f", file.to_str().expect("utf-8 path")]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(err.contains("unknown field \"datta\""), "{err}");
}

#[test]
fn kubectl_patches_with_all_three_types_and_labels_and_annotates() {
    let sim = KubeSim::start(Some(MANIFEST));
    sim.kubectl(&[
        "patch",
        "cm",
        "app-config",
        "--type",
        "merge",
        "-p",
        r#"{"data":{"merged":"yes"}}"#,
    ]);
    sim.kubectl(&[
        "patch",
        "cm",
        "app-config",
        "--type",
        "json",
        "-p",
        r#"[{"op":"add","path":"/data/json","value":"yes"}]"#,
    ]);
    sim.kubectl(&[
        "patch",
        "deploy",
        "web",
        "--type",
        "strategic",
        "-p",
        r#"{"spec":{"template":{"metadata":{"annotations":{"s":"yes"}}}}}"#,
    ]);
    sim.kubectl(&["label", "cm", "app-config", "color=blue"]);
    sim.kubectl(&["annotate", "cm", "app-config", "note=hi"]);
    let cm = sim.json(&["get", "cm", "app-config", "-o", "json"]);
    assert_eq!(
        (cm["data"]["merged"].as_str(), cm["data"]["json"].as_str()),
        (Some("yes"), Some("yes"))
    );
    assert_eq!(cm["metadata"]["labels"]["color"], "blue");
    assert_eq!(cm["metadata"]["annotations"]["note"], "hi");
    let deploy = sim.json(&["get", "deploy", "web", "-o", "json"]);
    assert_eq!(deploy["spec"]["template"]["metadata"]["annotations"]["s"], "yes");
}

#[test]
fn kubectl_rollout_restart_bumps_the_pod_template_and_generation() {
    let sim = KubeSim::start(Some(MANIFEST));
    sim.kubectl(&["rollout", "restart", "deployment/web"]);
    let deploy = sim.json(&["get", "deploy", "web", "-o", "json"]);
    assert!(
        deploy["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
            .is_string()
    );
    assert_eq!(deploy["metadata"]["generation"], 2);
}

#[test]
fn kubectl_delete_waits_for_the_object_to_go_and_get_w_streams_changes() {
    let sim = KubeSim::start(Some(MANIFEST));
    let mut watch = Command::new(kubectl_path())
        .env("KUBECONFIG", &sim.kubeconfig)
        .args(["get", "cm", "-w", "--output-watch-events"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("kubectl get -w");
    // Read lines on a thread so a silent server fails the test after 10 s instead of hanging it.
    let stdout = watch.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = || {
        rx.recv_timeout(std::time::Duration::from_secs(10))
            .expect("kubectl printed a line within 10 s")
    };
    let header = next();
    assert!(header.starts_with("EVENT") && header.contains("NAME"), "{header}");
    let first = next();
    assert!(
        first.starts_with("ADDED") && first.contains("app-config"),
        "{first}"
    );
    sim.kubectl(&["label", "cm", "app-config", "changed=yes"]);
    let modified = next();
    assert!(
        modified.starts_with("MODIFIED") && modified.contains("app-config"),
        "{modified}"
    );
    let out = sim.kubectl(&["delete", "cm", "app-config"]);
    assert!(out.contains("deleted"), "{out}");
    let deleted = next();
    assert!(deleted.starts_with("DELETED"), "{deleted}");
    let _ = watch.kill();
    let _ = watch.wait();
    assert!(
        sim.kubectl_fails(&["get", "cm", "app-config"])
            .contains("NotFound")
    );
}

#[test]
fn kube_sim_exits_cleanly_on_sigterm() {
    let mut sim = KubeSim::start(None);
    let status = Command::new("kill")
        .args(["-TERM", &sim.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let exit = sim.child.wait().expect("kube-sim exits");
    assert!(exit.success(), "{exit:?}");
}

#[test]
fn kube_sim_serves_tokens_from_role_files_and_can_drop_custom_kinds() {
    let dir = std::env::temp_dir().join(format!("kube-sim-flags-{}", rand_suffix()));
    std::fs::create_dir_all(&dir).expect("dir");
    let role = dir.join("role.yaml");
    std::fs::write(&role, "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: ro}\nrules:\n- apiGroups: [\"\"]\n  resources: [configmaps]\n  verbs: [list]\n").expect("role");
    let kubeconfig = dir.join("kubeconfig");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kube-sim"))
        .args(["--no-custom-kinds", "--token"])
        .arg(format!("secret=reader={}", role.display()))
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .stdout(Stdio::piped())
        .spawn()
        .expect("kube-sim starts");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("first line");
    let addr = first
        .trim()
        .strip_prefix("listening on http://")
        .expect("address")
        .to_string();
    let sim = KubeSim {
        child,
        kubeconfig,
        _dir: TempDir(dir),
    };
    // kubectl does not send bearer tokens over plain http, so the token is checked with raw HTTP.
    let allowed = raw_get(&addr, "/api/v1/namespaces/default/configmaps", "secret");
    assert!(allowed.starts_with("HTTP/1.1 200"), "{allowed}");
    let denied = raw_get(&addr, "/api/v1/namespaces/default/secrets", "secret");
    assert!(
        denied.starts_with("HTTP/1.1 403") && denied.contains("reader"),
        "{denied}"
    );
    let missing = sim.kubectl_fails(&["get", "rollouts.argoproj.io"]);
    assert!(missing.contains("rollouts"), "{missing}");
}

fn raw_get(addr: &str, path: &str, token: &str) -> String {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut out = String::new();
    stream.read_to_string(&mut out).expect("read");
    out
}
