//! Following a namespace label selector (Reloader's `--namespace-selector`): the engine watches
//! the Namespaces matching the selector and opens one set of source and workload watches per
//! selected namespace, closing them (and dropping what they indexed) when the namespace stops
//! matching — no restart.
//!
//! The pieces:
//! - [`ScopeTracker`], pure: turns namespace watch events into [`ScopeChange`]s (a re-list is
//!   a state swap: only the differences come out).
//! - [`NamespaceWatches`]: opens the watches of one namespace (the kube implementation reuses
//!   [`super::kube::source_watchers`] and [`super::kube::workload_watchers`] scoped to it).
//! - [`NamespaceScope`]: both, handed to [`super::Engine::run_scoped`].
//!
//! The selector is evaluated by the API server (`labelSelector` on the Namespace watch): a
//! namespace that gains the label arrives as added, one that loses it as deleted, as every API
//! server reports selector transitions.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;
use kube::{Client, ResourceExt};
use tokio::sync::watch;

use crate::hash::Hasher;
use crate::watch::{WatchEvent, Watcher};

use super::config::{EngineConfig, Namespaces};
use super::run::{SourceWatcher, WorkloadWatcher};

/// A namespace entering or leaving the selected set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeChange {
    /// The namespace now matches: open its watches.
    Entered(String),
    /// The namespace no longer matches (or is gone): close its watches, drop what they indexed.
    Left(String),
}

/// The set of selected namespaces, fed with the namespace watch's events.
///
/// ```
/// use reload_core::engine::{ScopeChange, ScopeTracker};
/// use reload_core::WatchEvent;
///
/// let mut scope = ScopeTracker::default();
/// scope.on_event(WatchEvent::ResyncStarted);
/// scope.on_event(WatchEvent::ResyncItem("a".to_owned()));
/// assert_eq!(scope.on_event(WatchEvent::ResyncDone), vec![ScopeChange::Entered("a".into())]);
/// assert!(scope.is_listed());
/// assert_eq!(scope.on_event(WatchEvent::Deleted("a".into())), vec![ScopeChange::Left("a".into())]);
/// ```
#[derive(Debug, Default, Clone)]
pub struct ScopeTracker {
    selected: BTreeSet<String>,
    relisting: Option<BTreeSet<String>>,
    listed: bool,
}

impl ScopeTracker {
    /// Applies one event of the namespace watch; returns what entered or left the selection.
    pub fn on_event(&mut self, event: WatchEvent<String>) -> Vec<ScopeChange> {
        match event {
            WatchEvent::Applied(name) => {
                if self.selected.insert(name.clone()) {
                    vec![ScopeChange::Entered(name)]
                } else {
                    Vec::new()
                }
            }
            WatchEvent::Deleted(name) => {
                if self.selected.remove(&name) {
                    vec![ScopeChange::Left(name)]
                } else {
                    Vec::new()
                }
            }
            WatchEvent::ResyncStarted => {
                self.relisting = Some(BTreeSet::new());
                Vec::new()
            }
            WatchEvent::ResyncItem(name) => {
                self.relisting.get_or_insert_with(BTreeSet::new).insert(name);
                Vec::new()
            }
            WatchEvent::ResyncDone => {
                let now = self.relisting.take().unwrap_or_default();
                self.listed = true;
                let left = self
                    .selected
                    .difference(&now)
                    .map(|n| ScopeChange::Left(n.clone()));
                let entered = now
                    .difference(&self.selected)
                    .map(|n| ScopeChange::Entered(n.clone()));
                let changes = left.chain(entered).collect();
                self.selected = now;
                changes
            }
        }
    }

    /// Whether the namespace watch finished its first list.
    pub fn is_listed(&self) -> bool {
        self.listed
    }

    /// Whether `namespace` is selected now.
    pub fn is_selected(&self, namespace: &str) -> bool {
        self.selected.contains(namespace)
    }
}

/// Opens the watches of one namespace.
pub trait NamespaceWatches: Send + Sync {
    /// The ConfigMap/Secret watches of `namespace`.
    fn sources(&self, namespace: &str) -> Vec<SourceWatcher>;
    /// The workload watches of `namespace`.
    fn workloads(&self, namespace: &str) -> Vec<WorkloadWatcher>;
}

/// What the engine needs to follow a namespace selector: the watch of the selected namespaces
/// (names only) and the opener of per-namespace watches.
pub struct NamespaceScope {
    pub(super) namespaces: Box<dyn Watcher<String>>,
    pub(super) watches: Arc<dyn NamespaceWatches>,
}

impl NamespaceScope {
    /// A scope from a watch of the selected namespaces' names and a watch opener.
    pub fn new(namespaces: Box<dyn Watcher<String>>, watches: Arc<dyn NamespaceWatches>) -> Self {
        NamespaceScope { namespaces, watches }
    }

    /// The kube scope for [`Namespaces::Selector`]: a Namespace watch with the selector as
    /// `labelSelector`, and the config's source and workload watches scoped to each namespace.
    /// `None` for the other [`Namespaces`] modes.
    pub fn kube(client: &Client, config: &EngineConfig, hasher: &Arc<dyn Hasher>) -> Option<Self> {
        let Namespaces::Selector(selector) = config.get_namespaces() else {
            return None;
        };
        let api: Api<Namespace> = Api::all(client.clone());
        let watch_config = kube::runtime::watcher::Config::default().labels(selector);
        let namespaces = super::kube::watch(api, watch_config, |ns: &Namespace| Some(ns.name_any()));
        let watches = KubeNamespaceWatches {
            client: client.clone(),
            config: config.clone(),
            hasher: hasher.clone(),
        };
        Some(NamespaceScope::new(namespaces, Arc::new(watches)))
    }
}

struct KubeNamespaceWatches {
    client: Client,
    config: EngineConfig,
    hasher: Arc<dyn Hasher>,
}

impl KubeNamespaceWatches {
    fn scoped(&self, namespace: &str) -> EngineConfig {
        self.config
            .clone()
            .namespaces(Namespaces::List(vec![namespace.to_owned()]))
    }
}

impl NamespaceWatches for KubeNamespaceWatches {
    fn sources(&self, namespace: &str) -> Vec<SourceWatcher> {
        super::kube::source_watchers(&self.client, &self.scoped(namespace), &self.hasher)
    }

    fn workloads(&self, namespace: &str) -> Vec<WorkloadWatcher> {
        super::kube::workload_watchers(&self.client, &self.scoped(namespace))
    }
}

/// A watcher that ends when its namespace's stop sender fires or is dropped.
pub(super) struct Stoppable<T> {
    inner: Box<dyn Watcher<T>>,
    stop: watch::Receiver<bool>,
}

impl<T> Stoppable<T> {
    pub(super) fn new(inner: Box<dyn Watcher<T>>, stop: watch::Receiver<bool>) -> Self {
        Stoppable { inner, stop }
    }
}

#[async_trait]
impl<T: Send> Watcher<T> for Stoppable<T> {
    async fn next_event(&mut self) -> Option<crate::Result<WatchEvent<T>>> {
        if *self.stop.borrow() {
            return None;
        }
        // The only change ever sent is the stop (and a dropped sender means stop too).
        tokio::select! {
            biased;
            _ = self.stop.changed() => None,
            event = self.inner.next_event() => event,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(names: &[&str]) -> ScopeTracker {
        let mut scope = ScopeTracker::default();
        scope.on_event(WatchEvent::ResyncStarted);
        for name in names {
            scope.on_event(WatchEvent::ResyncItem((*name).to_owned()));
        }
        scope.on_event(WatchEvent::ResyncDone);
        scope
    }

    #[test]
    fn a_namespace_gaining_the_label_enters_once_and_losing_it_leaves_once() {
        let mut scope = listed(&["a"]);
        assert_eq!(
            scope.on_event(WatchEvent::Applied("b".into())),
            vec![ScopeChange::Entered("b".into())]
        );
        assert_eq!(scope.on_event(WatchEvent::Applied("b".into())), vec![]);
        assert_eq!(
            scope.on_event(WatchEvent::Deleted("b".into())),
            vec![ScopeChange::Left("b".into())]
        );
        assert_eq!(scope.on_event(WatchEvent::Deleted("b".into())), vec![]);
        assert!(scope.is_selected("a"));
        assert!(!scope.is_selected("b"));
    }

    #[test]
    fn a_relist_yields_only_the_differences_it_missed() {
        let mut scope = listed(&["a", "b"]);
        scope.on_event(WatchEvent::ResyncStarted);
        scope.on_event(WatchEvent::ResyncItem("b".into()));
        scope.on_event(WatchEvent::ResyncItem("c".into()));
        let changes = scope.on_event(WatchEvent::ResyncDone);
        assert_eq!(
            changes,
            vec![ScopeChange::Left("a".into()), ScopeChange::Entered("c".into())]
        );
    }

    #[test]
    fn the_scope_is_listed_only_after_the_first_list_completes() {
        let mut scope = ScopeTracker::default();
        scope.on_event(WatchEvent::ResyncStarted);
        scope.on_event(WatchEvent::ResyncItem("a".into()));
        assert!(!scope.is_listed());
        scope.on_event(WatchEvent::ResyncDone);
        assert!(scope.is_listed());
    }
}
