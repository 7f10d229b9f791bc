//! The Helm chart and kustomize base tests (`deploy/tests`, Python `unittest` on the real Helm
//! SDK), run as part of `cargo test --release --workspace` so CI needs no second entry point.
//!
//! Installs `helm-python-sdk` and PyYAML with pip when `helm_python` cannot be imported, builds
//! the release binaries (the suite runs `reloader config` on the rendered args, and server-side
//! dry-runs the rendered objects with `kubectl` against a `kube-sim` process), then runs
//! `python3 -m unittest discover -s deploy/tests -v` from the repository root.

mod python_support;

use std::process::Command;

use python_support::{ensure_python_packages, report, run};
use reload_tests::binaries::{reloader_path, repo_root};

#[test]
fn chart_and_kustomize_suites_pass_with_the_real_helm_sdk() {
    let root = repo_root();
    ensure_python_packages(&root);
    let reloader = reloader_path().unwrap_or_else(|error| panic!("{error}"));
    // Built by the same `cargo test --no-run` as `reloader` (a bin of the tests package).
    let kube_sim = reloader.with_file_name("kube-sim");
    let output = run(Command::new("python3")
        .args(["-m", "unittest", "discover", "-s", "deploy/tests", "-v"])
        .env("RELOADER_BIN", &reloader)
        .env("KUBE_SIM_BIN", &kube_sim)
        .current_dir(&root));
    let text = report(&output);
    println!("{text}");
    assert!(output.status.success(), "deploy/tests failed:\n{text}");
}
