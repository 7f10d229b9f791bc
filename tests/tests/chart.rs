//! The Helm chart and kustomize base tests (`deploy/tests`, Python `unittest` on the real Helm
//! SDK), run as part of `cargo test --release --workspace` so CI needs no second entry point.
//!
//! Installs `helm-python-sdk` and PyYAML with pip when `helm_python` cannot be imported, builds
//! the release `reloader` binary (the suite runs `reloader config` on the rendered args), then
//! runs `python3 -m unittest discover -s deploy/tests -v` from the repository root.

use std::path::Path;
use std::process::{Command, Output};

use reload_tests::binaries::{reloader_path, repo_root};

fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|error| panic!("could not start {command:?}: {error}"))
}

fn report(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Imports `helm_python` and `yaml`, installing them with pip first if needed.
fn ensure_python_packages(root: &Path) {
    let probe = || {
        run(Command::new("python3")
            .args(["-c", "import helm_python, yaml"])
            .current_dir(root))
    };
    if probe().status.success() {
        return;
    }
    let install = run(Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "helm-python-sdk", "pyyaml"])
        .current_dir(root));
    assert!(
        install.status.success(),
        "the chart tests need the Python packages helm-python-sdk and pyyaml, and \
         `python3 -m pip install --quiet helm-python-sdk pyyaml` failed:\n{}",
        report(&install)
    );
    let after = probe();
    assert!(
        after.status.success(),
        "helm-python-sdk and pyyaml were installed but `import helm_python, yaml` still fails:\n{}",
        report(&after)
    );
}

#[test]
fn chart_and_kustomize_suites_pass_with_the_real_helm_sdk() {
    let root = repo_root();
    ensure_python_packages(&root);
    let reloader = reloader_path().unwrap_or_else(|error| panic!("{error}"));
    let output = run(Command::new("python3")
        .args(["-m", "unittest", "discover", "-s", "deploy/tests", "-v"])
        .env("RELOADER_BIN", &reloader)
        .current_dir(&root));
    let text = report(&output);
    println!("{text}");
    assert!(output.status.success(), "deploy/tests failed:\n{text}");
}
