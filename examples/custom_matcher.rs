//! # custom_matcher: reload only for sources owned by one team, written as a closure
//!
//! Needs **no cluster**: runs on the embedded simulator. Any `Fn(&Workload, &SourceMeta) ->
//! MatchOutcome` is a [`Matcher`]; this one lets Reloader's annotation rules decide, but only for
//! ConfigMaps and Secrets whose `example.com/team` label is `payments`. Deployment `checkout`
//! uses two ConfigMaps; editing the unlabelled one is skipped, editing the payments one rolls.
//!
//! ```sh
//! cargo run --release --example custom_matcher
//! ```
//!
//! The engine reduces every source to its digest and the few metadata values it is told to
//! keep, in the watch stream: `EngineConfig::source_labels(vec!["example.com/team"])` keeps that
//! one label (and no other), so the closure finds it in `SourceMeta::labels`.

use std::io::Write;
use std::sync::Arc;

use anyhow::Context as _;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use reload_core::decision::{Decision, MatchOutcome, SkipReason};
use reload_core::engine::{Engine, EngineConfig, EngineEvent, EngineSkip};
use reload_core::hash::ReloaderHasher;
use reload_core::matcher::{AnnotationMatcher, MatcherConfig};
use reload_core::{Matcher, SourceKind, SourceMeta, SourceRef, Workload, WorkloadKind, WorkloadRef};
use reload_examples::{Recorder, check, say};
use reload_strategies::EnvVarStrategy;
use reload_tests::sim::Simulator;
use serde_json::json;

/// The label naming the team that owns a source.
const TEAM: &str = "example.com/team";

/// A matcher that defers to Reloader's annotation rules for sources owned by `team` and skips
/// every other source.
fn team_matcher(team: &'static str) -> impl Fn(&Workload, &SourceMeta) -> MatchOutcome + Send + Sync {
    let reloader_rules = AnnotationMatcher::new(MatcherConfig::default());
    move |workload: &Workload, source: &SourceMeta| {
        if source.labels.get(TEAM).map(String::as_str) == Some(team) {
            reloader_rules.decide(workload, source)
        } else {
            MatchOutcome::new(Decision::Skip(SkipReason::NotOptedIn))
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    reload_examples::init_tracing();
    run(&mut std::io::stdout()).await
}

/// The pure check of the closure, then the engine on the simulator.
pub async fn run(out: &mut dyn Write) -> anyhow::Result<()> {
    pure_checks(out)?;
    on_the_simulator(out).await
}

/// The closure decides on plain values: no API, no engine.
fn pure_checks(out: &mut dyn Write) -> anyhow::Result<()> {
    let matcher = team_matcher("payments");
    let workload: Workload =
        Workload::from_json(WorkloadKind::Deployment, &deployment_json("shop", "checkout"))?;
    let source = |name: &str, labels: &[(&str, &str)]| {
        labels.iter().fold(
            SourceMeta::new(SourceRef::new(SourceKind::ConfigMap, "shop", name)),
            |meta, (k, v)| meta.with_label(*k, *v),
        )
    };
    let owned = matcher.decide(&workload, &source("payments-config", &[(TEAM, "payments")]));
    check(
        out,
        owned.decision.is_reload(),
        "pure: a source labelled example.com/team=payments is matched by Reloader's auto rule",
    )?;
    let other = matcher.decide(&workload, &source("search-config", &[(TEAM, "search")]));
    check(
        out,
        other.decision == Decision::Skip(SkipReason::NotOptedIn),
        "pure: a source of another team is skipped",
    )?;
    let unlabelled = matcher.decide(&workload, &source("search-config", &[]));
    check(
        out,
        !unlabelled.decision.is_reload(),
        "pure: an unlabelled source is skipped",
    )
}

async fn on_the_simulator(out: &mut dyn Write) -> anyhow::Result<()> {
    let sim = Simulator::start().await.context("starting the simulator")?;
    sim.seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}))?;
    sim.seed(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "payments-config", "namespace": "shop",
                     "labels": {TEAM: "payments", "app": "checkout"}},
        "data": {"PSP": "acme"}}))?;
    sim.seed(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "search-config", "namespace": "shop"}, "data": {"INDEX": "v1"}}))?;
    sim.seed(deployment_json("shop", "checkout"))?;

    let recorder = Recorder::new();
    let engine = Engine::new(
        // Keep the team label of every source (only it: the `app` label is dropped).
        EngineConfig::default().source_labels(vec![TEAM.to_owned()]),
        Arc::new(team_matcher("payments")),
        Arc::new(EnvVarStrategy),
        Arc::new(ReloaderHasher),
    )
    .observer(recorder.observer());
    let client = sim.client()?;
    let running = engine.spawn(client.clone());
    let result = edit_both(&client, &recorder, out).await;
    running.stop().await?;
    sim.shutdown().await;
    result
}

async fn edit_both(client: &kube::Client, recorder: &Recorder, out: &mut dyn Write) -> anyhow::Result<()> {
    recorder
        .wait_for("the engine to sync", |e| e.contains(&EngineEvent::Synced))
        .await?;
    let checkout = WorkloadRef::new(WorkloadKind::Deployment, "shop", "checkout");
    let search = SourceRef::new(SourceKind::ConfigMap, "shop", "search-config");
    let payments = SourceRef::new(SourceKind::ConfigMap, "shop", "payments-config");
    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), "shop");
    let edit = |name: &'static str, data: serde_json::Value| {
        let configmaps = configmaps.clone();
        async move {
            configmaps
                .patch(
                    name,
                    &PatchParams::default(),
                    &Patch::Merge(json!({ "data": data })),
                )
                .await
                .with_context(|| format!("editing {name}"))
        }
    };

    edit("search-config", json!({"INDEX": "v2"})).await?;
    say(out, "edited ConfigMap search-config (no team label)")?;
    recorder
        .wait_for("search-config to be skipped", |e| {
            e.iter().any(|e| {
                matches!(e, EngineEvent::Skipped { source, reason: EngineSkip::Matcher(_), .. } if *source == search)
            })
        })
        .await?;
    say(
        out,
        "ok: sim: the engine skipped checkout for search-config (the closure said no)",
    )?;

    edit("payments-config", json!({"PSP": "globex"})).await?;
    say(
        out,
        "edited ConfigMap payments-config (example.com/team=payments)",
    )?;
    recorder
        .wait_for("the rollout for payments-config", |e| {
            e.iter()
                .any(|e| matches!(e, EngineEvent::Reloaded { source, .. } if *source == payments))
        })
        .await?;
    let rollouts: Vec<SourceRef> = recorder
        .events()
        .into_iter()
        .filter_map(|e| match e {
            EngineEvent::Reloaded { source, workload, .. } if workload == checkout => Some(source),
            _ => None,
        })
        .collect();
    let names: Vec<String> = rollouts.iter().map(ToString::to_string).collect();
    say(out, format!("rollouts of checkout: {}", names.join(", ")))?;
    check(
        out,
        rollouts == vec![payments],
        "sim: checkout rolled exactly once, for payments-config only",
    )
}

/// Deployment `name` annotated `reloader.stakater.com/auto`, env from both ConfigMaps.
fn deployment_json(ns: &str, name: &str) -> serde_json::Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "annotations": {"reloader.stakater.com/auto": "true"}},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.27", "envFrom": [
                    {"configMapRef": {"name": "payments-config"}},
                    {"configMapRef": {"name": "search-config"}}
                ]}]}
            }
        }
    })
}
