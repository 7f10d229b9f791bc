//! The engine loop's side of a namespace selector: opening and closing one namespace's watches
//! as the [`ScopeTracker`] reports namespaces entering and leaving, and holding a newly opened
//! namespace's work until all its watches have listed (so its workloads are decided against
//! its sources, as at startup).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::stream::{BoxStream, StreamExt};
use tokio::sync::watch;

use crate::watch::{WatchEvent, Watcher};
use crate::workload::WorkloadRef;

use super::super::decide::Trigger;
use super::super::namespaces::{NamespaceScope, NamespaceWatches, ScopeChange, ScopeTracker, Stoppable};
use super::{Input, State, into_stream};

/// One open namespace: the indices of its watches and the sender that stops them (dropping it
/// stops them too).
struct Opened {
    sources: Vec<usize>,
    workloads: Vec<usize>,
    stop: watch::Sender<bool>,
    listing: bool,
}

/// What the loop keeps to follow a namespace selector.
pub(super) struct ScopeState {
    tracker: ScopeTracker,
    watches: Arc<dyn NamespaceWatches>,
    open: HashMap<String, Opened>,
    source_owner: HashMap<usize, String>,
    workload_owner: HashMap<usize, String>,
    retired_sources: HashSet<usize>,
    retired_workloads: HashSet<usize>,
}

impl ScopeState {
    /// The loop state for `scope`, and the namespace watch as a loop input.
    pub(super) fn new(scope: NamespaceScope) -> (Self, BoxStream<'static, Input>) {
        let stream = into_stream(scope.namespaces).map(Input::Namespace).boxed();
        let state = ScopeState {
            tracker: ScopeTracker::default(),
            watches: scope.watches,
            open: HashMap::new(),
            source_owner: HashMap::new(),
            workload_owner: HashMap::new(),
            retired_sources: HashSet::new(),
            retired_workloads: HashSet::new(),
        };
        (state, stream)
    }

    pub(super) fn is_listed(&self) -> bool {
        self.tracker.is_listed()
    }

    pub(super) fn is_retired_source(&self, watch: usize) -> bool {
        self.retired_sources.contains(&watch)
    }

    pub(super) fn is_retired_workload(&self, watch: usize) -> bool {
        self.retired_workloads.contains(&watch)
    }
}

fn stoppable<T: Send + 'static>(
    watchers: Vec<Box<dyn Watcher<T>>>,
    stop: &watch::Sender<bool>,
) -> Vec<Box<dyn Watcher<T>>> {
    watchers
        .into_iter()
        .map(|w| Box::new(Stoppable::new(w, stop.subscribe())) as Box<dyn Watcher<T>>)
        .collect()
}

impl State {
    /// An event of the namespace watch; returns the inputs of namespaces that entered.
    pub(super) fn on_namespace(&mut self, event: WatchEvent<String>) -> Vec<BoxStream<'static, Input>> {
        let Some(scope) = self.scope.as_mut() else {
            return Vec::new();
        };
        let changes = scope.tracker.on_event(event);
        let mut inputs = Vec::new();
        for change in changes {
            match change {
                ScopeChange::Entered(namespace) => inputs.extend(self.open_namespace(namespace)),
                ScopeChange::Left(namespace) => self.close_namespace(&namespace),
            }
        }
        self.check_synced();
        inputs
    }

    fn open_namespace(&mut self, namespace: String) -> Vec<BoxStream<'static, Input>> {
        let Some(scope) = self.scope.as_mut() else {
            return Vec::new();
        };
        if self.engine.config.is_namespace_ignored(&namespace) {
            return Vec::new();
        }
        let (stop, _) = watch::channel(false);
        let sources = stoppable(scope.watches.sources(&namespace), &stop);
        let workloads = stoppable(scope.watches.workloads(&namespace), &stop);
        let mut opened = Opened {
            sources: Vec::new(),
            workloads: Vec::new(),
            stop,
            listing: true,
        };
        let mut inputs = Vec::new();
        for watcher in sources {
            let i = self.n_sources;
            self.n_sources += 1;
            opened.sources.push(i);
            scope.source_owner.insert(i, namespace.clone());
            inputs.push(into_stream(watcher).map(move |e| Input::Source(i, e)).boxed());
        }
        for watcher in workloads {
            let i = self.n_workloads;
            self.n_workloads += 1;
            opened.workloads.push(i);
            scope.workload_owner.insert(i, namespace.clone());
            inputs.push(into_stream(watcher).map(move |e| Input::Workload(i, e)).boxed());
        }
        scope.open.insert(namespace, opened);
        inputs
    }

    fn close_namespace(&mut self, namespace: &str) {
        let Some(scope) = self.scope.as_mut() else {
            return;
        };
        let Some(opened) = scope.open.remove(namespace) else {
            return;
        };
        // The watchers end at their next poll; their final `None` still reaches the loop.
        let _ = opened.stop.send(true);
        for i in &opened.sources {
            scope.source_owner.remove(i);
            scope.retired_sources.insert(*i);
            self.sources.retire_watch(*i);
        }
        let mut gone: Vec<WorkloadRef> = Vec::new();
        for i in &opened.workloads {
            scope.workload_owner.remove(i);
            scope.retired_workloads.insert(*i);
            gone.extend(self.index.retire_watch(*i));
        }
        for id in gone {
            self.memory.remove(&id);
            self.queue.forget(&id);
            self.fights.retain(|(w, _), _| w != &id);
        }
    }

    /// Whether `namespace` was opened by the selector and some of its watches have not listed
    /// yet: its workloads wait (they are triggered again once it has).
    pub(super) fn is_namespace_listing(&self, namespace: &str) -> bool {
        self.scope
            .as_ref()
            .and_then(|s| s.open.get(namespace))
            .is_some_and(|o| o.listing)
    }

    /// A watch finished a list: if it completes its namespace's first lists, every workload
    /// of the namespace is reconciled (as at startup).
    pub(super) fn on_scoped_list_done(&mut self, source_watch: Option<usize>, workload_watch: Option<usize>) {
        let Some(scope) = self.scope.as_mut() else {
            return;
        };
        let owner = source_watch
            .and_then(|i| scope.source_owner.get(&i))
            .or_else(|| workload_watch.and_then(|i| scope.workload_owner.get(&i)))
            .cloned();
        let Some(namespace) = owner else {
            return;
        };
        let Some(opened) = scope.open.get_mut(&namespace) else {
            return;
        };
        let all_listed = opened.sources.iter().all(|i| self.sources.is_synced(*i))
            && opened.workloads.iter().all(|i| self.index.is_synced(*i));
        if !opened.listing || !all_listed {
            return;
        }
        opened.listing = false;
        let mut ids: Vec<WorkloadRef> = self
            .index
            .ids()
            .into_iter()
            .filter(|id| id.namespace == namespace)
            .collect();
        ids.sort();
        for id in ids {
            self.push(
                id,
                Trigger {
                    first_index: true,
                    ..Trigger::default()
                },
            );
        }
    }
}
