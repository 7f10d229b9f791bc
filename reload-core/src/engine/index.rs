//! The workload index: compact [`Workload`]s keyed by [`WorkloadRef`], a reverse index from
//! each referenced source to the workloads that reference it, and per namespace the workloads
//! that carry a named `reload` annotation (they can match a source without referencing it).
//!
//! A source change finds its candidate workloads here: no GET or LIST per change.

use std::collections::{HashMap, HashSet};

use crate::source::SourceRef;
use crate::workload::{Workload, WorkloadRef};

/// Annotations dropped from workloads before indexing: large and never read by decisions.
const DROPPED_ANNOTATIONS: &[&str] = &["kubectl.kubernetes.io/last-applied-configuration"];

/// A workload as the engine indexes it: the decision model plus what writes and the
/// restart-safety rules need.
///
/// Users writing their own [`crate::Watcher`]`<IndexedWorkload>` build it from the model and
/// the object's metadata, without naming every field:
///
/// ```
/// use kube::api::ObjectMeta;
/// use reload_core::engine::IndexedWorkload;
/// use reload_core::{Workload, WorkloadKind, WorkloadRef};
///
/// let meta = ObjectMeta {
///     uid: Some("0b1c".into()),
///     resource_version: Some("42".into()),
///     ..ObjectMeta::default()
/// };
/// let workload = Workload::new(WorkloadRef::new(WorkloadKind::Custom("Worker".into()), "apps", "w"));
/// let indexed = IndexedWorkload::new(workload).with_metadata(&meta);
/// assert_eq!(indexed.uid.as_deref(), Some("0b1c"));
/// assert_eq!(indexed.resource_version.as_deref(), Some("42"));
/// assert!(!indexed.paused);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IndexedWorkload {
    /// The compact decision model.
    pub workload: Workload,
    /// `metadata.uid`.
    pub uid: Option<String>,
    /// `metadata.resourceVersion` (sent with writes that rewrite our JSON annotations).
    pub resource_version: Option<String>,
    /// `metadata.creationTimestamp` in Unix milliseconds (second precision from the API).
    pub created_ms: Option<i64>,
    /// `spec.paused` of a Deployment (pause-period); `false` for other kinds.
    pub paused: bool,
}

impl IndexedWorkload {
    /// Wraps a model with no server metadata (tests, hand-built workloads).
    pub fn new(workload: Workload) -> Self {
        IndexedWorkload {
            workload,
            uid: None,
            resource_version: None,
            created_ms: None,
            paused: false,
        }
    }

    /// Sets the server metadata the engine reads: `uid`, `resourceVersion` and
    /// `creationTimestamp` (`None` where `meta` has none).
    #[must_use]
    pub fn with_metadata(mut self, meta: &kube::api::ObjectMeta) -> Self {
        self.uid.clone_from(&meta.uid);
        self.resource_version.clone_from(&meta.resource_version);
        self.created_ms = meta.creation_timestamp.as_ref().map(|t| t.0.as_millisecond());
        self
    }

    /// Sets the uid.
    #[must_use]
    pub fn with_uid(mut self, uid: impl Into<String>) -> Self {
        self.uid = Some(uid.into());
        self
    }

    /// Sets the resourceVersion.
    #[must_use]
    pub fn with_resource_version(mut self, rv: impl Into<String>) -> Self {
        self.resource_version = Some(rv.into());
        self
    }

    /// Sets the creation time (Unix milliseconds).
    #[must_use]
    pub fn with_created_ms(mut self, ms: i64) -> Self {
        self.created_ms = Some(ms);
        self
    }

    /// Sets `spec.paused`.
    #[must_use]
    pub fn with_paused(mut self, paused: bool) -> Self {
        self.paused = paused;
        self
    }

    /// The identity.
    pub fn id(&self) -> &WorkloadRef {
        &self.workload.id
    }
}

#[derive(Debug)]
struct Entry {
    indexed: IndexedWorkload,
    watch: usize,
    references: Vec<SourceRef>,
    named: bool,
}

/// The index of every watched workload.
#[derive(Debug, Default)]
pub struct WorkloadIndex {
    named_keys: Vec<String>,
    entries: HashMap<WorkloadRef, Entry>,
    by_source: HashMap<SourceRef, SortedIds>,
    named_by_namespace: HashMap<String, SortedIds>,
    relisting: HashMap<usize, Vec<IndexedWorkload>>,
    synced: HashSet<usize>,
}

impl WorkloadIndex {
    /// An empty index; `named_keys` are the annotations that name sources without a reference.
    pub fn new(named_keys: Vec<String>) -> Self {
        WorkloadIndex {
            named_keys,
            ..WorkloadIndex::default()
        }
    }

    /// A workload by identity.
    pub fn get(&self, id: &WorkloadRef) -> Option<&IndexedWorkload> {
        self.entries.get(id).map(|e| &e.indexed)
    }

    /// How many workloads are indexed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every indexed workload identity.
    pub fn ids(&self) -> Vec<WorkloadRef> {
        self.entries.keys().cloned().collect()
    }

    /// Every indexed workload (in no particular order).
    pub fn workloads(&self) -> impl Iterator<Item = &IndexedWorkload> {
        self.entries.values().map(|e| &e.indexed)
    }

    /// Whether the workload carries a named `reload` annotation.
    pub fn is_named(&self, id: &WorkloadRef) -> bool {
        self.entries.get(id).is_some_and(|e| e.named)
    }

    /// The workloads that may react to `source`: those referencing it, and those of its
    /// namespace with a named `reload` annotation. Sorted, each once.
    pub fn candidates(&self, source: &SourceRef) -> Vec<WorkloadRef> {
        let referencing = self.by_source.get(source).map_or(&[][..], SortedIds::as_slice);
        let named = self
            .named_by_namespace
            .get(&source.namespace)
            .map_or(&[][..], SortedIds::as_slice);
        merge_sorted(referencing, named)
    }

    /// Whether the index already holds a newer state of this workload than `indexed` (a watch
    /// event lagging behind the response of our own PATCH).
    pub fn has_newer(&self, indexed: &IndexedWorkload) -> bool {
        self.entries.get(indexed.id()).is_some_and(|e| {
            is_older(
                indexed.resource_version.as_deref(),
                e.indexed.resource_version.as_deref(),
            )
        })
    }

    /// Inserts or replaces a workload seen by watch `watch`. Returns `true` if it is new.
    pub fn upsert(&mut self, watch: usize, mut indexed: IndexedWorkload) -> bool {
        for key in DROPPED_ANNOTATIONS {
            indexed.workload.annotations.remove(*key);
        }
        let id = indexed.id().clone();
        let is_new = self.remove(&id).is_none();
        let references = indexed.workload.referenced_sources();
        let named = self.named_keys.iter().any(|key| {
            indexed.workload.annotations.contains_key(key)
                || indexed.workload.template.annotations.contains_key(key)
        });
        for source in &references {
            self.by_source
                .entry(source.clone())
                .or_default()
                .insert(id.clone());
        }
        if named {
            self.named_by_namespace
                .entry(id.namespace.clone())
                .or_default()
                .insert(id.clone());
        }
        self.entries.insert(
            id,
            Entry {
                indexed,
                watch,
                references,
                named,
            },
        );
        is_new
    }

    /// Replaces a workload's state with a PATCH response or GET (keeps its watch), unless the
    /// watch already delivered a newer state (a response must never roll the cache back).
    /// Returns whether the state was taken.
    pub fn refresh(&mut self, indexed: IndexedWorkload) -> bool {
        let Some(entry) = self.entries.get(indexed.id()) else {
            return false;
        };
        if is_older(
            indexed.resource_version.as_deref(),
            entry.indexed.resource_version.as_deref(),
        ) {
            return false;
        }
        let watch = entry.watch;
        self.upsert(watch, indexed);
        true
    }

    /// Removes a workload; returns it if it was indexed.
    pub fn remove(&mut self, id: &WorkloadRef) -> Option<IndexedWorkload> {
        let entry = self.entries.remove(id)?;
        for source in &entry.references {
            if let Some(set) = self.by_source.get_mut(source) {
                set.remove(id);
                if set.is_empty() {
                    self.by_source.remove(source);
                }
            }
        }
        if entry.named
            && let Some(set) = self.named_by_namespace.get_mut(&id.namespace)
        {
            set.remove(id);
            if set.is_empty() {
                self.named_by_namespace.remove(&id.namespace);
            }
        }
        Some(entry.indexed)
    }

    /// Watch `watch` was closed (its namespace left the selection): removes every workload it
    /// delivered and returns their identities.
    pub fn retire_watch(&mut self, watch: usize) -> Vec<WorkloadRef> {
        self.relisting.remove(&watch);
        self.synced.remove(&watch);
        let gone: Vec<WorkloadRef> = self
            .entries
            .iter()
            .filter(|(_, e)| e.watch == watch)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &gone {
            self.remove(id);
        }
        gone
    }

    /// A (re-)list of watch `watch` begins.
    pub fn resync_started(&mut self, watch: usize) {
        self.relisting.insert(watch, Vec::new());
    }

    /// One workload of the re-list.
    pub fn resync_item(&mut self, watch: usize, indexed: IndexedWorkload) {
        self.relisting.entry(watch).or_default().push(indexed);
    }

    /// The re-list of `watch` is complete: swap its state in. Returns the workloads that are
    /// new or whose resourceVersion changed (to reconcile), each with whether it is new.
    pub fn resync_done(&mut self, watch: usize) -> Vec<(WorkloadRef, bool)> {
        let items = self.relisting.remove(&watch).unwrap_or_default();
        self.synced.insert(watch);
        let mut seen = HashSet::new();
        let mut touched = Vec::new();
        for indexed in items {
            let id = indexed.id().clone();
            seen.insert(id.clone());
            let unchanged = self.entries.get(&id).is_some_and(|e| {
                e.indexed.resource_version.is_some() && e.indexed.resource_version == indexed.resource_version
            });
            if unchanged {
                continue;
            }
            let is_new = self.upsert(watch, indexed);
            touched.push((id, is_new));
        }
        let gone: Vec<WorkloadRef> = self
            .entries
            .iter()
            .filter(|(id, e)| e.watch == watch && !seen.contains(*id))
            .map(|(id, _)| id.clone())
            .collect();
        for id in gone {
            self.remove(&id);
        }
        touched
    }

    /// Whether watch `watch` finished its first list.
    pub fn is_synced(&self, watch: usize) -> bool {
        self.synced.contains(&watch)
    }
}

/// A sorted set of workload identities held as a plain vector: most sources are referenced by
/// one or a few workloads, and a one-element `BTreeSet` allocates a whole B-tree leaf (~800
/// bytes; 16 MB for 20,000 sources), where this allocates the element alone.
#[derive(Debug, Default)]
struct SortedIds(Vec<WorkloadRef>);

impl SortedIds {
    fn insert(&mut self, id: WorkloadRef) {
        if let Err(at) = self.0.binary_search(&id) {
            if self.0.capacity() == 0 {
                // `Vec` would reserve four slots for the first element.
                self.0.reserve_exact(1);
            }
            self.0.insert(at, id);
        }
    }

    fn remove(&mut self, id: &WorkloadRef) {
        if let Ok(at) = self.0.binary_search(id) {
            self.0.remove(at);
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn as_slice(&self) -> &[WorkloadRef] {
        &self.0
    }
}

/// The sorted union of two sorted, duplicate-free slices.
fn merge_sorted(a: &[WorkloadRef], b: &[WorkloadRef]) -> Vec<WorkloadRef> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                out.push(a[i].clone());
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j].clone());
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push(a[i].clone());
                i += 1;
                j += 1;
            }
        }
    }
    out.extend(a[i..].iter().cloned());
    out.extend(b[j..].iter().cloned());
    out
}

/// Whether resourceVersion `a` is older than `b`. resourceVersions are opaque, but every
/// API server in practice uses etcd revisions (integers); anything else counts as not older.
pub(crate) fn is_older(a: Option<&str>, b: Option<&str>) -> bool {
    match (
        a.and_then(|a| a.parse::<u64>().ok()),
        b.and_then(|b| b.parse::<u64>().ok()),
    ) {
        (Some(a), Some(b)) => a < b,
        _ => false,
    }
}

#[cfg(test)]
mod tests;
