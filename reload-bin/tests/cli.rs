//! The real `reloader` binary's command line: Reloader's flags are accepted, bad input fails at
//! start-up with a message naming the flag, and `--help` documents every Reloader flag.

use std::process::Command;

fn reloader(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_reloader"))
        .args(args)
        .env_remove("KUBERNETES_NAMESPACE")
        .output()
        .expect("the reloader binary runs")
}

#[test]
fn config_prints_the_effective_settings_of_reloaders_flags() {
    let out = reloader(&[
        "config",
        "--reload-strategy=annotations",
        "--log-level=debug",
        "--namespaces=a,b",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("config prints JSON");
    assert_eq!(json["reloadStrategy"], "annotations");
    assert_eq!(json["logLevel"], "debug");
    assert_eq!(json["scope"]["namespaces"], serde_json::json!(["a", "b"]));
}

#[test]
fn invalid_flag_values_exit_non_zero_naming_the_flag() {
    let out = reloader(&["config", "--resources-to-ignore=configmaps,secrets"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("'resources-to-ignore' only accepts 'configmaps' or 'secrets', not both"),
        "{stderr}"
    );
}

#[test]
fn help_documents_every_reloader_flag() {
    let out = reloader(&["--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--auto-reload-all",
        "--configmap-annotation",
        "--secret-annotation",
        "--auto-annotation",
        "--ignore-annotation",
        "--configmap-auto-annotation",
        "--secret-auto-annotation",
        "--auto-search-annotation",
        "--search-match-annotation",
        "--pause-deployment-annotation",
        "--pause-deployment-time-annotation",
        "--log-format",
        "--log-level",
        "--webhook-url",
        "--resources-to-ignore",
        "--ignored-workload-types",
        "--namespaces",
        "--namespaces-to-ignore",
        "--namespace-selector",
        "--resource-label-selector",
        "--is-Argo-Rollouts",
        "--reload-strategy",
        "--reload-on-create",
        "--reload-on-delete",
        "--enable-ha",
        "--sync-after-restart",
        "--enable-pprof",
        "--pprof-addr",
        "--enable-csi-integration",
    ] {
        assert!(help.contains(flag), "--help does not mention {flag}");
    }
}

#[test]
fn namespace_selector_is_accepted_normalised_and_announced_with_reloaders_warning() {
    let config = reloader(&["config", "--namespace-selector=team:a"]);
    assert!(config.status.success());
    let stdout = String::from_utf8_lossy(&config.stdout);
    assert!(stdout.contains("\"namespaceSelector\": \"team=a\""), "{stdout}");
    assert!(
        stdout.contains(
            "namespace-selector is set, will only detect changes in namespaces with these labels: team=a."
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("not supported"), "{stdout}");
}
