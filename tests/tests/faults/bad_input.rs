//! Bad input: each case is reported naming the object and the problem (or handled correctly),
//! nothing panics, and a healthy workload next to it keeps reloading. The engine runs
//! in-process; the kubeconfig pointing nowhere is covered by the binary suite
//! (`binary.rs::a_kubeconfig_naming_a_closed_port_exits_non_zero_naming_the_server`).

use std::time::Duration;

use base64::Engine as _;
use reload_core::engine::EngineEvent;
use reload_core::matcher::MatcherConfig;
use reload_core::{MatchProblem, WorkloadKind};
use reload_strategies::{AnnotationStrategy, EnvVarStrategy};
use reload_tests::sim::Simulator;
use serde_json::{Value, json};

use crate::binary_support::Launch;
use crate::engine_support::{self, Strategy, config, seed};
use crate::faults_support::{Seed, settle};

fn deployment(ns: &str, name: &str, annotations: Value, pod_spec: Value) -> Value {
    engine_support::workload("Deployment", ns, name, annotations, json!({}), pod_spec)
}

fn env_from(configmaps: &[&str]) -> Value {
    let refs: Vec<Value> = configmaps
        .iter()
        .map(|cm| json!({"configMapRef": {"name": cm}}))
        .collect();
    json!({"containers": [{"name": "app", "image": "nginx", "envFrom": refs}]})
}

/// A healthy auto workload `ns/healthy` on ConfigMap `healthy`.
fn healthy(sim: &Simulator, ns: &str) {
    seed(sim, engine_support::configmap(ns, "healthy", json!({"k": "v0"})));
    seed(
        sim,
        deployment(ns, "healthy", engine_support::auto(), env_from(&["healthy"])),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_regex_in_a_reload_list_is_reported_naming_the_workload_and_the_rest_still_reloads() {
    let seed_ = Seed::new("invalid regex");
    let sim = Simulator::start().await.expect("simulator");
    healthy(&sim, "bad");
    seed(&sim, engine_support::configmap("bad", "cfg", json!({"k": "v0"})));
    seed(
        &sim,
        deployment(
            "bad",
            "broken",
            json!({"configmap.reloader.stakater.com/reload": "cfg,[unclosed"}),
            env_from(&["cfg"]),
        ),
    );
    let engine = engine_support::start(&sim, Strategy::EnvVars, config(), MatcherConfig::default()).await;
    engine_support::set_data(&sim, "bad", "cfg", json!({"k": "v1"})).await;
    engine_support::set_data(&sim, "bad", "healthy", json!({"k": "v1"})).await;
    engine
        .wait_for("the invalid regex to be reported", |events| {
            events.iter().any(|e| {
                matches!(e,
                EngineEvent::MatchProblem { workload, problem: MatchProblem::InvalidRegex { entry, .. } }
                    if workload.name == "broken" && entry == "[unclosed")
            })
        })
        .await;
    let report = settle(&sim, &EnvVarStrategy, seed_, "invalid regex").await;
    // The valid entry of the broken list still works: both workloads rolled once.
    assert_eq!(report.rollouts, 2, "invalid regex ({seed_}): {report}");
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_lists_with_empty_items_spaces_and_duplicates_roll_once_per_change() {
    let seed_ = Seed::new("messy reload list");
    let sim = Simulator::start().await.expect("simulator");
    seed(&sim, engine_support::configmap("m", "cfg", json!({"k": "v0"})));
    seed(&sim, engine_support::configmap("m", "other", json!({"k": "v0"})));
    seed(
        &sim,
        deployment(
            "m",
            "messy",
            json!({"configmap.reloader.stakater.com/reload": " cfg , ,cfg,,  other ,cfg "}),
            env_from(&["cfg", "other"]),
        ),
    );
    let engine = engine_support::start(&sim, Strategy::Annotations, config(), MatcherConfig::default()).await;
    engine.wait_baselined(1).await;
    let since = sim.current_resource_version();
    engine_support::set_data(&sim, "m", "cfg", json!({"k": "v1"})).await;
    engine.wait_reloaded(1).await;
    engine_support::set_data(&sim, "m", "other", json!({"k": "v1"})).await;
    engine.wait_reloaded(2).await;
    crate::faults_support::wait_quiet(&sim, Duration::from_secs(1), Duration::from_secs(10)).await;
    let writes = sim
        .journal(since)
        .into_iter()
        .filter(|e| e.resource == "deployments")
        .count();
    assert_eq!(writes, 2, "messy reload list ({seed_}): one write per change");
    let report = crate::faults_support::check(&sim.journal(0), &AnnotationStrategy);
    assert!(report.holds(), "messy reload list ({seed_}): {report}");
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_mebibyte_configmap_with_binary_data_and_non_utf8_secret_bytes_roll_with_the_right_digest() {
    let seed_ = Seed::new("big and binary sources");
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let sim = Simulator::start().await.expect("simulator");
    let big = "x".repeat(1 << 20);
    seed(
        &sim,
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big", "namespace": "b"},
            "data": {"big": big}, "binaryData": {"bin": b64(&[0, 159, 146, 150, 255])}}),
    );
    seed(
        &sim,
        json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": "raw", "namespace": "b"}, "data": {"k": b64(&[0xff, 0xfe, 0x00, 0xc3])}}),
    );
    let spec = json!({"containers": [{"name": "app", "image": "nginx",
        "envFrom": [{"configMapRef": {"name": "big"}}, {"secretRef": {"name": "raw"}}]}]});
    seed(&sim, deployment("b", "w", engine_support::auto(), spec));
    let engine = engine_support::start(&sim, Strategy::EnvVars, config(), MatcherConfig::default()).await;
    engine.wait_baselined(1).await;
    engine_support::set_data(&sim, "b", "big", json!({"big": format!("{big}y")})).await;
    let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(sim.client().expect("client"), "b");
    secrets
        .patch(
            "raw",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"data": {"k": b64(&[0xc3, 0x28, 0xa0, 0xa1])}})),
        )
        .await
        .expect("secret patched");
    let report = settle(&sim, &EnvVarStrategy, seed_, "big and binary sources").await;
    assert_eq!(
        report.pairs_checked, 2,
        "big and binary sources ({seed_}): {report}"
    );
    assert!(report.rollouts >= 1, "big and binary sources ({seed_}): {report}");
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_whose_env_var_names_collide_are_reported_told_apart_and_each_change_rolls() {
    let seed_ = Seed::new("env var collision");
    let sim = Simulator::start().await.expect("simulator");
    seed(&sim, engine_support::configmap("c", "my.app", json!({"k": "v0"})));
    seed(&sim, engine_support::configmap("c", "my-app", json!({"k": "v0"})));
    seed(
        &sim,
        deployment("c", "w", engine_support::auto(), env_from(&["my.app", "my-app"])),
    );
    let engine = engine_support::start(&sim, Strategy::EnvVars, config(), MatcherConfig::default()).await;
    engine.wait_baselined(1).await;
    engine_support::set_data(&sim, "c", "my.app", json!({"k": "v1"})).await;
    engine.wait_reloaded(1).await;
    engine_support::set_data(&sim, "c", "my-app", json!({"k": "v1"})).await;
    engine.wait_reloaded(2).await;
    engine_support::set_data(&sim, "c", "my.app", json!({"k": "v2"})).await;
    engine.wait_reloaded(3).await;
    let collision = |e: &EngineEvent| {
        matches!(e,
            EngineEvent::MatchProblem { workload, problem: MatchProblem::EnvVarCollision { env_var, sources } }
                if workload.name == "w"
                    && env_var == "STAKATER_MY_APP_CONFIGMAP"
                    && sources.iter().any(|s| s.contains("'my.app'"))
                    && sources.iter().any(|s| s.contains("'my-app'")))
    };
    let events = engine.events();
    assert!(
        events.iter().any(collision),
        "env var collision ({seed_}): reported naming the workload, both sources and the variable: {events:#?}"
    );
    let report = settle(&sim, &EnvVarStrategy, seed_, "env var collision").await;
    assert_eq!(report.rollouts, 3, "env var collision ({seed_}): {report}");
    assert_eq!(report.pairs_checked, 2, "env var collision ({seed_}): {report}");
    engine.stop().await;

    // The binary: one more change rolls once, with a warn line and a Warning Event on the
    // workload naming both sources and the variable.
    let since = sim.current_resource_version();
    let reloader = Launch::new(&sim).start();
    reloader.wait_synced().await;
    engine_support::set_data(&sim, "c", "my-app", json!({"k": "v2"})).await;
    let line = reloader
        .wait_line("share the env var STAKATER_MY_APP_CONFIGMAP")
        .await;
    for part in [
        "'w' of type 'Deployment' in namespace 'c'",
        "ConfigMap 'my.app'",
        "ConfigMap 'my-app'",
    ] {
        assert!(
            line.contains(part),
            "env var collision ({seed_}): {part} missing from {line}"
        );
    }
    assert!(
        line.contains("level=warning") || line.contains("WARN"),
        "env var collision ({seed_}): not at warn: {line}"
    );
    let warned = || {
        sim.journal(since).into_iter().any(|e| {
            e.resource == "events"
                && e.object.as_deref().is_some_and(|o| {
                    o["reason"] == "EnvVarCollision"
                        && o["type"] == "Warning"
                        && o.to_string().contains("STAKATER_MY_APP_CONFIGMAP")
                        && [&o["involvedObject"]["name"], &o["regarding"]["name"]].contains(&&json!("w"))
                })
        })
    };
    crate::binary_support::eventually("the EnvVarCollision Warning Event", || async { warned() }).await;
    let report = settle(&sim, &EnvVarStrategy, seed_, "env var collision").await;
    assert_eq!(report.rollouts, 4, "env var collision ({seed_}): {report}");
    reloader.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workload_with_no_containers_or_a_missing_source_harms_nobody_and_a_late_source_is_baselined() {
    let seed_ = Seed::new("empty and missing");
    let sim = Simulator::start().await.expect("simulator");
    healthy(&sim, "e");
    let empty = deployment("e", "empty", engine_support::auto(), json!({"containers": []}));
    // The simulator may refuse an empty container list as a real API server does; either way
    // the engine must not care.
    let _ = sim.seed(empty);
    seed(
        &sim,
        deployment("e", "orphan", engine_support::auto(), env_from(&["absent"])),
    );
    let engine = engine_support::start(&sim, Strategy::Annotations, config(), MatcherConfig::default()).await;
    engine_support::set_data(&sim, "e", "healthy", json!({"k": "v1"})).await;
    engine.wait_reloaded(1).await;
    seed(&sim, engine_support::configmap("e", "absent", json!({"k": "v0"})));
    engine_support::set_data(&sim, "e", "absent", json!({"k": "v1"})).await;
    let report = settle(&sim, &AnnotationStrategy, seed_, "empty and missing").await;
    assert_eq!(report.pairs_checked, 2, "empty and missing ({seed_}): {report}");
    engine.stop().await;
}

/// Starts the engine with Argo Rollouts on (as `--is-Argo-Rollouts=true` does) on a cluster
/// that does not serve them.
async fn engine_without_the_rollout_crd(sim: &Simulator, seed_: Seed) -> engine_support::Running {
    let kinds = vec![WorkloadKind::Deployment];
    tokio::time::timeout(
        Duration::from_secs(20),
        engine_support::start(
            sim,
            Strategy::EnvVars,
            config().workload_kinds(kinds).argo_rollouts(true),
            MatcherConfig::default(),
        ),
    )
    .await
    .unwrap_or_else(|_| panic!("missing CRD ({seed_}): the engine never synced"))
}

async fn crd_less_cluster() -> Simulator {
    Simulator::config()
        .custom_kinds(false)
        .start()
        .await
        .expect("simulator")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workload_kind_missing_from_the_cluster_does_not_stop_the_other_kinds() {
    let seed_ = Seed::new("missing CRD");
    let sim = crd_less_cluster().await;
    healthy(&sim, "k");
    let engine = engine_without_the_rollout_crd(&sim, seed_).await;
    engine_support::set_data(&sim, "k", "healthy", json!({"k": "v1"})).await;
    engine.wait_reloaded(1).await;
    let report = settle(&sim, &EnvVarStrategy, seed_, "missing CRD").await;
    assert_eq!(report.rollouts, 1, "missing CRD ({seed_}): {report}");
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workload_kind_missing_from_the_cluster_is_reported() {
    let seed_ = Seed::new("missing CRD reported");
    let sim = crd_less_cluster().await;
    healthy(&sim, "k");
    let engine = engine_without_the_rollout_crd(&sim, seed_).await;
    let reported = |events: &[EngineEvent]| {
        events
            .iter()
            .filter(|e| matches!(e, EngineEvent::KindUnavailable { kind, .. } if kind == "Rollout"))
            .count()
    };
    assert_eq!(
        reported(&engine.events()),
        1,
        "missing CRD ({seed_}): the missing kind is reported once at start-up: {:#?}",
        engine.events()
    );
    // Not a watch that keeps failing: nothing watches the absent kind.
    engine_support::set_data(&sim, "k", "healthy", json!({"k": "v1"})).await;
    engine.wait_reloaded(1).await;
    let events = engine.events();
    assert_eq!(reported(&events), 1, "missing CRD ({seed_}): {events:#?}");
    assert!(
        !events.iter().any(|e| matches!(e, EngineEvent::WatchError { .. })),
        "missing CRD ({seed_}): {events:#?}"
    );
    engine.stop().await;

    // The binary says so in one start-up line naming the kind, and keeps reloading.
    let reloader = Launch::new(&sim).arg("--is-Argo-Rollouts=true").start();
    reloader.wait_synced().await;
    let line = reloader.wait_line("Skipping Rollout").await;
    assert!(
        line.contains("not served by the API server"),
        "missing CRD ({seed_}): {line}"
    );
    assert_eq!(
        reloader.count("Rollout"),
        1,
        "missing CRD ({seed_}): one line names the kind; output:\n{}",
        reloader.output()
    );
    engine_support::set_data(&sim, "k", "healthy", json!({"k": "v2"})).await;
    let report = settle(&sim, &EnvVarStrategy, seed_, "missing CRD reported").await;
    assert_eq!(report.rollouts, 2, "missing CRD ({seed_}): {report}");
    reloader.stop().await;
}
