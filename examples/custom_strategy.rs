//! # custom_strategy: "delete pods" for operator-managed StatefulSets
//!
//! Needs **no cluster**: runs on the embedded simulator. Operators that own a StatefulSet
//! (databases, brokers) revert any change to its pod template, so Reloader's strategies end in
//! a fight (Reloader #972, #1018). This strategy never touches the template: it records the
//! digest in the StatefulSet's own metadata annotation `example.com/pods-restarted-for`
//! (restarts nothing by itself, and the operator leaves it alone), and a small companion task
//! deletes the StatefulSet's pods when the engine reports the reload; the StatefulSet
//! controller recreates them with the new configuration.
//!
//! The strategy is proven with `reload_core::testing::check_strategy_laws` (feature
//! `testing`): idempotence, new digests recorded, footprint limited to workload annotations,
//! commutation.
//!
//! ```sh
//! cargo run --release --example custom_strategy
//! ```

use std::io::Write;
use std::sync::Arc;

use anyhow::Context as _;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use reload_core::engine::{Engine, EngineConfig, EngineEvent};
use reload_core::hash::ReloaderHasher;
use reload_core::matcher::{AnnotationMatcher, MatcherConfig};
use reload_core::testing::{Footprint, LawConfig, check_strategy_laws};
use reload_core::trigger::{self, TriggerState};
use reload_core::{
    Change, Digest, Edit, Plan, ReloadStrategy, SourceRef, Workload, WorkloadKind, WorkloadRef,
};
use reload_examples::{Recorder, check, say};
use reload_tests::sim::Simulator;
use serde_json::json;
use tokio::sync::mpsc;

/// The workload metadata annotation where the strategy records, per source, the digest it
/// restarted the pods for (the trigger-state JSON of `reload_core::trigger`).
const RESTARTED_FOR: &str = "example.com/pods-restarted-for";

/// Records digests in the workload's metadata; the pods are deleted by [`delete_pods`].
struct DeletePods;

impl DeletePods {
    /// The recorded digests (empty when absent or unreadable: never a panic on input).
    fn state(workload: &Workload) -> TriggerState {
        workload
            .annotations
            .get(RESTARTED_FOR)
            .and_then(|value| trigger::parse(value).ok())
            .unwrap_or_default()
    }
}

impl ReloadStrategy for DeletePods {
    fn name(&self) -> &'static str {
        "delete-pods"
    }

    fn plan(&self, workload: &Workload, change: &Change) -> Option<Plan> {
        let mut state = Self::state(workload);
        let source = &change.source;
        if state.get(source.kind, &source.name) == Some(&change.digest) {
            return None;
        }
        state.insert(source.kind, &source.name, change.digest.clone());
        Some(Plan {
            source: source.clone(),
            digest: change.digest.clone(),
            edits: vec![Edit::SetAnnotation {
                key: RESTARTED_FOR.to_owned(),
                value: Some(trigger::render(&state)),
            }],
        })
    }

    fn recorded_digest(&self, workload: &Workload, source: &SourceRef) -> Option<Digest> {
        Self::state(workload).get(source.kind, &source.name).cloned()
    }
}

/// The companion: deletes the pods of every StatefulSet the engine reports as reloaded,
/// highest ordinal first, and reports each StatefulSet it finished on `done`.
///
/// A production version would wait for each pod to be Ready again before deleting the next
/// (as a StatefulSet rolling update does); the simulator runs no pods, so this one does not.
async fn delete_pods(
    client: kube::Client,
    mut reloaded: mpsc::UnboundedReceiver<WorkloadRef>,
    done: mpsc::UnboundedSender<anyhow::Result<Vec<String>>>,
) {
    while let Some(id) = reloaded.recv().await {
        let result = delete_pods_of(&client, &id).await;
        if done.send(result).is_err() {
            return;
        }
    }
}

async fn delete_pods_of(client: &kube::Client, id: &WorkloadRef) -> anyhow::Result<Vec<String>> {
    let statefulset = Api::<StatefulSet>::namespaced(client.clone(), &id.namespace)
        .get(&id.name)
        .await
        .with_context(|| format!("reading {id}"))?;
    let selector = statefulset
        .spec
        .and_then(|spec| spec.selector.match_labels)
        .unwrap_or_default()
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    anyhow::ensure!(!selector.is_empty(), "{id} has no matchLabels selector");
    let pods: Api<Pod> = Api::namespaced(client.clone(), &id.namespace);
    let mut names: Vec<String> = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .context("listing pods")?
        .items
        .into_iter()
        .filter_map(|pod| pod.metadata.name)
        .collect();
    names.sort_by(|a, b| b.cmp(a));
    for name in &names {
        pods.delete(name, &DeleteParams::default())
            .await
            .with_context(|| format!("deleting pod {name}"))?;
    }
    Ok(names)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    reload_examples::init_tracing();
    run(&mut std::io::stdout()).await
}

/// The law check, then the strategy and its companion on the simulator.
pub async fn run(out: &mut dyn Write) -> anyhow::Result<()> {
    let laws = LawConfig::default()
        .cases(128)
        .footprint(Footprint::nothing().workload_annotations());
    check_strategy_laws(&DeletePods, &laws).map_err(|failure| anyhow::anyhow!("{failure}"))?;
    say(
        out,
        "ok: delete-pods passes the strategy laws (128 generated cases, footprint: workload annotations)",
    )?;
    on_the_simulator(out).await
}

async fn on_the_simulator(out: &mut dyn Write) -> anyhow::Result<()> {
    let sim = Simulator::start().await.context("starting the simulator")?;
    sim.seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "data"}}))?;
    sim.seed(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "db-config", "namespace": "data"}, "data": {"max_connections": "100"}}))?;
    sim.seed(json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": "data",
                     "annotations": {"reloader.stakater.com/auto": "true"},
                     "labels": {"app.kubernetes.io/managed-by": "db-operator"}},
        "spec": {
            "serviceName": "db", "replicas": 3,
            "selector": {"matchLabels": {"app": "db"}},
            "template": {
                "metadata": {"labels": {"app": "db"}},
                "spec": {"containers": [{"name": "db", "image": "postgres:17",
                    "envFrom": [{"configMapRef": {"name": "db-config"}}]}]}
            }
        }
    }))?;
    for ordinal in 0..3 {
        sim.seed(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("db-{ordinal}"), "namespace": "data", "labels": {"app": "db"}},
            "spec": {"containers": [{"name": "db", "image": "postgres:17"}]}}))?;
    }
    let client = sim.client()?;
    let result = reload_and_delete(&client, out).await;
    sim.shutdown().await;
    result
}

async fn reload_and_delete(client: &kube::Client, out: &mut dyn Write) -> anyhow::Result<()> {
    let (reloaded_tx, reloaded_rx) = mpsc::unbounded_channel();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel();
    let companion = tokio::spawn(delete_pods(client.clone(), reloaded_rx, done_tx));
    let recorder = Recorder::new();
    let record = recorder.observer();
    let observer = move |event: &EngineEvent| {
        record.observe(event);
        if let EngineEvent::Reloaded {
            workload,
            dry_run: false,
            ..
        } = event
            && workload.kind == WorkloadKind::StatefulSet
        {
            // The observer is sync and cheap: hand the work to the companion task.
            let _ = reloaded_tx.send(workload.clone());
        }
    };
    let engine = Engine::new(
        EngineConfig::default().workload_kinds(vec![WorkloadKind::StatefulSet]),
        Arc::new(AnnotationMatcher::new(MatcherConfig::default())),
        Arc::new(DeletePods),
        Arc::new(ReloaderHasher),
    )
    .observer(Arc::new(observer));
    let running = engine.spawn(client.clone());
    let result = async {
        recorder
            .wait_for("the baseline of db", |e| {
                e.iter().any(|e| matches!(e, EngineEvent::Baselined { .. }))
            })
            .await?;
        let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), "data");
        let template_before = statefulsets.get("db").await?.spec.map(|s| s.template);
        Api::<ConfigMap>::namespaced(client.clone(), "data")
            .patch(
                "db-config",
                &PatchParams::default(),
                &Patch::Merge(json!({"data": {"max_connections": "200"}})),
            )
            .await
            .context("editing db-config")?;
        say(out, "edited ConfigMap db-config")?;
        let deleted = tokio::time::timeout(reload_examples::WAIT, done_rx.recv())
            .await
            .context("timed out waiting for the pods to be deleted")?
            .context("the companion stopped")??;
        say(out, format!("deleted pods {}", deleted.join(", ")))?;
        check(
            out,
            deleted == ["db-2", "db-1", "db-0"],
            "every pod of db deleted, highest ordinal first",
        )?;
        let db = statefulsets.get("db").await?;
        let restarted_for = db
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(RESTARTED_FOR))
            .cloned()
            .unwrap_or_default();
        say(
            out,
            format!("StatefulSet db metadata: {RESTARTED_FOR}={restarted_for}"),
        )?;
        let new_digest = recorder.events().into_iter().find_map(|e| match e {
            EngineEvent::Reloaded { new_digest, .. } => Some(new_digest),
            _ => None,
        });
        check(
            out,
            new_digest.is_some_and(|d| restarted_for.contains(d.as_str())),
            "the StatefulSet records the new digest of db-config",
        )?;
        check(
            out,
            db.spec.map(|s| s.template) == template_before,
            "the pod template is untouched (nothing for the operator to revert)",
        )?;
        let rollouts = recorder.count(|e| matches!(e, EngineEvent::Reloaded { .. }));
        check(out, rollouts == 1, "exactly one reload reported")
    }
    .await;
    running.stop().await?;
    companion.abort();
    result
}
