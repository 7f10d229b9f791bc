//! Restart safety (issue 4 point 6) on the simulator: restarts and failovers roll nothing when
//! nothing changed, changes made while down roll once, late workloads are not missed,
//! recreates follow the rule table, and watch drops / 410 / server restarts lose and
//! duplicate nothing.

mod engine_support;

use std::time::Duration;

use engine_support::{
    Path, Running, Strategy, assert_records, auto, config, configmap, deployment_on, digest_of, reloaded,
    seed, set_data, start, template, workload,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, PostParams};
use reload_core::matcher::MatcherConfig;
use reload_tests::sim::Simulator;
use serde_json::json;

/// Seeds a workload `sentinel` on ConfigMap `sentinel` in `ns`.
fn seed_sentinel(sim: &Simulator, ns: &str) {
    seed(sim, configmap(ns, "sentinel", json!({"k": "0"})));
    seed(sim, deployment_on(ns, "sentinel", "sentinel"));
}

/// Changes the sentinel and waits for its rollout: every event queued before it is decided.
async fn drain(sim: &Simulator, engine: &Running, ns: &str, value: &str, expected_total: usize) {
    set_data(sim, ns, "sentinel", json!({"k": value})).await;
    engine.wait_reloaded(expected_total).await;
}

fn seed_app(sim: &Simulator, ns: &str, workloads: &[&str]) {
    seed(sim, configmap(ns, "cfg", json!({"k": "v1"})));
    for w in workloads {
        seed(sim, deployment_on(ns, w, "cfg"));
    }
    seed_sentinel(sim, ns);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_with_nothing_changed_writes_nothing_once_baselines_exist() {
    let sim = Simulator::start().await.expect("simulator");
    seed_app(&sim, "r", &["a", "b", "c"]);
    let engine = start(&sim, Strategy::EnvVars, config(), MatcherConfig::default()).await;
    engine.wait_baselined(4).await;
    engine.stop().await;
    sim.reset_stats();

    let engine = start(&sim, Strategy::EnvVars, config(), MatcherConfig::default()).await;
    drain(&sim, &engine, "r", "1", 1).await;
    assert_eq!(
        sim.stats().count("patch", "deployments"),
        1,
        "only the sentinel was written"
    );
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_on_a_cluster_reconciled_by_reloader_rolls_nothing_and_writes_nothing() {
    let sim = Simulator::start().await.expect("simulator");
    seed(&sim, configmap("r", "cfg", json!({"k": "v1"})));
    let digest = digest_of(&[("k", "v1")]);
    let mut spec = Path::EnvFrom.pod_spec("cfg");
    spec["containers"][0]["env"] = json!([{"name": "STAKATER_CFG_CONFIGMAP", "value": digest.as_str()}]);
    seed(
        &sim,
        workload("Deployment", "r", "migrated", auto(), json!({}), spec),
    );
    seed_sentinel(&sim, "r");
    sim.reset_stats();
    let engine = start(&sim, Strategy::EnvVars, config(), MatcherConfig::default()).await;
    engine.wait_baselined(1).await; // the sentinel has no record yet
    drain(&sim, &engine, "r", "1", 1).await;
    assert_eq!(
        sim.stats().count("patch", "deployments"),
        2,
        "the sentinel's baseline and rollout only"
    );
    assert_eq!(reloaded(&engine.events()), 1);
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_made_while_the_engine_was_stopped_rolls_each_workload_once_after_start() {
    for strategy in Strategy::both() {
        let sim = Simulator::start().await.expect("simulator");
        seed_app(&sim, "r", &["a", "b"]);
        let engine = start(&sim, strategy, config(), MatcherConfig::default()).await;
        engine.wait_baselined(3).await;
        engine.stop().await;

        set_data(&sim, "r", "cfg", json!({"k": "v2"})).await;
        sim.reset_stats();
        let engine = start(&sim, strategy, config(), MatcherConfig::default()).await;
        engine.wait_reloaded(2).await;
        drain(&sim, &engine, "r", "1", 3).await;
        assert_eq!(sim.stats().count("patch", "deployments"), 3);
        let digest = digest_of(&[("k", "v2")]);
        for w in ["a", "b"] {
            assert_records(
                strategy,
                &template(&sim, "Deployment", "r", w).await,
                "cfg",
                "r",
                &digest,
            );
        }
        engine.stop().await;
        sim.reset_stats();
        let engine = start(&sim, strategy, config(), MatcherConfig::default()).await;
        drain(&sim, &engine, "r", "2", 1).await;
        assert_eq!(
            sim.stats().count("patch", "deployments"),
            1,
            "the next restart rolls nothing"
        );
        engine.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workload_created_100ms_before_its_source_changes_is_rolled() {
    let sim = Simulator::start().await.expect("simulator");
    seed(&sim, configmap("r", "cfg", json!({"k": "v1"})));
    let engine = start(&sim, Strategy::EnvVars, config(), MatcherConfig::default()).await;
    let api: Api<Deployment> = Api::namespaced(sim.client().expect("client"), "r");
    let obj: Deployment = serde_json::from_value(deployment_on("r", "late", "cfg")).expect("deployment");
    api.create(&PostParams::default(), &obj).await.expect("created");
    tokio::time::sleep(Duration::from_millis(100)).await;
    set_data(&sim, "r", "cfg", json!({"k": "v2"})).await;
    engine.wait_reloaded(1).await;
    assert_records(
        Strategy::EnvVars,
        &template(&sim, "Deployment", "r", "late").await,
        "cfg",
        "r",
        &digest_of(&[("k", "v2")]),
    );
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recreating_a_source_with_identical_data_is_nothing_and_with_new_data_is_a_change() {
    let sim = Simulator::start().await.expect("simulator");
    seed_app(&sim, "r", &["a"]);
    let engine = start(&sim, Strategy::EnvVars, config(), MatcherConfig::default()).await;
    engine.wait_baselined(2).await;
    let api: Api<ConfigMap> = Api::namespaced(sim.client().expect("client"), "r");
    let same: ConfigMap = serde_json::from_value(configmap("r", "cfg", json!({"k": "v1"}))).expect("cm");
    api.delete("cfg", &DeleteParams::default())
        .await
        .expect("deleted");
    api.create(&PostParams::default(), &same)
        .await
        .expect("recreated");
    drain(&sim, &engine, "r", "1", 1).await;
    assert_eq!(reloaded(&engine.events()), 1, "identical recreate rolls nothing");

    let changed: ConfigMap = serde_json::from_value(configmap("r", "cfg", json!({"k": "v9"}))).expect("cm");
    api.delete("cfg", &DeleteParams::default())
        .await
        .expect("deleted");
    api.create(&PostParams::default(), &changed)
        .await
        .expect("recreated");
    engine.wait_reloaded(2).await;
    assert_records(
        Strategy::EnvVars,
        &template(&sim, "Deployment", "r", "a").await,
        "cfg",
        "r",
        &digest_of(&[("k", "v9")]),
    );
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_drops_relists_and_server_restarts_lose_no_change_and_duplicate_none() {
    let sim = Simulator::start().await.expect("simulator");
    seed_app(&sim, "r", &["a", "b"]);
    let engine = start(&sim, Strategy::Annotations, config(), MatcherConfig::default()).await;
    engine.wait_baselined(3).await;

    set_data(&sim, "r", "cfg", json!({"k": "v2"})).await;
    engine.wait_reloaded(2).await;
    sim.close_watches();
    set_data(&sim, "r", "cfg", json!({"k": "v3"})).await;
    engine.wait_reloaded(4).await;
    sim.compact();
    sim.close_watches();
    set_data(&sim, "r", "cfg", json!({"k": "v4"})).await;
    engine.wait_reloaded(6).await;
    sim.restart(Duration::from_millis(200))
        .await
        .expect("simulator restarts");
    set_data(&sim, "r", "cfg", json!({"k": "v5"})).await;
    engine.wait_reloaded(8).await;
    drain(&sim, &engine, "r", "1", 9).await;
    assert_eq!(
        reloaded(&engine.events()),
        9,
        "four changes × two workloads + the sentinel, no duplicates"
    );
    for w in ["a", "b"] {
        assert_records(
            Strategy::Annotations,
            &template(&sim, "Deployment", "r", w).await,
            "cfg",
            "r",
            &digest_of(&[("k", "v5")]),
        );
    }
    engine.stop().await;
}
