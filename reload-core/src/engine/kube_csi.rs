//! The kube edge for the CSI secrets-store driver (`secrets-store.csi.x-k8s.io/v1`, with
//! [`super::EngineConfig::csi`]): `SecretProviderClassPodStatus` objects are the source of
//! `SecretProviderClass` changes, as in Reloader.
//!
//! - Each pod status is reduced in the stream to a [`SourceRecord`] of the class it reports
//!   on (`status.secretProviderClassName`), digested per `reloader-spec.md` §4 (object ids and
//!   versions plus the class name): only a **status** change moves the digest.
//! - A pod status whose digest did not change since its own last event (a label or annotation
//!   edit) is dropped in the stream, so it cannot reorder the class's digest between pods.
//! - Deletes of pod statuses are dropped (a pod went away; Reloader ignores them too).
//! - The class's `ignore`/`match` annotations are read from the `SecretProviderClass` object
//!   (watched alongside, never reported as a source of its own) and attached to the record.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use futures::stream::{self, StreamExt};
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};

use crate::hash::Hasher;
use crate::source::SecretProviderClassPodStatus;
use crate::watch::WatchEvent;

use super::config::{EngineConfig, Namespaces};
use super::kube::StreamWatcher;
use super::run::SourceWatcher;
use super::sources::SourceRecord;

/// `secretproviderclasspodstatuses` (`secrets-store.csi.x-k8s.io/v1`).
pub fn pod_status_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("secrets-store.csi.x-k8s.io", "v1", "SecretProviderClassPodStatus"),
        "secretproviderclasspodstatuses",
    )
}

/// `secretproviderclasses` (`secrets-store.csi.x-k8s.io/v1`).
pub fn class_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("secrets-store.csi.x-k8s.io", "v1", "SecretProviderClass"),
        "secretproviderclasses",
    )
}

type Annotations = BTreeMap<String, String>;
/// Kept annotations of each class, by (namespace, name).
type Classes = Arc<Mutex<HashMap<(String, String), Annotations>>>;

fn key(object: &DynamicObject) -> Option<(String, String)> {
    Some((object.metadata.namespace.clone()?, object.metadata.name.clone()?))
}

fn kept(object: &DynamicObject, keep: &[String]) -> Annotations {
    object
        .metadata
        .annotations
        .iter()
        .flatten()
        .filter(|(k, _)| keep.contains(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Reduces one pod status to the record of its class; `None` for an object without a readable
/// status (not yet mounted).
fn record(object: &DynamicObject, hasher: &dyn Hasher, classes: &Classes) -> Option<SourceRecord> {
    let status = SecretProviderClassPodStatus::from_json(&serde_json::to_value(object).ok()?).ok()?;
    let id = status.source_ref();
    let annotations = classes
        .lock()
        .ok()?
        .get(&(id.namespace, id.name))
        .cloned()
        .unwrap_or_default();
    Some(SourceRecord::from_pod_status(
        &status,
        object.metadata.resource_version.clone(),
        hasher,
        annotations,
    ))
}

fn namespaced(client: &Client, namespaces: &Namespaces, resource: &ApiResource) -> Vec<Api<DynamicObject>> {
    match namespaces {
        Namespaces::All => vec![Api::all_with(client.clone(), resource)],
        Namespaces::List(list) => list
            .iter()
            .map(|ns| Api::namespaced_with(client.clone(), ns, resource))
            .collect(),
        // Opened per selected namespace by the engine (`NamespaceScope`).
        Namespaces::Selector(_) => Vec::new(),
    }
}

/// The CSI source watchers of `config`: one per watched namespace (or one cluster-wide).
pub fn csi_watchers(client: &Client, config: &EngineConfig, hasher: &Arc<dyn Hasher>) -> Vec<SourceWatcher> {
    let keep: Arc<[String]> = config.get_source_annotations().into();
    let statuses = namespaced(client, config.get_namespaces(), &pod_status_resource());
    let classes = namespaced(client, config.get_namespaces(), &class_resource());
    statuses
        .into_iter()
        .zip(classes)
        .map(|(statuses, classes)| watcher_pair(statuses, classes, hasher.clone(), keep.clone()))
        .collect()
}

enum Item {
    Status(crate::Result<WatchEvent<SourceRecord>>),
    Quiet,
}

fn watcher_pair(
    statuses: Api<DynamicObject>,
    classes: Api<DynamicObject>,
    hasher: Arc<dyn Hasher>,
    keep: Arc<[String]>,
) -> SourceWatcher {
    let known: Classes = Arc::default();
    let writer = known.clone();
    let class_events = watcher::watcher(classes, watcher::Config::default())
        .default_backoff()
        .map(move |item| {
            if let (Ok(event), Ok(mut map)) = (item, writer.lock()) {
                match event {
                    Event::Apply(o) | Event::InitApply(o) => {
                        if let Some(k) = key(&o) {
                            map.insert(k, kept(&o, &keep));
                        }
                    }
                    Event::Delete(o) => {
                        if let Some(k) = key(&o) {
                            map.remove(&k);
                        }
                    }
                    Event::Init | Event::InitDone => {}
                }
            }
            Item::Quiet
        });
    // The last digest of each pod status, to drop events that changed no status.
    let mut last: HashMap<(String, String), crate::hash::Digest> = HashMap::new();
    let status_events = watcher::watcher(statuses, watcher::Config::default())
        .default_backoff()
        .map(move |item| {
            let event = match item {
                Err(error) => {
                    return Item::Status(Err(crate::Error::Watch {
                        kind: "SecretProviderClassPodStatus".into(),
                        problem: error.to_string(),
                    }));
                }
                Ok(event) => event,
            };
            let mapped = match event {
                Event::Init => Some(WatchEvent::ResyncStarted),
                Event::InitDone => Some(WatchEvent::ResyncDone),
                Event::InitApply(o) => record(&o, hasher.as_ref(), &known).map(|r| {
                    if let Some(k) = key(&o) {
                        last.insert(k, r.digest.clone());
                    }
                    WatchEvent::ResyncItem(r)
                }),
                Event::Apply(o) => record(&o, hasher.as_ref(), &known).and_then(|r| {
                    let k = key(&o)?;
                    let same = last.get(&k) == Some(&r.digest);
                    last.insert(k, r.digest.clone());
                    (!same).then_some(WatchEvent::Applied(r))
                }),
                Event::Delete(o) => {
                    if let Some(k) = key(&o) {
                        last.remove(&k);
                    }
                    None
                }
            };
            mapped.map_or(Item::Quiet, |e| Item::Status(Ok(e)))
        });
    let merged = stream::select(class_events, status_events)
        .filter_map(|item| {
            std::future::ready(match item {
                Item::Status(event) => Some(event),
                Item::Quiet => None,
            })
        })
        .boxed();
    Box::new(StreamWatcher::new(merged))
}
