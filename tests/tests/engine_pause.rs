//! pause-period through the engine and the simulator: a reload pauses the Deployment in the same
//! write and the engine resumes it after the period; a Deployment paused before an engine
//! restart is resumed after it (crash-safe, unlike Reloader); an unparsable period reloads
//! without a pause and is reported.

mod engine_support;

use std::time::Duration;

use engine_support::{
    Path, Strategy, assert_records, auto, config, configmap, count, digest_of, seed, set_data, start,
    start_on_configmap, workload,
};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::Api;
use reload_core::MatchProblem;
use reload_core::engine::EngineEvent;
use reload_core::matcher::MatcherConfig;
use reload_tests::sim::Simulator;
use serde_json::{Value, json};

const NS: &str = "pause";
const PERIOD: &str = "deployment.reloader.stakater.com/pause-period";
const PAUSED_AT: &str = "deployment.reloader.stakater.com/paused-at";

fn deployment(name: &str, period: &str) -> Value {
    let mut annotations = auto();
    annotations[PERIOD] = json!(period);
    workload(
        "Deployment",
        NS,
        name,
        annotations,
        json!({}),
        Path::EnvFrom.pod_spec("cfg"),
    )
}

async fn get(sim: &Simulator, name: &str) -> Deployment {
    Api::<Deployment>::namespaced(sim.client().expect("client"), NS)
        .get(name)
        .await
        .expect("deployment")
}

fn paused(d: &Deployment) -> bool {
    d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false)
}

fn paused_at(d: &Deployment) -> Option<String> {
    d.metadata.annotations.as_ref()?.get(PAUSED_AT).cloned()
}

/// Polls (bounded, 10 s) until the Deployment is resumed by the engine.
async fn wait_resumed(sim: &Simulator, name: &str) -> Deployment {
    for _ in 0..400 {
        let d = get(sim, name).await;
        if !paused(&d) && paused_at(&d).is_none() {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "Deployment {name} was never resumed: {:#?}",
        get(sim, name).await.metadata
    );
}

async fn reload_pauses_then_resumes(strategy: Strategy) {
    let (sim, engine) =
        start_on_configmap(NS, "cfg", vec![deployment("web", "3s")], strategy, config()).await;
    assert!(!paused(&get(&sim, "web").await));

    set_data(&sim, NS, "cfg", json!({"k": "v2"})).await;
    engine.wait_reloaded(1).await;
    let during = get(&sim, "web").await;
    assert!(paused(&during), "paused in the reload's write");
    let at = paused_at(&during).expect("paused-at recorded");
    assert!(
        at.parse::<k8s_openapi::jiff::Timestamp>().is_ok(),
        "RFC3339: {at}"
    );
    let d2 = digest_of(&[("k", "v2")]);
    assert_records(
        strategy,
        &during.spec.clone().expect("spec").template,
        "cfg",
        NS,
        &d2,
    );

    let after = wait_resumed(&sim, "web").await;
    assert_records(strategy, &after.spec.expect("spec").template, "cfg", NS, &d2);
    assert_eq!(engine_support::reloaded(&engine.events()), 1);
    engine.stop().await;
}

#[tokio::test]
async fn reload_pauses_the_deployment_in_the_same_write_and_resumes_it_after_the_period_with_env_vars() {
    reload_pauses_then_resumes(Strategy::EnvVars).await;
}

#[tokio::test]
async fn reload_pauses_the_deployment_in_the_same_write_and_resumes_it_after_the_period_with_annotations() {
    reload_pauses_then_resumes(Strategy::Annotations).await;
}

#[tokio::test]
async fn deployment_paused_before_an_engine_restart_is_resumed_after_it() {
    let sim = Simulator::start().await.expect("simulator");
    seed(&sim, configmap(NS, "cfg", json!({"k": "v1"})));
    seed(&sim, deployment("web", "3s"));
    // Paused by an earlier engine long ago, past its period: resumed at start-up.
    let mut stale = deployment("stale", "1s");
    stale["metadata"]["annotations"][PAUSED_AT] = json!("2020-01-01T00:00:00Z");
    stale["spec"]["paused"] = json!(true);
    seed(&sim, stale);
    // Paused by someone else (no paused-at): never resumed by the engine.
    let mut manual = deployment("manual", "1s");
    manual["spec"]["paused"] = json!(true);
    seed(&sim, manual);

    let engine = start(&sim, Strategy::EnvVars, config(), MatcherConfig::default()).await;
    wait_resumed(&sim, "stale").await;
    set_data(&sim, NS, "cfg", json!({"k": "v2"})).await;
    engine
        .wait_for("the reload of web", |e| {
            count(
                e,
                |e| matches!(e, EngineEvent::Reloaded { workload, .. } if workload.name == "web"),
            ) == 1
        })
        .await;
    assert!(paused(&get(&sim, "web").await), "paused by the reload");
    // The engine goes away within the period; a new one resumes the Deployment on time.
    engine.stop().await;
    let engine = start(&sim, Strategy::EnvVars, config(), MatcherConfig::default()).await;
    let after = wait_resumed(&sim, "web").await;
    assert_records(
        Strategy::EnvVars,
        &after.spec.expect("spec").template,
        "cfg",
        NS,
        &digest_of(&[("k", "v2")]),
    );
    let manual = get(&sim, "manual").await;
    assert!(paused(&manual), "a pause of someone else is left alone");
    assert_eq!(
        engine_support::reloaded(&engine.events()),
        0,
        "the restart rolled nothing"
    );
    engine.stop().await;
}

#[tokio::test]
async fn unparsable_pause_period_reloads_without_a_pause_and_is_reported() {
    let workloads = vec![deployment("web", "5 minutes")];
    let (sim, engine) = start_on_configmap(NS, "cfg", workloads, Strategy::EnvVars, config()).await;

    set_data(&sim, NS, "cfg", json!({"k": "v2"})).await;
    engine.wait_reloaded(1).await;
    let events = engine.events();
    let problems: Vec<&EngineEvent> = events
        .iter()
        .filter(|e| {
            matches!(e, EngineEvent::MatchProblem { workload, problem: MatchProblem::InvalidPausePeriod { value, .. } }
                if workload.name == "web" && value == "5 minutes")
        })
        .collect();
    assert_eq!(problems.len(), 1, "{events:#?}");
    let d = get(&sim, "web").await;
    assert!(!paused(&d));
    assert_eq!(paused_at(&d), None);
    assert_records(
        Strategy::EnvVars,
        &d.spec.expect("spec").template,
        "cfg",
        NS,
        &digest_of(&[("k", "v2")]),
    );
    engine.stop().await;
}
