//! CSI secrets-store integration through the engine and the simulator: a status change of a
//! `SecretProviderClassPodStatus` reloads the workloads mounting its class, a label change does
//! not, and the `ignore` annotation is read from the `SecretProviderClass`.

mod engine_support;

use engine_support::{Strategy, auto, config, count, seed, start, workload};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use reload_core::engine::{EngineEvent, EngineSkip};
use reload_core::hash::ReloaderHasher;
use reload_core::matcher::MatcherConfig;
use reload_core::{Digest, Hasher, SourceContent, SourceKind};
use reload_tests::sim::Simulator;
use serde_json::{Value, json};

const NS: &str = "csi";
const CLASS: &str = "vault-db";
const STATUS: &str = "web-0-csi-vault-db";

fn status_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("secrets-store.csi.x-k8s.io", "v1", "SecretProviderClassPodStatus"),
        "secretproviderclasspodstatuses",
    )
}

fn class(ignore: bool) -> Value {
    let annotations = if ignore {
        json!({"reloader.stakater.com/ignore": "true"})
    } else {
        json!({})
    };
    json!({
        "apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClass",
        "metadata": {"name": CLASS, "namespace": NS, "annotations": annotations},
        "spec": {"provider": "vault", "parameters": {"objects": "db"}}
    })
}

fn pod_status(version: &str) -> Value {
    json!({
        "apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClassPodStatus",
        "metadata": {"name": STATUS, "namespace": NS, "labels": {"internal.secrets-store.csi.k8s.io/node-name": "n1"}},
        "status": {
            "podName": "web-0", "mounted": true, "secretProviderClassName": CLASS, "targetPath": "/var/lib",
            "objects": [{"id": "secret/db", "version": version}]
        }
    })
}

fn deployment() -> Value {
    let pod_spec = json!({
        "containers": [{"name": "app", "image": "nginx",
                        "volumeMounts": [{"name": "secrets", "mountPath": "/mnt/secrets"}]}],
        "volumes": [{"name": "secrets", "csi": {
            "driver": "secrets-store.csi.k8s.io", "readOnly": true,
            "volumeAttributes": {"secretProviderClass": CLASS}
        }}]
    });
    workload("Deployment", NS, "web", auto(), json!({}), pod_spec)
}

fn digest(version: &str) -> Digest {
    let objects = [("secret/db".to_owned(), version.to_owned())];
    ReloaderHasher.digest(&SourceContent::SecretProviderClassPodStatus {
        class_name: CLASS,
        objects: Some(&objects),
    })
}

async fn patch_status(sim: &Simulator, patch: Value) {
    Api::<DynamicObject>::namespaced_with(sim.client().expect("client"), NS, &status_resource())
        .patch(STATUS, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .expect("pod status patched");
}

async fn set_version(sim: &Simulator, version: &str) {
    patch_status(
        sim,
        json!({"status": {"objects": [{"id": "secret/db", "version": version}]}}),
    )
    .await;
}

fn csi_reloads(events: &[EngineEvent]) -> Vec<Digest> {
    events
        .iter()
        .filter_map(|e| match e {
            EngineEvent::Reloaded {
                source, new_digest, ..
            } if source.kind == SourceKind::SecretProviderClass && source.name == CLASS => {
                Some(new_digest.clone())
            }
            _ => None,
        })
        .collect()
}

async fn setup(ignore: bool, strategy: Strategy) -> (Simulator, engine_support::Running) {
    let sim = Simulator::start().await.expect("simulator");
    seed(&sim, class(ignore));
    seed(&sim, pod_status("v1"));
    seed(&sim, deployment());
    let engine = start(&sim, strategy, config().csi(true), MatcherConfig::default()).await;
    if !ignore {
        // An ignored class is never matched, so it is not baselined either.
        engine.wait_baselined(1).await;
    }
    (sim, engine)
}

/// Whether the Deployment's template records `digest` for the class the way `strategy` writes it.
async fn records(sim: &Simulator, strategy: Strategy, digest: &Digest) -> bool {
    let template = engine_support::template(sim, "Deployment", NS, "web").await;
    match strategy {
        Strategy::EnvVars => {
            let var = reload_strategies::env_var_name(SourceKind::SecretProviderClass, CLASS);
            engine_support::env_value(&template, &var).as_deref() == Some(digest.as_str())
        }
        Strategy::Annotations => {
            engine_support::template_annotation(&template, reload_strategies::LAST_RELOADED_FROM)
                .is_some_and(|v| v.contains(digest.as_str()) && v.contains("SECRETPROVIDERCLASS"))
        }
    }
}

async fn status_change_reloads_and_label_change_does_not(strategy: Strategy) {
    let (sim, engine) = setup(false, strategy).await;
    set_version(&sim, "v2").await;
    engine
        .wait_for("the CSI reload", |e| csi_reloads(e) == vec![digest("v2")])
        .await;
    assert!(records(&sim, strategy, &digest("v2")).await);

    // A label edit of the pod status changes no status: no reload. The status change after it
    // (same watch, so later in order) is the only other reload.
    patch_status(&sim, json!({"metadata": {"labels": {"extra": "label"}}})).await;
    set_version(&sim, "v3").await;
    engine
        .wait_for("the second CSI reload", |e| csi_reloads(e).len() >= 2)
        .await;
    let events = engine.events();
    assert_eq!(
        csi_reloads(&events),
        vec![digest("v2"), digest("v3")],
        "{events:#?}"
    );
    assert!(records(&sim, strategy, &digest("v3")).await);
    engine.stop().await;
}

#[tokio::test]
async fn csi_status_change_reloads_and_a_label_change_does_not_with_env_vars() {
    status_change_reloads_and_label_change_does_not(Strategy::EnvVars).await;
}

#[tokio::test]
async fn csi_status_change_reloads_and_a_label_change_does_not_with_annotations() {
    status_change_reloads_and_label_change_does_not(Strategy::Annotations).await;
}

#[tokio::test]
async fn ignore_annotation_on_the_secret_provider_class_is_respected() {
    let (sim, engine) = setup(true, Strategy::EnvVars).await;
    set_version(&sim, "v2").await;
    engine
        .wait_for("the CSI change to be skipped", |e| {
            count(e, |e| {
                matches!(e, EngineEvent::Skipped { source, reason: EngineSkip::Matcher(_), .. }
                    if source.kind == SourceKind::SecretProviderClass)
            }) == 1
        })
        .await;
    let events = engine.events();
    assert!(csi_reloads(&events).is_empty(), "{events:#?}");
    assert!(!records(&sim, Strategy::EnvVars, &digest("v2")).await);
    engine.stop().await;
}

#[tokio::test]
async fn missing_csi_crds_are_reported_once_and_not_an_error() {
    let sim = Simulator::config()
        .custom_kinds(false)
        .start()
        .await
        .expect("simulator");
    seed(&sim, deployment());
    let engine = start(
        &sim,
        Strategy::EnvVars,
        config().csi(true),
        MatcherConfig::default(),
    )
    .await;
    let events = engine.events();
    assert_eq!(
        count(&events, |e| {
            matches!(e, EngineEvent::KindUnavailable { kind, .. } if kind == "SecretProviderClassPodStatus")
        }),
        1,
        "{events:#?}"
    );
    assert_eq!(count(&events, |e| matches!(e, EngineEvent::WatchError { .. })), 0);
    engine.stop().await;
}
