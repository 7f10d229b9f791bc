//! # embed_in_controller: the reload engine inside your own controller, for your own kind
//!
//! Needs **no cluster**: runs on the embedded simulator. A controller that owns a CRD with a
//! pod template (`spec.template`) embeds the engine next to its own reconciler, so its custom
//! workloads roll when their ConfigMaps/Secrets change, together with plain Deployments.
//!
//! What the engine's public API offers for this, all used below:
//! - [`Engine::run_with`] takes any source watchers, workload watchers and writer;
//! - `engine::kube::{source_watchers, workload_watchers, KubeWriter}` give the standard ones;
//! - [`Workload::from_json`] + [`IndexedWorkload`] turn any object with a pod template into what
//!   the engine indexes; [`WorkloadKind::Custom`] names the kind;
//! - `engine::kube::StreamWatcher` wraps a stream of [`WatchEvent`]s as a watcher.
//!
//! The simulator serves no arbitrary CRDs, so its Argo `Rollout` kind (argoproj.io/v1alpha1,
//! pod template at `spec.template`) stands in for "your CRD" and is registered as
//! `WorkloadKind::Custom("Rollout")`. CRDs accept no strategic-merge patch, so the custom kind
//! is written with a JSON merge patch, which is only safe for map-shaped bodies: use the
//! `annotations` strategy (the env-vars body patches the `containers` list).
//!
//! ```sh
//! cargo run --release --example embed_in_controller
//! ```

use std::io::Write;
use std::sync::Arc;

use anyhow::Context as _;
use async_trait::async_trait;
use futures::StreamExt as _;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher::{self, Event};
use reload_core::engine::kube::{KubeWriter, StreamWatcher, source_watchers, workload_watchers};
use reload_core::engine::{
    Engine, EngineConfig, EngineEvent, EngineHandle, IndexedWorkload, Namespaces, WorkloadWatcher,
    WorkloadWriter, WriteError,
};
use reload_core::hash::ReloaderHasher;
use reload_core::matcher::{AnnotationMatcher, MatcherConfig};
use reload_core::{
    Hasher, ReloadStrategy, SourceKind, SourceRef, WatchEvent, Workload, WorkloadKind, WorkloadRef,
};
use reload_examples::{Recorder, check, reloader_line, say};
use reload_strategies::AnnotationStrategy;
use reload_tests::sim::Simulator;
use serde_json::{Value, json};

/// The custom kind's API resource.
fn custom_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Rollout"),
        "rollouts",
    )
}

/// The engine's name for the custom kind.
fn custom_kind() -> WorkloadKind {
    WorkloadKind::Custom("Rollout".to_owned())
}

/// What the engine indexes for one custom object; `None` when it has no readable pod template.
fn indexed(object: &DynamicObject) -> Option<IndexedWorkload> {
    let value = serde_json::to_value(object).ok()?;
    let workload = Workload::from_json(custom_kind(), &value).ok()?;
    let meta = &object.metadata;
    Some(IndexedWorkload {
        workload,
        uid: meta.uid.clone(),
        resource_version: meta.resource_version.clone(),
        created_ms: meta.creation_timestamp.as_ref().map(|t| t.0.as_millisecond()),
        paused: false,
    })
}

/// A kube-runtime watch of the custom kind, as the engine's [`WatchEvent`]s: the initial list
/// and every re-list become a resync bracket, so restarts roll nothing by themselves.
fn custom_watcher(client: kube::Client, namespace: &str) -> WorkloadWatcher {
    let api = Api::<DynamicObject>::namespaced_with(client, namespace, &custom_resource());
    let stream = watcher::watcher(api, watcher::Config::default())
        .default_backoff()
        .filter_map(|item| {
            std::future::ready(match item {
                Ok(Event::Apply(o)) => indexed(&o).map(|w| Ok(WatchEvent::Applied(w))),
                Ok(Event::Delete(o)) => indexed(&o).map(|w| Ok(WatchEvent::Deleted(w))),
                Ok(Event::Init) => Some(Ok(WatchEvent::ResyncStarted)),
                Ok(Event::InitApply(o)) => indexed(&o).map(|w| Ok(WatchEvent::ResyncItem(w))),
                Ok(Event::InitDone) => Some(Ok(WatchEvent::ResyncDone)),
                Err(error) => Some(Err(reload_core::Error::Watch {
                    kind: "Rollout".to_owned(),
                    problem: error.to_string(),
                })),
            })
        })
        .boxed();
    Box::new(StreamWatcher::new(stream))
}

/// Writes the custom kind with JSON merge patches and every other kind with the engine's
/// [`KubeWriter`].
struct ControllerWriter {
    client: kube::Client,
    standard: KubeWriter,
    params: PatchParams,
}

fn write_error(error: kube::Error) -> WriteError {
    match error {
        kube::Error::Api(status) => WriteError::new(status.code, status.message),
        other => WriteError::new(0, other.to_string()),
    }
}

#[async_trait]
impl WorkloadWriter for ControllerWriter {
    async fn patch(&self, id: &WorkloadRef, body: &Value) -> Result<IndexedWorkload, WriteError> {
        if id.kind != custom_kind() {
            return self.standard.patch(id, body).await;
        }
        if body.pointer("/spec/template/spec").is_some() {
            // A merge patch would replace the whole containers list.
            return Err(WriteError::new(
                422,
                "container edits need a strategic merge, which custom resources do not accept; use the annotations strategy",
            ));
        }
        let api =
            Api::<DynamicObject>::namespaced_with(self.client.clone(), &id.namespace, &custom_resource());
        let object = api
            .patch(&id.name, &self.params, &Patch::Merge(body))
            .await
            .map_err(write_error)?;
        indexed(&object)
            .ok_or_else(|| WriteError::new(422, "the server returned an object without a pod template"))
    }

    async fn get(&self, id: &WorkloadRef) -> Result<IndexedWorkload, WriteError> {
        if id.kind != custom_kind() {
            return self.standard.get(id).await;
        }
        let api =
            Api::<DynamicObject>::namespaced_with(self.client.clone(), &id.namespace, &custom_resource());
        let object = api.get(&id.name).await.map_err(write_error)?;
        indexed(&object)
            .ok_or_else(|| WriteError::new(422, "the server returned an object without a pod template"))
    }
}

/// Starts the embedded engine: standard watchers for sources and Deployments, our own watcher
/// and writer for the custom kind. This is what a controller's `main` spawns next to its own
/// reconciler.
fn start_embedded(client: &kube::Client, namespace: &str, recorder: &Recorder) -> EngineHandle {
    let config = EngineConfig::default()
        .namespaces(Namespaces::List(vec![namespace.to_owned()]))
        .workload_kinds(vec![WorkloadKind::Deployment]);
    let hasher: Arc<dyn Hasher> = Arc::new(ReloaderHasher);
    let sources = source_watchers(client, &config, &hasher);
    let mut workloads = workload_watchers(client, &config);
    workloads.push(custom_watcher(client.clone(), namespace));
    let writer = Arc::new(ControllerWriter {
        client: client.clone(),
        standard: KubeWriter::new(client.clone(), config.get_field_manager()),
        params: PatchParams {
            field_manager: Some(config.get_field_manager().to_owned()),
            ..PatchParams::default()
        },
    });
    let engine = Engine::new(
        config,
        Arc::new(AnnotationMatcher::new(MatcherConfig::default())),
        Arc::new(AnnotationStrategy),
        hasher,
    )
    .observer(recorder.observer());
    EngineHandle::spawn_with(move |stop| {
        engine.run_with(sources, workloads, writer, async move {
            let _ = stop.await;
        })
    })
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

    let api = Api::<DynamicObject>::namespaced_with(client.clone(), "apps", &custom_resource());
    let object = serde_json::to_value(api.get("storefront").await?)?;
    let storefront = Workload::from_json(custom_kind(), &object)?;
    let source = SourceRef::new(SourceKind::ConfigMap, "apps", "site-config");
    let on_object = AnnotationStrategy.recorded_digest(&storefront, &source);
    let new_digest = recorder.events().into_iter().find_map(|e| match e {
        EngineEvent::Reloaded {
            workload, new_digest, ..
        } if workload.kind == custom_kind() => Some(new_digest),
        _ => None,
    });
    check(
        out,
        on_object.is_some() && on_object == new_digest,
        "the custom object's pod template records the new digest",
    )?;
    check(
        out,
        object.pointer("/spec/template/spec/containers/0/image") == Some(&json!("storefront:1.0")),
        "the merge patch left the containers intact",
    )
}
