//! Smoke run of the load harness: S1 for 5 s through the real `kube-sim` and `reloader`
//! binaries. A correctness check (every change rolled exactly once, none lost), not a timing
//! check.

use std::process::{Command, Output};

fn report(output: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn a_five_second_burst_rolls_every_change_exactly_once() {
    // `kube-sim` is built next to `reloader`: its package has integration tests too.
    let reloader = reload_tests::binaries::reloader_path().unwrap_or_else(|error| panic!("{error}"));
    let bin_dir = reloader.parent().expect("the binary lives in target/release");
    let output = Command::new(env!("CARGO_BIN_EXE_loadtest"))
        .args(["--scenario", "S1", "--duration", "5", "--json"])
        .env("LOADTEST_BIN_DIR", bin_dir)
        .output()
        .expect("loadtest runs");
    assert!(output.status.success(), "loadtest failed:\n{}", report(&output));
    let reports: serde_json::Value = serde_json::from_slice(&output.stdout).expect("loadtest prints JSON");
    let s1 = &reports["scenarios"][0];
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
