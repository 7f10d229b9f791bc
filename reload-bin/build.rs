//! Build metadata for the meta-info ConfigMap (`buildInfo`): the `rustc` version (Reloader's
//! `goVersion`) and the git commit built from. Never fails the build: without `git` (or outside
//! a repository) the commit fields are empty; `RELOADER_COMMIT_HASH` and `RELOADER_COMMIT_TIME`
//! override them (for image builds without `.git`).

use std::process::Command;

/// The trimmed stdout of a successful command, else `None`.
fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!text.is_empty()).then_some(text)
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RELOADER_COMMIT_HASH");
    println!("cargo:rerun-if-env-changed=RELOADER_COMMIT_TIME");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let version = output(&rustc, &["--version"]).unwrap_or_default();
    println!("cargo:rustc-env=RELOADER_RUSTC_VERSION={version}");

    let hash = std::env::var("RELOADER_COMMIT_HASH")
        .ok()
        .or_else(|| output("git", &["rev-parse", "HEAD"]))
        .unwrap_or_default();
    let time = std::env::var("RELOADER_COMMIT_TIME")
        .ok()
        .or_else(|| output("git", &["log", "-1", "--format=%cI", "HEAD"]))
        .unwrap_or_default();
    let (hash, time) = if hash.is_empty() || time.is_empty() {
        (String::new(), String::new())
    } else {
        (hash, time)
    };
    println!("cargo:rustc-env=RELOADER_COMMIT_HASH={hash}");
    println!("cargo:rustc-env=RELOADER_COMMIT_TIME={time}");
    // Rebuild when the checked-out commit moves (HEAD, and the branch it points to).
    if let Some(head) = output("git", &["rev-parse", "--git-path", "HEAD"]) {
        println!("cargo:rerun-if-changed={head}");
    }
    if let Some(branch) = output("git", &["symbolic-ref", "-q", "HEAD"])
        && let Some(reference) = output("git", &["rev-parse", "--git-path", &branch])
    {
        println!("cargo:rerun-if-changed={reference}");
    }
}
