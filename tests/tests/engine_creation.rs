//! Workloads created around a source change, through the engine and the simulator.
//!
//! A workload's creationTimestamp has second precision, so one created in the same second as a
//! ConfigMap change could be older or newer than the change. The engine breaks the tie with
//! resourceVersions only when the workload was first seen through a live watch event (at its
//! creation resourceVersion): created after the change → baselined, never rolled (its pods
//! start with the new content); created before it, even if indexed after it → rolled.

mod engine_support;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use engine_support::{
    Strategy, assert_records, assert_untouched, config, configmap, deployment_on, digest_of, seed, set_data,
    start_on_configmap, start_with_client, template,
};
use http::Request;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, PostParams};
use kube::client::{Body, ClientBuilder};
use reload_core::engine::EngineEvent;
use reload_core::matcher::MatcherConfig;
use reload_tests::sim::Simulator;
use reload_tests::sim::objects::format_rfc3339;
use serde_json::json;
use tokio::sync::watch;

const NS: &str = "fresh";

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .expect("a wall clock after 1970")
}

/// The wall second containing `ms`, formatted as a creationTimestamp.
fn second_of(ms: i64) -> String {
    format_rfc3339(u64::try_from(ms / 1_000).expect("positive"))
}

/// Sleeps until the wall clock is in the first 100 ms of a second, so that a short sequence of
/// API calls likely fits in one second (a precondition, checked afterwards; not an assertion).
async fn start_of_a_second() {
    let into = wall_ms() % 1_000;
    if into >= 100 {
        tokio::time::sleep(Duration::from_millis(u64::try_from(1_000 - into).unwrap_or(0))).await;
    }
}

/// Creates a Deployment on `cm` through the API; returns its creationTimestamp.
async fn create(sim: &Simulator, name: &str, cm: &str) -> String {
    let api: Api<Deployment> = Api::namespaced(sim.client().expect("client"), NS);
    let created = api
        .create(
            &PostParams::default(),
            &serde_json::from_value(deployment_on(NS, name, cm)).expect("a Deployment"),
        )
        .await
        .expect("created");
    let stamp = serde_json::to_value(created.metadata.creation_timestamp).expect("serializable");
    stamp.as_str().expect("a creationTimestamp").to_owned()
}

fn rollouts_of(events: &[EngineEvent], name: &str) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, EngineEvent::Reloaded { workload, .. } if workload.name == name))
        .count()
}

fn baselined(events: &[EngineEvent], name: &str) -> bool {
    events
        .iter()
        .any(|e| matches!(e, EngineEvent::Baselined { workload, .. } if workload.name == name))
}

#[tokio::test]
async fn deployment_created_in_the_same_second_right_after_a_change_is_not_rolled() {
    // The witness rolls on every change: once it has, the engine has observed the change.
    let workloads = vec![deployment_on(NS, "witness", "app")];
    let (sim, engine) = start_on_configmap(NS, "app", workloads, Strategy::EnvVars, config()).await;
    // The case needs the change, its observation and the creation in one wall second; a
    // machine stalled past a second boundary gives another second a try.
    for attempt in 1..=8 {
        start_of_a_second().await;
        let before = wall_ms();
        set_data(&sim, NS, "app", json!({"k": format!("after-{attempt}")})).await;
        engine
            .wait_for("the witness to roll", |e| rollouts_of(e, "witness") >= attempt)
            .await;
        let observed_by = wall_ms();
        let name = format!("fresh-{attempt}");
        let created = create(&sim, &name, "app").await;
        engine
            .wait_for(&format!("{name} to be indexed"), |e| {
                baselined(e, &name) || rollouts_of(e, &name) > 0
            })
            .await;
        if created != second_of(before) || created != second_of(observed_by) {
            continue;
        }
        let events = engine.events();
        assert_eq!(
            rollouts_of(&events, &name),
            0,
            "{name} was created after the change"
        );
        assert_untouched(
            Strategy::EnvVars,
            &template(&sim, "Deployment", NS, &name).await,
            "app",
        );
        // The baseline holds the current digest: the next change rolls it exactly once.
        set_data(&sim, NS, "app", json!({"k": "next"})).await;
        engine
            .wait_for(&format!("{name} to roll"), |e| rollouts_of(e, &name) > 0)
            .await;
        assert_eq!(rollouts_of(&engine.events(), &name), 1);
        assert_records(
            Strategy::EnvVars,
            &template(&sim, "Deployment", NS, &name).await,
            "app",
            NS,
            &digest_of(&[("k", "next")]),
        );
        engine.stop().await;
        return;
    }
    panic!("no attempt fit the change and the creation in one wall second");
}

/// Holds every watch of Deployments until opened: the engine lists Deployments at start-up but
/// sees later Deployment events only after the gate opens.
#[derive(Clone)]
struct GateLayer(watch::Receiver<bool>);

impl<S> tower::Layer<S> for GateLayer {
    type Service = Gated<S>;

    fn layer(&self, inner: S) -> Gated<S> {
        Gated {
            inner,
            open: self.0.clone(),
        }
    }
}

struct Gated<S> {
    inner: S,
    open: watch::Receiver<bool>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S> tower::Service<Request<Body>> for Gated<S>
where
    S: tower::Service<Request<Body>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let held = req.uri().path().ends_with("/deployments")
            && req.uri().query().is_some_and(|q| q.contains("watch=true"));
        let mut open = self.open.clone();
        let response = self.inner.call(req);
        Box::pin(async move {
            if held {
                // A closed sender opens the gate too.
                let _ = open.wait_for(|open| *open).await;
            }
            response.await
        })
    }
}

#[tokio::test]
async fn deployment_created_just_before_a_change_but_indexed_after_it_is_rolled() {
    let sim = Simulator::start().await.expect("simulator");
    seed(&sim, configmap(NS, "app", json!({"k": "v1"})));
    seed(&sim, deployment_on(NS, "witness", "app"));
    let (open, gate) = watch::channel(false);
    let client = ClientBuilder::try_from(sim.kube_config())
        .expect("client builder")
        .with_layer(&GateLayer(gate))
        .build();
    let engine = start_with_client(client, Strategy::EnvVars, config(), MatcherConfig::default()).await;
    engine.wait_baselined(1).await;
    start_of_a_second().await;
    // Created first (lower resourceVersion), likely in the same second as the change.
    create(&sim, "early", "app").await;
    set_data(&sim, NS, "app", json!({"k": "v2"})).await;
    // The witness (indexed by the list) rolls: the change is observed while "early" is not
    // indexed yet. Opening the gate replays its creation as a live event.
    engine.wait_reloaded(1).await;
    assert!(!baselined(&engine.events(), "early") && rollouts_of(&engine.events(), "early") == 0);
    open.send(true).expect("the gate is watched");
    engine
        .wait_for("early to roll", |e| rollouts_of(e, "early") > 0)
        .await;
    assert_records(
        Strategy::EnvVars,
        &template(&sim, "Deployment", NS, "early").await,
        "app",
        NS,
        &digest_of(&[("k", "v2")]),
    );
    // The next change rolls it once more, and only once.
    set_data(&sim, NS, "app", json!({"k": "v3"})).await;
    engine
        .wait_for("early to roll again", |e| rollouts_of(e, "early") >= 2)
        .await;
    engine.wait_reloaded(4).await;
    assert_eq!(rollouts_of(&engine.events(), "early"), 2);
    engine.stop().await;
}
