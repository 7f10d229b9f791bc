//! The Helm chart and kustomize base tests (`deploy/tests`, Python `unittest` on the real Helm
//! SDK), run as part of `cargo test --release --workspace` so CI needs no second entry point.
//!
//! Installs `helm-python-sdk` and PyYAML with pip when `helm_python` cannot be imported, builds
//! the release `reloader` binary (the suite runs `reloader config` on the rendered args), then
//! runs `python3 -m unittest discover -s deploy/tests -v` from the repository root.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests package lives one level below the repository root")
        .to_path_buf()
}

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

/// Builds (or confirms up to date) the release `reloader` binary and returns its path.
fn build_reloader(root: &Path) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command
        // `cargo test --no-run` resolves features exactly as the enclosing
        // `cargo test --release --workspace` did (a `cargo build -p reload-bin` would not, and would
        // rebuild much of the tree), so inside a workspace run this only checks fingerprints. The
        // reloader binary is produced because reload-bin has integration tests.
        .args(["test", "--release", "--workspace", "--no-run"])
        .current_dir(root);
    // Cargo gives this test process the tests package's own variables; build scripts that watch
    // them would see a changed environment and rebuild everything on each run.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_MANIFEST_")
            || key.starts_with("CARGO_CRATE_")
            || key.starts_with("CARGO_BIN_")
            || [
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "CARGO_RUSTC_CURRENT_DIR",
                "OUT_DIR",
            ]
            .contains(&key.as_ref())
        {
            command.env_remove(key.as_ref());
        }
    }
    let build = run(&mut command);
    assert!(
        build.status.success(),
        "building reloader failed:\n{}",
        report(&build)
    );
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    target.join("release").join("reloader")
}

#[test]
fn chart_and_kustomize_suites_pass_with_the_real_helm_sdk() {
    let root = repo_root();
    ensure_python_packages(&root);
    let reloader = build_reloader(&root);
    let output = run(Command::new("python3")
        .args(["-m", "unittest", "discover", "-s", "deploy/tests", "-v"])
        .env("RELOADER_BIN", &reloader)
        .current_dir(&root));
    let text = report(&output);
    println!("{text}");
    assert!(output.status.success(), "deploy/tests failed:\n{text}");
}
