//! Locating the project's binaries from test processes.
//!
//! [`reloader_path`] builds (or confirms up to date) the release `reloader` binary the way the
//! enclosing `cargo test --release --workspace` run would, and returns its path, so suites can
//! run it as a child process.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The repository root (one level above the tests package).
#[must_use]
pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map_or_else(|| manifest.to_path_buf(), Path::to_path_buf)
}

/// Environment variables cargo gives a test process that describe the tests package itself:
/// build scripts that watch them would see a changed environment and rebuild everything.
fn is_package_variable(key: &str) -> bool {
    key.starts_with("CARGO_PKG_")
        || key.starts_with("CARGO_MANIFEST_")
        || key.starts_with("CARGO_CRATE_")
        || key.starts_with("CARGO_BIN_")
        || [
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_TARGET_TMPDIR",
            "CARGO_RUSTC_CURRENT_DIR",
            "OUT_DIR",
        ]
        .contains(&key)
}

/// Builds the release binaries with `cargo test --release --workspace --no-run` and returns the
/// path of `target/release/reloader`.
///
/// `cargo test --no-run` resolves features exactly as the enclosing `cargo test --release
/// --workspace` did (a `cargo build -p reload-bin` would not, and would rebuild much of the
/// tree), so inside a workspace run this only checks fingerprints. The `reloader` binary is
/// produced because reload-bin has integration tests. The build runs once per process.
///
/// # Errors
///
/// A message with cargo's output when cargo cannot be started or the build fails.
pub fn reloader_path() -> Result<PathBuf, String> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT.get_or_init(build_reloader).clone()
}

fn build_reloader() -> Result<PathBuf, String> {
    let root = repo_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command
        .args(["test", "--release", "--workspace", "--no-run"])
        .current_dir(&root);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if is_package_variable(&key) {
            command.env_remove(key.as_ref());
        }
    }
    let output = command
        .output()
        .map_err(|error| format!("could not start {command:?}: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "building reloader failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    Ok(target.join("release").join("reloader"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_variables_are_recognised_and_others_kept() {
        assert!(is_package_variable("CARGO_PKG_NAME"));
        assert!(is_package_variable("OUT_DIR"));
        assert!(!is_package_variable("CARGO_TARGET_DIR"));
        assert!(!is_package_variable("PATH"));
    }

    #[test]
    fn repo_root_holds_the_workspace_manifest() {
        assert!(repo_root().join("Cargo.toml").is_file());
        assert!(repo_root().join("tests").join("Cargo.toml").is_file());
    }
}
