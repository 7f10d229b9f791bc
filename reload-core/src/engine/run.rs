//! The engine's event loop: one task owns the stores, the index and the queue; decisions are
//! made there synchronously ([`super::decide`]), writes run as bounded concurrent tasks whose
//! results come back to the loop.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use futures::stream::{self, BoxStream, StreamExt};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::decision::MatchProblem;
use crate::hash::{Digest, Hasher};
use crate::matcher::Matcher;
use crate::source::{SourceKind, SourceRef};
use crate::strategy::ReloadStrategy;
use crate::watch::{WatchEvent, Watcher};
use crate::workload::WorkloadRef;

use super::apply::{WorkloadWriter, WriteOutcome};
use super::config::EngineConfig;
use super::decide::{Decided, Trigger};
use super::index::{IndexedWorkload, WorkloadIndex};
use super::namespaces::NamespaceScope;
use super::observer::{EngineEvent, Observer};
use super::pause::{self, PauseKeys};
use super::queue::{Pending, Queue};
use super::rate::{RolloutLimiter, WriteLimiter};
use super::resume::ResumeTimers;
use super::sources::{SourceDelta, SourceRecord, SourceStore};
use super::stats::{CacheSnapshot, CacheStats, PUBLISH_EVERY};

/// A boxed source watcher.
pub type SourceWatcher = Box<dyn Watcher<SourceRecord>>;
/// A boxed workload watcher.
pub type WorkloadWatcher = Box<dyn Watcher<IndexedWorkload>>;

/// The reload engine. Build it with [`Engine::new`], then [`Engine::run`] (kube) or
/// [`Engine::run_with`] (any watchers and writer).
#[doc(alias = "reloader")]
pub struct Engine {
    pub(super) config: EngineConfig,
    pub(super) matcher: Arc<dyn Matcher>,
    pub(super) strategy: Arc<dyn ReloadStrategy>,
    pub(super) hasher: Arc<dyn Hasher>,
    pub(super) observer: Arc<dyn Observer>,
    pub(super) stats: Option<CacheStats>,
    pub(super) gate: Option<tokio::sync::watch::Receiver<bool>>,
}

enum Input {
    Source(usize, Option<crate::Result<WatchEvent<SourceRecord>>>),
    Workload(usize, Option<crate::Result<WatchEvent<IndexedWorkload>>>),
    Namespace(Option<crate::Result<WatchEvent<String>>>),
}

fn into_stream<T: Send + 'static>(
    watcher: Box<dyn Watcher<T>>,
) -> BoxStream<'static, Option<crate::Result<WatchEvent<T>>>> {
    stream::unfold(Some(watcher), |state| async move {
        let mut watcher = state?;
        match watcher.next_event().await {
            Some(event) => Some((Some(event), Some(watcher))),
            None => Some((None, None)),
        }
    })
    .boxed()
}

/// A finished write task, with the instant its workload was decided.
type Done = (WorkloadRef, Pending, Decided, WriteOutcome, Instant);

impl Engine {
    /// An engine deciding with `matcher`, writing with `strategy`, digesting with `hasher`.
    /// Events go nowhere until [`Engine::observer`] is set.
    pub fn new(
        config: EngineConfig,
        matcher: Arc<dyn Matcher>,
        strategy: Arc<dyn ReloadStrategy>,
        hasher: Arc<dyn Hasher>,
    ) -> Self {
        Engine {
            config,
            matcher,
            strategy,
            hasher,
            observer: Arc::new(|_: &EngineEvent| {}),
            stats: None,
            gate: None,
        }
    }

    /// Sets the observer that receives every decision.
    #[must_use]
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = observer;
        self
    }

    /// Publishes cache statistics into `stats` while running (for `/debug/cache`), at most
    /// once a second and only after changes.
    #[must_use]
    pub fn cache_stats(mut self, stats: CacheStats) -> Self {
        self.stats = Some(stats);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Runs the engine on the given watchers and writer until `shutdown` resolves or every
    /// watcher ends. Watch errors are reported to the observer and never end the loop.
    ///
    /// # Errors
    /// None today; the `Result` leaves room for fatal setup errors.
    pub async fn run_with(
        self,
        source_watchers: Vec<SourceWatcher>,
        workload_watchers: Vec<WorkloadWatcher>,
        writer: Arc<dyn WorkloadWriter>,
        shutdown: impl Future<Output = ()>,
    ) -> crate::Result<()> {
        self.run_scoped(source_watchers, workload_watchers, None, writer, shutdown)
            .await
    }

    /// As [`Engine::run_with`], and with a [`NamespaceScope`] also follows a namespace
    /// selector: each selected namespace gets its own watches from the scope, opened when it
    /// enters the selection and closed (what they indexed dropped) when it leaves. Reconciling
    /// starts once the namespace list and every watch opened for it have listed.
    ///
    /// # Errors
    /// As [`Engine::run_with`].
    pub async fn run_scoped(
        self,
        source_watchers: Vec<SourceWatcher>,
        workload_watchers: Vec<WorkloadWatcher>,
        scope: Option<NamespaceScope>,
        writer: Arc<dyn WorkloadWriter>,
        shutdown: impl Future<Output = ()>,
    ) -> crate::Result<()> {
        let n_sources = source_watchers.len();
        let n_workloads = workload_watchers.len();
        let mut inputs: Vec<BoxStream<'static, Input>> = Vec::new();
        for (i, w) in source_watchers.into_iter().enumerate() {
            inputs.push(into_stream(w).map(move |e| Input::Source(i, e)).boxed());
        }
        for (i, w) in workload_watchers.into_iter().enumerate() {
            inputs.push(into_stream(w).map(move |e| Input::Workload(i, e)).boxed());
        }
        let scope = scope.map(ScopeState::new).map(|(state, input)| {
            inputs.push(input);
            state
        });
        let mut live = inputs.len();
        let mut inputs = stream::select_all(inputs);
        let mut state = State::new(self, n_sources, n_workloads, writer);
        state.scope = scope;
        let mut shutdown = pin!(shutdown);
        let mut tasks: JoinSet<Done> = JoinSet::new();
        let mut published = Instant::now();
        let mut stats_dirty = true;
        let mut gate = state.engine.gate.clone();
        let mut recovering = None;
        loop {
            state.fire_resumes();
            state.fire_drift_checks();
            if let Some(recovery) = state.start_recovery() {
                recovering = Some(recovery);
            }
            state.dispatch(&mut tasks);
            if let Some(stats) = &state.engine.stats
                && stats_dirty
                && published.elapsed() >= PUBLISH_EVERY
            {
                stats.publish(CacheSnapshot::of(&state.sources, &state.index));
                published = Instant::now();
                stats_dirty = false;
            }
            let stats_at = (stats_dirty && state.engine.stats.is_some()).then(|| published + PUBLISH_EVERY);
            // While the write gate is closed, ready work waits in the queue: no wake-ups for it.
            let deadline = [
                state.next_resume(),
                state.recovery_retry_at(),
                state.next_drift_check(),
            ]
            .into_iter()
            .fold(state.next_write_at(), earliest);
            tokio::select! {
                () = &mut shutdown => break,
                open = super::handle::gate_changed(&mut gate), if gate.is_some() => {
                    state.emit(&EngineEvent::WriteGate { open: open.unwrap_or(false) });
                    if open != Some(true) {
                        state.on_writes_closed();
                    }
                    if open.is_none() {
                        gate = None;
                    }
                }
                input = inputs.next(), if live > 0 => match input {
                    Some(input) => live = state.on_input(input, &mut inputs, live),
                    None => live = 0,
                },
                recoveries = recover::recovered(&mut recovering), if recovering.is_some() => {
                    recovering = None;
                    state.on_recovered(recoveries);
                }
                Some(done) = tasks.join_next(), if !tasks.is_empty() => match done {
                    Ok(done) => state.on_done(done),
                    Err(e) => state.emit(&EngineEvent::WatchError { cause: format!("write task failed: {e}") }),
                },
                () = sleep_until(deadline), if deadline.is_some() => {}
                () = sleep_until(stats_at), if stats_at.is_some() => continue,
            }
            stats_dirty = true;
            if live == 0 && tasks.is_empty() && (state.queue.is_idle() || !state.synced) {
                break;
            }
        }
        Ok(())
    }
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(at) = deadline {
        tokio::time::sleep_until(at).await;
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

struct State {
    engine: Engine,
    writer: Arc<dyn WorkloadWriter>,
    write_limiter: Arc<WriteLimiter>,
    rollouts: RolloutLimiter,
    sources: SourceStore,
    index: WorkloadIndex,
    queue: Queue,
    memory: HashMap<WorkloadRef, BTreeMap<SourceRef, Digest>>,
    fights: HashMap<(WorkloadRef, SourceRef), (Digest, u32)>,
    resumes: ResumeTimers,
    unsupported: HashSet<WorkloadRef>,
    n_sources: usize,
    n_workloads: usize,
    synced: bool,
    scope: Option<ScopeState>,
    recovery: RecoveryStep,
    /// Writes held behind one probe: the API server could not be reached.
    outage: Option<Outage>,
    /// Watches that reported an error and have not delivered since.
    disrupted: HashSet<WatchId>,
    /// When the check after a reconnect is due.
    drift_check_at: Option<Instant>,
    /// When the next periodic resync is due.
    next_resync: Option<Instant>,
}

impl State {
    fn new(engine: Engine, n_sources: usize, n_workloads: usize, writer: Arc<dyn WorkloadWriter>) -> Self {
        let config = &engine.config;
        State {
            write_limiter: Arc::new(WriteLimiter::new(config.get_write_rate())),
            rollouts: RolloutLimiter::new(
                config.get_rollout_rate(),
                config.get_namespace_rollout_rate(),
                Instant::now(),
            ),
            index: WorkloadIndex::new(config.get_named_reload_annotations().to_vec()),
            engine,
            writer,
            sources: SourceStore::new(),
            queue: Queue::new(),
            memory: HashMap::new(),
            fights: HashMap::new(),
            resumes: ResumeTimers::default(),
            unsupported: HashSet::new(),
            n_sources,
            n_workloads,
            synced: false,
            scope: None,
            recovery: RecoveryStep::Due,
            outage: None,
            disrupted: HashSet::new(),
            drift_check_at: None,
            next_resync: None,
        }
    }

    fn emit(&self, event: &EngineEvent) {
        self.engine.observer.observe(event);
    }

    /// Applies one input of a watch; returns how many inputs are live afterwards (a
    /// namespace entering a selector opens new ones, an input that ended is one less).
    fn on_input(
        &mut self,
        input: Input,
        inputs: &mut stream::SelectAll<BoxStream<'static, Input>>,
        live: usize,
    ) -> usize {
        match input {
            Input::Source(i, Some(Ok(event))) => {
                self.watch_delivered(WatchId::Source(i), &event);
                self.on_source(i, event);
            }
            Input::Workload(i, Some(Ok(event))) => {
                self.watch_delivered(WatchId::Workload(i), &event);
                self.on_workload(i, event);
            }
            Input::Workload(_, Some(Err(crate::Error::UnsupportedWorkload { workload, reason }))) => {
                self.on_unsupported(workload, reason);
            }
            Input::Namespace(Some(Ok(event))) => {
                self.watch_delivered(WatchId::Namespace, &event);
                let opened = self.on_namespace(event);
                let n = opened.len();
                inputs.extend(opened);
                return live + n;
            }
            Input::Source(i, Some(Err(e))) => self.on_watch_error(WatchId::Source(i), &e),
            Input::Workload(i, Some(Err(e))) => self.on_watch_error(WatchId::Workload(i), &e),
            Input::Namespace(Some(Err(e))) => self.on_watch_error(WatchId::Namespace, &e),
            Input::Source(_, None) | Input::Workload(_, None) | Input::Namespace(None) => {
                return live.saturating_sub(1);
            }
        }
        live
    }

    /// A watch error: reported, and the watch's next delivery counts as a reconnect.
    fn on_watch_error(&mut self, watch: WatchId, error: &crate::Error) {
        self.watch_failed(watch);
        self.emit(&EngineEvent::WatchError {
            cause: error.to_string(),
        });
    }

    fn pause_keys(&self) -> PauseKeys<'_> {
        PauseKeys {
            period: self.engine.config.get_pause_period_annotation(),
            paused_at: self.engine.config.get_paused_at_annotation(),
        }
    }

    /// Queues a trigger; a source-triggered DaemonSet/StatefulSet with a pause-period gets the
    /// period as its debounce window (they cannot be paused).
    fn push(&mut self, id: WorkloadRef, trigger: Trigger) {
        let mut debounce = self.engine.config.get_debounce();
        if !(trigger.sources.is_empty() && trigger.deleted.is_empty())
            && let Some(period) = self
                .index
                .get(&id)
                .and_then(|w| pause::debounce(&w.workload, self.pause_keys()))
        {
            debounce = Some(debounce.map_or(period, |d| d.max(period)));
        }
        self.queue.push(id.clone(), trigger, Instant::now(), debounce);
        self.emit(&EngineEvent::Queued {
            workload: id,
            depth: self.queue.len(),
        });
    }

    /// Re-derives the resume timer of `id` from its indexed state.
    fn track_pause(&mut self, id: &WorkloadRef) {
        let keys = PauseKeys {
            period: self.engine.config.get_pause_period_annotation(),
            paused_at: self.engine.config.get_paused_at_annotation(),
        };
        match self.index.get(id) {
            Some(indexed) => self.resumes.track(indexed, keys),
            None => self.resumes.forget(id),
        }
    }

    /// The instant of the earliest resume timer.
    fn next_resume(&self) -> Option<Instant> {
        let due = self.resumes.next_due_ms()?;
        let wait = u64::try_from(due.saturating_sub(now_ms())).unwrap_or(0);
        Some(Instant::now() + std::time::Duration::from_millis(wait))
    }

    /// Queues a reconcile of every Deployment whose pause is due (the reconcile resumes it).
    fn fire_resumes(&mut self) {
        for id in self.resumes.take_due(now_ms()) {
            self.push(id, Trigger::default());
        }
    }

    /// A watched workload the engine cannot reload: reported once (until it changes back),
    /// and dropped from the index.
    fn on_unsupported(&mut self, workload: WorkloadRef, reason: String) {
        self.index.remove(&workload);
        self.queue.forget(&workload);
        self.resumes.forget(&workload);
        if self.unsupported.insert(workload.clone()) {
            self.emit(&EngineEvent::MatchProblem {
                workload,
                problem: MatchProblem::UnsupportedWorkload { reason },
            });
        }
    }

    fn check_synced(&mut self) {
        if self.synced {
            return;
        }
        let scope = self.scope.as_ref();
        let sources = (0..self.n_sources)
            .all(|i| self.sources.is_synced(i) || scope.is_some_and(|s| s.is_retired_source(i)));
        let workloads = (0..self.n_workloads)
            .all(|i| self.index.is_synced(i) || scope.is_some_and(|s| s.is_retired_workload(i)));
        if sources && workloads && scope.is_none_or(ScopeState::is_listed) {
            self.synced = true;
            self.emit(&EngineEvent::Synced);
        }
    }

    /// Whether `event` concerns an object of an ignored namespace (dropped on arrival).
    fn is_ignored<T>(&self, event: &WatchEvent<T>, namespace: impl Fn(&T) -> &String) -> bool {
        match event {
            WatchEvent::Applied(object) | WatchEvent::Deleted(object) | WatchEvent::ResyncItem(object) => {
                self.engine.config.is_namespace_ignored(namespace(object))
            }
            WatchEvent::ResyncStarted | WatchEvent::ResyncDone => false,
        }
    }

    fn on_source(&mut self, watch: usize, event: WatchEvent<SourceRecord>) {
        if self.is_ignored(&event, |record| &record.id.namespace)
            || self.scope.as_ref().is_some_and(|s| s.is_retired_source(watch))
        {
            return;
        }
        match event {
            WatchEvent::Applied(record) => {
                let delta = self.sources.apply(watch, record, now_ms());
                self.on_delta(delta);
            }
            WatchEvent::Deleted(record) => {
                if let Some(delta) = self.sources.delete(&record.id) {
                    self.on_delta(delta);
                }
            }
            WatchEvent::ResyncStarted => self.sources.resync_started(watch),
            WatchEvent::ResyncItem(record) => self.sources.resync_item(watch, record),
            WatchEvent::ResyncDone => {
                for delta in self.sources.resync_done(watch, now_ms()) {
                    self.on_delta(delta);
                }
                self.check_synced();
                self.on_scoped_list_done(Some(watch), None);
            }
        }
    }

    fn on_delta(&mut self, delta: SourceDelta) {
        self.emit(&EngineEvent::of_delta(&delta));
        if self.engine.config.is_notify_only() {
            self.notify(delta);
            return;
        }
        match delta {
            SourceDelta::Unchanged(source) => self.emit(&EngineEvent::SourceUnchanged { source }),
            SourceDelta::Created(source) | SourceDelta::Updated(source) => {
                for id in self.index.candidates(&source) {
                    let mut trigger = Trigger::default();
                    trigger.sources.insert(source.clone());
                    self.push(id, trigger);
                }
            }
            SourceDelta::Deleted(record) => {
                // Deletes of CSI pod statuses never reload (a pod went away), as in Reloader.
                if !self.engine.config.is_reload_on_delete()
                    || record.id.kind == SourceKind::SecretProviderClass
                {
                    return;
                }
                for id in self.index.candidates(&record.id) {
                    let mut trigger = Trigger::default();
                    trigger.deleted.insert(record.id.clone(), record.clone());
                    self.push(id, trigger);
                }
            }
        }
    }

    fn on_workload(&mut self, watch: usize, event: WatchEvent<IndexedWorkload>) {
        if self.is_ignored(&event, |indexed| &indexed.id().namespace)
            || self.scope.as_ref().is_some_and(|s| s.is_retired_workload(watch))
        {
            return;
        }
        match event {
            WatchEvent::Applied(indexed) => {
                if self.index.has_newer(&indexed) {
                    // Our PATCH response is already in; the watch will catch up.
                    return;
                }
                let id = indexed.id().clone();
                let unchanged = self
                    .index
                    .get(&id)
                    .is_some_and(|old| old.workload == indexed.workload);
                // A workload first seen through a live event arrives at its creation
                // resourceVersion, unless it was indexed before and dropped as unsupported.
                let was_unsupported = self.unsupported.remove(&id);
                let rv = indexed.resource_version.clone();
                let is_new = self.index.upsert(watch, indexed);
                self.track_pause(&id);
                if !unchanged {
                    self.push(
                        id,
                        Trigger {
                            first_index: is_new,
                            creation_rv: rv.filter(|_| is_new && !was_unsupported),
                            ..Trigger::default()
                        },
                    );
                }
            }
            WatchEvent::Deleted(indexed) => {
                let id = indexed.id().clone();
                let replaced = self.index.get(&id).is_some_and(|current| {
                    current.uid.is_some() && indexed.uid.is_some() && current.uid != indexed.uid
                });
                if replaced {
                    // The delete of an older incarnation (a Job we recreated, whose create
                    // response is already indexed): the object of that name lives on.
                    return;
                }
                self.index.remove(&id);
                self.resumes.forget(&id);
                self.memory.remove(&id);
                self.queue.forget(&id);
                self.fights.retain(|(w, _), _| w != &id);
            }
            WatchEvent::ResyncStarted => self.index.resync_started(watch),
            WatchEvent::ResyncItem(indexed) => self.index.resync_item(watch, indexed),
            WatchEvent::ResyncDone => {
                for (id, is_new) in self.index.resync_done(watch) {
                    self.track_pause(&id);
                    self.push(
                        id,
                        Trigger {
                            first_index: is_new,
                            ..Trigger::default()
                        },
                    );
                }
                self.check_synced();
                self.on_scoped_list_done(None, Some(watch));
            }
        }
    }
}

mod drift;
mod notify;
mod recover;
mod retry;
mod scope;
mod write;

use super::retry::Outage;
use drift::WatchId;
use recover::RecoveryStep;
use scope::ScopeState;

#[cfg(test)]
mod tests;
