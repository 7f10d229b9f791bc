//! Cache statistics for operators (`/debug/cache`): how many objects the engine holds and
//! roughly how many bytes, per kind and namespace. Names of kinds and namespaces only — no
//! object names, no data (the stores hold no data anyway).
//!
//! The engine's loop owns the stores, so it publishes a snapshot into a shared [`CacheStats`]
//! cell, at most once per [`PUBLISH_EVERY`] and only when something changed; readers take the
//! latest snapshot without waiting on the loop.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use super::index::WorkloadIndex;
use super::sources::SourceStore;

/// How often the loop refreshes the snapshot at most.
pub const PUBLISH_EVERY: Duration = Duration::from_secs(1);

/// Objects and approximate heap bytes of one (kind, namespace).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Held {
    /// Objects held.
    pub objects: usize,
    /// Approximate heap bytes held for them.
    pub bytes: usize,
}

/// A snapshot: kind → namespace → what is held.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CacheSnapshot {
    /// Per kind (`ConfigMap`, `Secret`, `Deployment`, ...), per namespace.
    pub kinds: BTreeMap<String, BTreeMap<String, Held>>,
}

impl CacheSnapshot {
    /// Counts what `sources` and `index` hold.
    pub fn of(sources: &SourceStore, index: &WorkloadIndex) -> Self {
        let mut kinds: BTreeMap<String, BTreeMap<String, Held>> = BTreeMap::new();
        let mut add = |kind: &str, namespace: &str, bytes: usize| {
            let held = kinds
                .entry(kind.to_owned())
                .or_default()
                .entry(namespace.to_owned())
                .or_default();
            held.objects += 1;
            held.bytes += bytes;
        };
        for record in sources.records() {
            add(
                record.id.kind.kube_kind(),
                &record.id.namespace,
                record.heap_bytes(),
            );
        }
        for id in index.ids() {
            if let Some(indexed) = index.get(&id) {
                // The serialised size of the compact model: a fair proxy for its heap size.
                let bytes = serde_json::to_vec(&indexed.workload).map_or(0, |v| v.len());
                add(id.kind.as_str(), &id.namespace, bytes);
            }
        }
        CacheSnapshot { kinds }
    }
}

/// The shared cell the engine publishes [`CacheSnapshot`]s into (cheap to clone).
///
/// ```
/// use reload_core::engine::CacheStats;
///
/// let stats = CacheStats::default();
/// assert!(stats.snapshot().kinds.is_empty());
/// ```
#[derive(Debug, Clone, Default)]
pub struct CacheStats {
    latest: Arc<Mutex<CacheSnapshot>>,
}

impl CacheStats {
    /// The latest snapshot.
    pub fn snapshot(&self) -> CacheSnapshot {
        self.latest.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Replaces the snapshot.
    pub fn publish(&self, snapshot: CacheSnapshot) {
        if let Ok(mut latest) = self.latest.lock() {
            *latest = snapshot;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fixtures::cm_record;
    use crate::engine::index::IndexedWorkload;
    use crate::workload::{Workload, WorkloadKind, WorkloadRef};

    #[test]
    fn objects_are_counted_per_kind_and_namespace_with_their_bytes() {
        let mut sources = SourceStore::new();
        sources.apply(0, cm_record("a", "d1"), 0);
        sources.apply(0, cm_record("b", "d2"), 0);
        let mut index = WorkloadIndex::new(Vec::new());
        index.upsert(
            0,
            IndexedWorkload::new(Workload::new(WorkloadRef::new(
                WorkloadKind::Deployment,
                "x",
                "web",
            ))),
        );
        let snapshot = CacheSnapshot::of(&sources, &index);
        let configmaps = &snapshot.kinds["ConfigMap"];
        let (namespace, held) = configmaps.iter().next().expect("one namespace");
        assert_eq!(held.objects, 2, "{namespace}");
        assert!(held.bytes > 0);
        assert_eq!(snapshot.kinds["Deployment"]["x"].objects, 1);
        assert!(snapshot.kinds["Deployment"]["x"].bytes > 0);

        let stats = CacheStats::default();
        stats.publish(snapshot.clone());
        assert_eq!(stats.snapshot(), snapshot);
    }
}
