//! Runs every example's scenario on the simulator, through the same `run` functions their
//! `main`s call, and checks what they print.

// The example files are compiled here as modules; their `main`s are not called.
#[allow(dead_code, reason = "the example's main is only used by the example binary")]
#[path = "../demo.rs"]
mod demo;

#[allow(dead_code, reason = "the example's main is only used by the example binary")]
#[path = "../custom_matcher.rs"]
mod custom_matcher;

#[allow(dead_code, reason = "the example's main is only used by the example binary")]
#[path = "../custom_strategy.rs"]
mod custom_strategy;

#[allow(dead_code, reason = "the example's main is only used by the example binary")]
#[path = "../embed_in_controller.rs"]
mod embed_in_controller;

use std::path::PathBuf;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;
use reload_tests::sim::Simulator;

fn args(list: &[&str]) -> impl Iterator<Item = String> {
    list.iter()
        .map(|s| (*s).to_owned())
        .collect::<Vec<_>>()
        .into_iter()
}

fn text(buffer: Vec<u8>) -> String {
    String::from_utf8(buffer).expect("the examples print UTF-8")
}

const RELOADER_LINE: &str = "Changes detected in 'app-config' of type 'CONFIGMAP' in namespace 'demo'; \
                             updated 'web' of type 'Deployment' in namespace 'demo'";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_prints_reloaders_log_line_the_new_env_var_and_no_reads_for_both_strategies() {
    let options = demo::Options::parse(args(&["--strategy", "both"])).expect("valid arguments");
    let mut out = Vec::new();
    demo::run(&options, &mut out).await.expect("the demo succeeds");
    let out = text(out);
    assert_eq!(
        out.matches(RELOADER_LINE).count(),
        2,
        "one line per strategy pass:\n{out}"
    );
    assert!(
        out.contains("container app env STAKATER_APP_CONFIG_CONFIGMAP="),
        "{out}"
    );
    assert!(
        out.contains("pod template annotation reloader.stakater.com/last-reloaded-from={"),
        "{out}"
    );
    assert!(
        out.contains("reloader.rs/baseline={\"configmap/app-config\":"),
        "{out}"
    );
    assert_eq!(
        out.matches("GET/LIST deployments 0, GET/LIST configmaps 0")
            .count(),
        2,
        "{out}"
    );
    assert_eq!(out.matches("rollouts of web: 1").count(), 2, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_never_prints_the_secret_value() {
    let options = demo::Options::parse(args(&[])).expect("no arguments are valid");
    let mut out = Vec::new();
    demo::run(&options, &mut out).await.expect("the demo succeeds");
    let out = text(out);
    assert!(out.contains(RELOADER_LINE), "{out}");
    assert!(!out.contains("demo-only"), "the Secret's value leaked:\n{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_against_an_explicit_kubeconfig_in_a_namespace_it_creates_and_deletes() {
    // A simulator reached only through a kubeconfig file stands in for a real cluster.
    let sim = Simulator::start().await.expect("simulator");
    let path = std::env::temp_dir().join(format!("reload-examples-kubeconfig-{}.yaml", std::process::id()));
    sim.write_kubeconfig(&path).expect("kubeconfig written");
    let options = demo::Options::parse(args(&["--kubeconfig", path.to_str().expect("a UTF-8 temp path")]))
        .expect("valid arguments");
    let mut out = Vec::new();
    let result = demo::run(&options, &mut out).await;
    let _ = std::fs::remove_file(&path);
    result.expect("the demo succeeds against the kubeconfig's server");
    let out = text(out);
    let ns = out
        .lines()
        .find_map(|line| line.strip_prefix("deleted namespace "))
        .expect("the demo reports the namespace it deleted");
    assert!(ns.starts_with("reloader-demo-"), "{ns}");
    assert!(
        out.contains(&format!(
            "Changes detected in 'app-config' of type 'CONFIGMAP' in namespace '{ns}'; updated 'web' of type 'Deployment' in namespace '{ns}'"
        )),
        "{out}"
    );
    let namespaces: Api<Namespace> = Api::all(sim.client().expect("client"));
    assert!(
        namespaces.get_opt(ns).await.expect("namespace lookup").is_none(),
        "the demo's namespace is gone"
    );
    sim.shutdown().await;
}

#[test]
fn the_demo_uses_a_cluster_only_when_given_kubeconfig_explicitly() {
    let default = demo::Options::parse(args(&[])).expect("no arguments are valid");
    assert_eq!(default.kubeconfig, None);
    assert_eq!(default.strategy, demo::Choice::EnvVars);
    let cluster = demo::Options::parse(args(&[
        "--kubeconfig",
        "/tmp/k.yaml",
        "--strategy",
        "annotations",
    ]))
    .expect("valid arguments");
    assert_eq!(cluster.kubeconfig, Some(PathBuf::from("/tmp/k.yaml")));
    assert_eq!(cluster.strategy, demo::Choice::Annotations);
}

#[test]
fn the_demo_rejects_unknown_arguments_and_strategies() {
    assert!(demo::Options::parse(args(&["--strategy", "restart"])).is_err());
    assert!(demo::Options::parse(args(&["--kubeconfig"])).is_err());
    assert!(demo::Options::parse(args(&["--verbose"])).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_custom_matcher_rolls_only_for_the_teams_labelled_source() {
    let mut out = Vec::new();
    custom_matcher::run(&mut out).await.expect("the example succeeds");
    let out = text(out);
    assert!(
        out.contains("ok: sim: the engine skipped checkout for search-config (the closure said no)"),
        "{out}"
    );
    assert!(
        out.contains("ok: sim: checkout rolled exactly once, for payments-config only"),
        "{out}"
    );
    assert!(
        out.contains("rollouts of checkout: ConfigMap shop/payments-config\n"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_custom_strategy_passes_the_laws_and_deletes_the_statefulsets_pods() {
    let mut out = Vec::new();
    custom_strategy::run(&mut out)
        .await
        .expect("the example succeeds");
    let out = text(out);
    assert!(out.contains("ok: delete-pods passes the strategy laws"), "{out}");
    assert!(out.contains("deleted pods db-2, db-1, db-0"), "{out}");
    assert!(out.contains("ok: the pod template is untouched"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_engine_rolls_the_custom_kind_and_the_deployment() {
    let mut out = Vec::new();
    embed_in_controller::run(&mut out)
        .await
        .expect("the example succeeds");
    let out = text(out);
    assert!(
        out.contains("Changes detected in 'site-config' of type 'CONFIGMAP' in namespace 'apps'; updated 'storefront' of type 'Rollout' in namespace 'apps'"),
        "{out}"
    );
    assert!(
        out.contains("ok: the custom object's pod template records the new digest"),
        "{out}"
    );
    assert!(
        out.contains("ok: the merge patch left the rest of the container intact"),
        "{out}"
    );
}
