//! `--reload-on-create` and `--reload-on-delete` through the engine and the simulator, both
//! strategies: a created source rolls the workloads that reference it only when asked (else it
//! is baselined), and a deleted source removes the env var / records Reloader's delete marker.

mod engine_support;

use engine_support::{
    Strategy, assert_records, config, configmap, deployment_on, digest_of, reloaded, seed, set_data, start,
    start_on_configmap, template,
};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, PostParams};
use reload_core::Digest;
use reload_core::engine::EngineEvent;
use reload_core::matcher::MatcherConfig;
use reload_strategies::DELETE_MARKER_DIGEST;
use reload_tests::sim::Simulator;
use serde_json::json;

const NS: &str = "lifecycle";

fn seed_deployment(sim: &Simulator, cm: &str) {
    seed(sim, deployment_on(NS, "web", cm));
}

async fn create_configmap(sim: &Simulator, name: &str, value: &str) {
    let api: Api<ConfigMap> = Api::namespaced(sim.client().expect("client"), NS);
    let cm = serde_json::from_value(configmap(NS, name, json!({"k": value}))).expect("a ConfigMap");
    api.create(&PostParams::default(), &cm).await.expect("created");
}

async fn reload_on_delete_removes_or_marks(strategy: Strategy) {
    let workloads = vec![deployment_on(NS, "web", "db")];
    let (sim, engine) =
        start_on_configmap(NS, "db", workloads, strategy, config().reload_on_delete(true)).await;
    set_data(&sim, NS, "db", json!({"k": "v2"})).await;
    engine.wait_reloaded(1).await;
    assert_records(
        strategy,
        &template(&sim, "Deployment", NS, "web").await,
        "db",
        NS,
        &digest_of(&[("k", "v2")]),
    );

    let api: Api<ConfigMap> = Api::namespaced(sim.client().expect("client"), NS);
    api.delete("db", &DeleteParams::default()).await.expect("deleted");
    engine.wait_reloaded(2).await;
    let after = template(&sim, "Deployment", NS, "web").await;
    match strategy {
        Strategy::EnvVars => {
            let var = reload_strategies::env_var_name(reload_core::SourceKind::ConfigMap, "db");
            assert_eq!(
                engine_support::env_value(&after, &var),
                None,
                "the delete removes {var}"
            );
        }
        Strategy::Annotations => {
            assert_records(strategy, &after, "db", NS, &Digest::new(DELETE_MARKER_DIGEST));
        }
    }
    engine.stop().await;
}

#[tokio::test]
async fn reload_on_delete_removes_the_env_var() {
    reload_on_delete_removes_or_marks(Strategy::EnvVars).await;
}

#[tokio::test]
async fn reload_on_delete_records_reloaders_delete_marker() {
    reload_on_delete_removes_or_marks(Strategy::Annotations).await;
}

#[tokio::test]
async fn without_reload_on_delete_a_delete_writes_nothing() {
    let sim = Simulator::start().await.expect("simulator");
    seed(&sim, configmap(NS, "db", json!({"k": "v1"})));
    seed(&sim, configmap(NS, "other", json!({"k": "v1"})));
    seed_deployment(&sim, "db");
    seed(&sim, deployment_on(NS, "api", "other"));
    let engine = start(&sim, Strategy::EnvVars, config(), MatcherConfig::default()).await;
    engine.wait_baselined(2).await;
    let before = template(&sim, "Deployment", NS, "web").await;
    let api: Api<ConfigMap> = Api::namespaced(sim.client().expect("client"), NS);
    api.delete("db", &DeleteParams::default()).await.expect("deleted");
    // The same ConfigMap watch delivers this change after the delete, so once `api` rolled,
    // the delete has been processed.
    set_data(&sim, NS, "other", json!({"k": "v2"})).await;
    engine.wait_reloaded(1).await;
    let rolled: Vec<String> = engine
        .events()
        .iter()
        .filter_map(|e| match e {
            EngineEvent::Reloaded { workload, .. } => Some(workload.name.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(rolled, ["api"], "only the changed source's workload rolls");
    assert_eq!(
        template(&sim, "Deployment", NS, "web").await,
        before,
        "the deleted source's workload is untouched without --reload-on-delete"
    );
    engine.stop().await;
}

async fn created_source(strategy: Strategy, reload_on_create: bool) {
    let sim = Simulator::start().await.expect("simulator");
    seed(&sim, configmap(NS, "sentinel", json!({"k": "v1"})));
    seed_deployment(&sim, "late");
    let engine = start(
        &sim,
        strategy,
        config().reload_on_create(reload_on_create),
        MatcherConfig::default(),
    )
    .await;
    create_configmap(&sim, "late", "v1").await;
    if reload_on_create {
        engine.wait_reloaded(1).await;
        assert_records(
            strategy,
            &template(&sim, "Deployment", NS, "web").await,
            "late",
            NS,
            &digest_of(&[("k", "v1")]),
        );
    } else {
        engine.wait_baselined(1).await;
        assert_eq!(reloaded(&engine.events()), 0, "a create is baselined, not rolled");
        // The baseline makes the next change roll exactly once.
        set_data(&sim, NS, "late", json!({"k": "v2"})).await;
        engine.wait_reloaded(1).await;
        assert_records(
            strategy,
            &template(&sim, "Deployment", NS, "web").await,
            "late",
            NS,
            &digest_of(&[("k", "v2")]),
        );
    }
    engine.stop().await;
}

#[tokio::test]
async fn reload_on_create_rolls_a_workload_when_its_source_appears() {
    for strategy in Strategy::both() {
        created_source(strategy, true).await;
    }
}

#[tokio::test]
async fn without_reload_on_create_a_new_source_is_baselined_and_its_first_change_rolls_once() {
    for strategy in Strategy::both() {
        created_source(strategy, false).await;
    }
}
