//! Smoke run of the load harness: S1 for 5 s through the real `kube-sim` and `reloader`
//! binaries. A correctness check (every change rolled exactly once, none lost), not a timing
//! check.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn report(output: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Builds (or confirms up to date) the release `kube-sim` and `reloader` binaries, as
/// `tests/tests/chart.rs` does, and returns their directory.
fn build_binaries(root: &Path) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    // `cargo test --no-run` resolves features exactly as the enclosing
    // `cargo test --release --workspace` did, so inside a workspace run this only checks
    // fingerprints; both binaries are produced because their packages have integration tests.
    command
        .args(["test", "--release", "--workspace", "--no-run"])
        .current_dir(root);
    // Cargo gives this test process the package's own variables; build scripts that watch them
    // would see a changed environment and rebuild everything.
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
    let build = command.output().expect("cargo runs");
    assert!(
        build.status.success(),
        "building the binaries failed:\n{}",
        report(&build)
    );
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    target.join("release")
}

#[test]
fn a_five_second_burst_rolls_every_change_exactly_once() {
    let bin_dir = build_binaries(&repo_root());
    let output = Command::new(env!("CARGO_BIN_EXE_loadtest"))
        .args(["--scenario", "S1", "--duration", "5", "--json"])
        .env("LOADTEST_BIN_DIR", &bin_dir)
        .output()
        .expect("loadtest runs");
    assert!(output.status.success(), "loadtest failed:\n{}", report(&output));
    let reports: serde_json::Value = serde_json::from_slice(&output.stdout).expect("loadtest prints JSON");
    let s1 = &reports[0];
    assert_eq!(s1["scenario"], "S1");
    let count = |field: &str| {
        s1[field]
            .as_u64()
            .unwrap_or_else(|| panic!("{field} missing in {s1}"))
    };
    assert!(count("data_changes") > 0, "the harness changed nothing: {s1}");
    assert_eq!(count("lost"), 0, "{s1}");
    assert_eq!(count("duplicated"), 0, "{s1}");
    assert_eq!(count("unknown_digests"), 0, "{s1}");
    assert!(count("rollouts") > 0, "{s1}");
    assert_eq!(count("rollouts"), count("expected_reloads"), "{s1}");
    assert_eq!(
        count("rollouts") + count("coalesced"),
        count("naive_expected_reloads"),
        "{s1}"
    );
    assert_eq!(
        s1["reload_executed_total"].as_f64(),
        u32::try_from(count("rollouts")).ok().map(f64::from),
        "{s1}"
    );
    let requests = &s1["reloader_requests"];
    assert_eq!(
        requests["get"].as_u64().unwrap_or(0) + requests["list"].as_u64().unwrap_or(0),
        0,
        "{s1}"
    );
    assert_eq!(s1["exact"], true);
}
