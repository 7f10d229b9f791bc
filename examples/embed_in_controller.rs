//! # embed_in_controller: the reload engine inside your own controller, for your own kind
//!
//! Needs **no cluster**: runs on the embedded simulator. A controller that owns a CRD with a
//! pod template (`spec.template`) embeds the engine next to its own reconciler, so its custom
//! workloads roll when their ConfigMaps/Secrets change, together with plain Deployments.
//!
//! All it takes is describing the kind: [`CustomKind::new`]`(ApiResource, "/spec/template")`
//! (the JSON pointer to the pod template) registered with [`EngineConfig::custom_kind`]. The
//! engine then watches, indexes and writes it like its own kinds ([`Engine::spawn`] runs it as
//! a task): custom resources take no strategic-merge patch, so the engine writes them with a
//! JSON merge patch of the template; for the `env-vars` strategy it reads the object first and
//! sends its whole `containers` list under the resourceVersion read, so nothing is lost.
//!
//! For a kind a pointer cannot describe, implement `Watcher<IndexedWorkload>` and
//! `WorkloadWriter` yourself and call `Engine::run_with`; build the indexed form with
//! `IndexedWorkload::new(Workload::from_json_at(kind, &json, pointer)?).with_metadata(&meta)`.
//!
//! The simulator serves no arbitrary CRDs, so its Argo `Rollout` kind (argoproj.io/v1alpha1,
//! pod template at `spec.template`) stands in for "your CRD" and is registered as a custom kind
//! (the engine then knows nothing of Argo: it is `WorkloadKind::Custom("Rollout")`).
//!
//! ```sh
//! cargo run --release --example embed_in_controller
//! ```

use std::io::Write;
use std::sync::Arc;

use anyhow::Context as _;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use reload_core::engine::{CustomKind, Engine, EngineConfig, EngineEvent, EngineHandle, Namespaces};
use reload_core::hash::ReloaderHasher;
use reload_core::matcher::{AnnotationMatcher, MatcherConfig};
use reload_core::{ReloadStrategy, SourceKind, SourceRef, Workload, WorkloadKind};
use reload_examples::{Recorder, check, reloader_line, say};
use reload_strategies::EnvVarStrategy;
use reload_tests::sim::Simulator;
use serde_json::json;

/// The custom kind: where it is served and where its pod template is.
fn storefronts() -> CustomKind {
    let gvk = GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Rollout");
    CustomKind::new(
        ApiResource::from_gvk_with_plural(&gvk, "rollouts"),
        "/spec/template",
    )
}

/// Starts the embedded engine for Deployments and the custom kind. This is what a
/// controller's `main` spawns next to its own reconciler.
fn start_embedded(client: &kube::Client, namespace: &str, recorder: &Recorder) -> EngineHandle {
    let config = EngineConfig::default()
        .namespaces(Namespaces::List(vec![namespace.to_owned()]))
        .workload_kinds(vec![WorkloadKind::Deployment])
        .custom_kind(storefronts());
    Engine::new(
        config,
        Arc::new(AnnotationMatcher::new(MatcherConfig::default())),
        Arc::new(EnvVarStrategy),
        Arc::new(ReloaderHasher),
    )
    .observer(recorder.observer())
    .spawn(client.clone())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    reload_examples::init_tracing();
    run(&mut std::io::stdout()).await
}

/// A custom-kind object and a Deployment sharing a ConfigMap; one edit rolls both.
pub async fn run(out: &mut dyn Write) -> anyhow::Result<()> {
    let sim = Simulator::start().await.context("starting the simulator")?;
    sim.seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}}))?;
    sim.seed(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "site-config", "namespace": "apps"}, "data": {"THEME": "light"}}))?;
    let template = json!({
        "metadata": {"labels": {"app": "storefront"}},
        "spec": {"containers": [{"name": "app", "image": "storefront:1.0",
            "envFrom": [{"configMapRef": {"name": "site-config"}}]}]}
    });
    let auto = json!({"reloader.stakater.com/auto": "true"});
    sim.seed(json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
        "metadata": {"name": "storefront", "namespace": "apps", "annotations": auto},
        "spec": {"selector": {"matchLabels": {"app": "storefront"}}, "template": template}}))?;
    sim.seed(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "worker", "namespace": "apps", "annotations": auto},
        "spec": {"selector": {"matchLabels": {"app": "storefront"}}, "template": template}}))?;

    let client = sim.client()?;
    let recorder = Recorder::new();
    let running = start_embedded(&client, "apps", &recorder);
    let result = edit_and_check(&client, &recorder, out).await;
    running.stop().await?;
    sim.shutdown().await;
    result
}

async fn edit_and_check(
    client: &kube::Client,
    recorder: &Recorder,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    recorder
        .wait_for("both workloads to be baselined", |e| {
            e.iter()
                .filter(|e| matches!(e, EngineEvent::Baselined { .. }))
                .count()
                >= 2
        })
        .await?;
    Api::<ConfigMap>::namespaced(client.clone(), "apps")
        .patch(
            "site-config",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"THEME": "dark"}})),
        )
        .await
        .context("editing site-config")?;
    say(out, "edited ConfigMap site-config")?;
    recorder
        .wait_for("both rollouts", |e| {
            e.iter().filter_map(reloader_line).count() >= 2
        })
        .await?;
    let mut lines: Vec<String> = recorder.events().iter().filter_map(reloader_line).collect();
    lines.sort();
    for line in &lines {
        say(out, format!("level=info msg=\"{line}\""))?;
    }
    check(
        out,
        lines.len() == 2 && lines.iter().any(|l| l.contains("'storefront' of type 'Rollout'")),
        "the custom kind and the Deployment rolled once each",
    )?;

    let kind = storefronts();
    let api = Api::<DynamicObject>::namespaced_with(client.clone(), "apps", kind.resource());
    let object = serde_json::to_value(api.get("storefront").await?)?;
    let storefront = Workload::from_json_at(kind.kind().clone(), &object, kind.template_pointer())?;
    let source = SourceRef::new(SourceKind::ConfigMap, "apps", "site-config");
    let on_object = EnvVarStrategy.recorded_digest(&storefront, &source);
    let new_digest = recorder.events().into_iter().find_map(|e| match e {
        EngineEvent::Reloaded {
            workload, new_digest, ..
        } if &workload.kind == kind.kind() => Some(new_digest),
        _ => None,
    });
    check(
        out,
        on_object.is_some() && on_object == new_digest,
        "the custom object's pod template records the new digest (env var STAKATER_SITE_CONFIG_CONFIGMAP)",
    )?;
    let container = object.pointer("/spec/template/spec/containers/0");
    check(
        out,
        container.and_then(|c| c.get("image")) == Some(&json!("storefront:1.0"))
            && container.and_then(|c| c.get("envFrom")).is_some(),
        "the merge patch left the rest of the container intact",
    )
}
