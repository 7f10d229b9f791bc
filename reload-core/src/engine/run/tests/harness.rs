//! An in-memory cluster that applies the engine's patches (the subset our fixtures write),
//! enforces resourceVersion guards, emits watch events, and can fail, stall or fight back.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::engine::apply::{WorkloadWriter, WriteError};
use crate::engine::config::EngineConfig;
use crate::engine::fixtures::{Strategy, cm_record};
use crate::engine::index::IndexedWorkload;
use crate::engine::observer::{EngineEvent, Recovery};
use crate::engine::run::Engine;
use crate::engine::sources::SourceRecord;
use crate::hash::{Digest, Hasher};
use crate::source::SourceContent;
use crate::watch::{WatchEvent, Watcher};
use crate::workload::WorkloadRef;

/// What a channel watcher yields: an event, or a watch error (it recovers by itself).
type Feed<T> = mpsc::UnboundedSender<crate::Result<WatchEvent<T>>>;

struct ChannelWatcher<T>(mpsc::UnboundedReceiver<crate::Result<WatchEvent<T>>>);

#[async_trait]
impl<T: Send> Watcher<T> for ChannelWatcher<T> {
    async fn next_event(&mut self) -> Option<crate::Result<WatchEvent<T>>> {
        self.0.recv().await
    }
}

/// Lets the engine run until idle; virtual time advances 10 s.
pub async fn settle() {
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Wall-clock now in Unix milliseconds (what the engine stamps changes with).
pub fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[derive(Default)]
struct Inner {
    state: HashMap<WorkloadRef, IndexedWorkload>,
    rv: u64,
    patches: usize,
    gets: usize,
    failures: VecDeque<WriteError>,
    delay: Duration,
    recoveries: usize,
    patches_before_recovered: Option<usize>,
    recover_delay: Duration,
    recover_failures: usize,
    hostile: bool,
    unreachable: bool,
    in_flight: usize,
    max_in_flight: usize,
    held: Option<Vec<IndexedWorkload>>,
    tx: Option<Feed<IndexedWorkload>>,
}

/// The fake API server for workloads.
#[derive(Default)]
pub struct Cluster {
    inner: Mutex<Inner>,
}

fn merge_annotations(target: &mut std::collections::BTreeMap<String, String>, patch: Option<&Value>) {
    let Some(Value::Object(map)) = patch else { return };
    for (key, value) in map {
        match value {
            Value::String(v) => {
                target.insert(key.clone(), v.clone());
            }
            _ => {
                target.remove(key);
            }
        }
    }
}

impl Cluster {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("cluster lock")
    }

    pub fn patch_count(&self) -> usize {
        self.lock().patches
    }

    pub fn get_count(&self) -> usize {
        self.lock().gets
    }

    pub fn workload(&self, id: &WorkloadRef) -> IndexedWorkload {
        self.lock().state.get(id).cloned().expect("workload exists")
    }

    /// How often [`WorkloadWriter::recover`] was called.
    pub fn recovery_count(&self) -> usize {
        self.lock().recoveries
    }

    /// The patches written before the first recovery ended.
    pub fn patches_before_recovered(&self) -> Option<usize> {
        self.lock().patches_before_recovered
    }

    /// Makes the next `n` recoveries meet a retryable error (503).
    pub fn fail_recoveries(&self, n: usize) {
        self.lock().recover_failures = n;
    }

    /// Makes each recovery take `delay`.
    pub fn set_recover_delay(&self, delay: Duration) {
        self.lock().recover_delay = delay;
    }

    pub fn set_delay(&self, delay: Duration) {
        self.lock().delay = delay;
    }

    /// Makes every PATCH fail in transport (no HTTP answer), as an API server that is down.
    pub fn set_unreachable(&self, on: bool) {
        self.lock().unreachable = on;
    }

    /// The most PATCHes in flight at once since the last call (then starts counting afresh).
    pub fn take_max_in_flight(&self) -> usize {
        let mut inner = self.lock();
        let max = inner.max_in_flight;
        inner.max_in_flight = inner.in_flight;
        max
    }

    pub fn set_hostile(&self, on: bool) {
        self.lock().hostile = on;
    }

    /// Delivers the held watch events, in order.
    pub fn release_watch(&self) {
        let mut inner = self.lock();
        let held = inner.held.take().unwrap_or_default();
        if let Some(tx) = &inner.tx {
            for w in held {
                let _ = tx.send(Ok(WatchEvent::Applied(w)));
            }
        }
    }

    pub fn fail_next(&self, error: WriteError) {
        self.lock().failures.push_back(error);
    }

    /// Writes a workload without telling the engine's watch (its cache goes stale).
    pub fn external_write(&self, id: &WorkloadRef, change: impl FnOnce(&mut IndexedWorkload)) {
        let mut inner = self.lock();
        inner.rv += 1;
        let rv = inner.rv.to_string();
        let w = inner.state.get_mut(id).expect("workload exists");
        change(w);
        w.resource_version = Some(rv);
    }

    fn store(inner: &mut Inner, mut w: IndexedWorkload) -> IndexedWorkload {
        inner.rv += 1;
        w.resource_version = Some(inner.rv.to_string());
        inner.state.insert(w.id().clone(), w.clone());
        if let Some(held) = &mut inner.held {
            held.push(w.clone());
        } else if let Some(tx) = &inner.tx {
            let _ = tx.send(Ok(WatchEvent::Applied(w.clone())));
        }
        w
    }
}

#[async_trait]
impl WorkloadWriter for Cluster {
    async fn patch(&self, id: &WorkloadRef, body: &Value) -> Result<IndexedWorkload, WriteError> {
        let delay = {
            let mut inner = self.lock();
            inner.patches += 1;
            inner.in_flight += 1;
            inner.max_in_flight = inner.max_in_flight.max(inner.in_flight);
            inner.delay
        };
        tokio::time::sleep(delay).await;
        let mut inner = self.lock();
        inner.in_flight -= 1;
        if inner.unreachable {
            return Err(WriteError::new(0, "client error (Connect)"));
        }
        if let Some(error) = inner.failures.pop_front() {
            return Err(error);
        }
        let mut w = inner
            .state
            .get(id)
            .cloned()
            .ok_or_else(|| WriteError::new(404, "not found"))?;
        let guard = body.pointer("/metadata/resourceVersion").and_then(Value::as_str);
        if guard.is_some_and(|rv| Some(rv) != w.resource_version.as_deref()) {
            return Err(WriteError::new(409, "the object has been modified"));
        }
        merge_annotations(&mut w.workload.annotations, body.pointer("/metadata/annotations"));
        merge_annotations(
            &mut w.workload.template.annotations,
            body.pointer("/spec/template/metadata/annotations"),
        );
        let written = Cluster::store(&mut inner, w);
        if inner.hostile && body.pointer("/spec/template").is_some() {
            let mut stripped = written.clone();
            stripped
                .workload
                .template
                .annotations
                .retain(|k, _| !k.starts_with("test/"));
            Cluster::store(&mut inner, stripped);
        }
        Ok(written)
    }

    async fn recover(&self, _: &EngineConfig) -> Vec<Recovery> {
        let delay = {
            let mut inner = self.lock();
            inner.recoveries += 1;
            inner.recover_delay
        };
        tokio::time::sleep(delay).await;
        let mut inner = self.lock();
        let patches = inner.patches;
        inner.patches_before_recovered.get_or_insert(patches);
        if inner.recover_failures > 0 {
            inner.recover_failures -= 1;
            return vec![Recovery::Failed {
                job: None,
                error: WriteError::new(503, "unavailable"),
            }];
        }
        vec![Recovery::HolderRemoved {
            job: WorkloadRef::new(crate::workload::WorkloadKind::Job, "ns", "held"),
        }]
    }

    async fn get(&self, id: &WorkloadRef) -> Result<IndexedWorkload, WriteError> {
        let mut inner = self.lock();
        inner.gets += 1;
        inner
            .state
            .get(id)
            .cloned()
            .ok_or_else(|| WriteError::new(404, "not found"))
    }
}

/// A running engine with its feeds.
pub struct Harness {
    pub cluster: Arc<Cluster>,
    sources: Feed<SourceRecord>,
    workloads: Feed<IndexedWorkload>,
    events: Arc<Mutex<Vec<EngineEvent>>>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<crate::Result<()>>>,
}

fn unused_hasher(_: &SourceContent<'_>) -> Digest {
    Digest::new("unused")
}

impl Harness {
    /// A cluster holding `workloads`, and an engine started on it with `sources` listed.
    pub async fn start(
        config: EngineConfig,
        sources: &[(&str, &str)],
        workloads: Vec<IndexedWorkload>,
    ) -> Self {
        let cluster = Arc::new(Cluster::default());
        {
            let mut inner = cluster.lock();
            for w in workloads {
                Cluster::store(&mut inner, w);
            }
        }
        Harness::restart(config, sources, cluster).await
    }

    /// Like [`Harness::start`], with the workload watch lagging: events of writes are held
    /// once the initial list is in.
    pub async fn start_held(
        config: EngineConfig,
        sources: &[(&str, &str)],
        workloads: Vec<IndexedWorkload>,
    ) -> Self {
        let cluster = Arc::new(Cluster::default());
        {
            let mut inner = cluster.lock();
            for w in workloads {
                Cluster::store(&mut inner, w);
            }
            inner.held = Some(Vec::new());
        }
        Harness::restart(config, sources, cluster).await
    }

    /// A fresh engine on an existing cluster (a restart or failover).
    pub async fn restart(config: EngineConfig, sources: &[(&str, &str)], cluster: Arc<Cluster>) -> Self {
        Harness::restart_gated(config, sources, cluster, None).await
    }

    /// [`Harness::restart`] with the engine's write gate set to `gate`.
    pub async fn restart_gated(
        config: EngineConfig,
        sources: &[(&str, &str)],
        cluster: Arc<Cluster>,
        gate: Option<tokio::sync::watch::Receiver<bool>>,
    ) -> Self {
        let (source_tx, source_rx) = mpsc::unbounded_channel();
        let (workload_tx, workload_rx) = mpsc::unbounded_channel();
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        let observer = move |e: &EngineEvent| sink.lock().expect("events lock").push(e.clone());
        let hasher: Arc<dyn Hasher> = Arc::new(unused_hasher);
        let engine = Engine::new(
            config,
            Arc::new(crate::engine::fixtures::matcher),
            Arc::new(Strategy),
            hasher,
        )
        .observer(Arc::new(observer));
        let engine = match gate {
            Some(gate) => engine.write_gate(gate),
            None => engine,
        };
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let writer: Arc<dyn WorkloadWriter> = cluster.clone();
        let task = tokio::spawn(engine.run_with(
            vec![Box::new(ChannelWatcher(source_rx))],
            vec![Box::new(ChannelWatcher(workload_rx))],
            writer,
            async move {
                let _ = stop_rx.await;
            },
        ));
        let listed: Vec<IndexedWorkload> = {
            let mut inner = cluster.lock();
            inner.tx = Some(workload_tx.clone());
            inner.state.values().cloned().collect()
        };
        let h = Harness {
            cluster,
            sources: source_tx,
            workloads: workload_tx,
            events,
            stop: Some(stop_tx),
            task: Some(task),
        };
        h.relist_sources(sources);
        let _ = h.workloads.send(Ok(WatchEvent::ResyncStarted));
        for w in listed {
            let _ = h.workloads.send(Ok(WatchEvent::ResyncItem(w)));
        }
        let _ = h.workloads.send(Ok(WatchEvent::ResyncDone));
        settle().await;
        h
    }

    /// Stops the engine; returns the cluster for a restart.
    pub async fn stop(mut self) -> Arc<Cluster> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.cluster.lock().tx = None;
        self.cluster.clone()
    }

    pub fn events(&self) -> Vec<EngineEvent> {
        self.events.lock().expect("events lock").clone()
    }

    pub fn update_source(&self, record: SourceRecord) {
        let _ = self.sources.send(Ok(WatchEvent::Applied(record)));
    }

    /// The source watch reports an error (as a kube watcher does when its connection drops).
    pub fn source_watch_error(&self) {
        let error = crate::Error::Watch {
            kind: "ConfigMap".into(),
            problem: "connection reset".into(),
        };
        let _ = self.sources.send(Err(error));
    }

    pub fn relist_sources(&self, sources: &[(&str, &str)]) {
        let _ = self.sources.send(Ok(WatchEvent::ResyncStarted));
        for (name, digest) in sources {
            let _ = self
                .sources
                .send(Ok(WatchEvent::ResyncItem(cm_record(name, digest))));
        }
        let _ = self.sources.send(Ok(WatchEvent::ResyncDone));
    }

    /// A cluster holding `workloads`, with nothing running on it yet.
    pub fn cluster_of(workloads: Vec<IndexedWorkload>) -> Arc<Cluster> {
        let cluster = Arc::new(Cluster::default());
        {
            let mut inner = cluster.lock();
            for w in workloads {
                Cluster::store(&mut inner, w);
            }
        }
        cluster
    }

    pub fn add_workload(&self, w: IndexedWorkload) {
        let mut inner = self.cluster.lock();
        Cluster::store(&mut inner, w);
    }
}
