//! Running the Python side of the deploy tests (`deploy/tests`, on the real Helm SDK) from Rust
//! test binaries: starting commands, reporting their output, installing the SDK when missing.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::Path;
use std::process::{Command, Output};

/// Runs `command` to completion; panics when it cannot be started.
pub fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|error| panic!("could not start {command:?}: {error}"))
}

/// The command's stdout followed by its stderr, for failure messages.
pub fn report(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Imports `helm_python` and `yaml`, installing them with pip first if needed.
pub fn ensure_python_packages(root: &Path) {
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
