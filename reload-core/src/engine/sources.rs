//! The source store: what the engine keeps per ConfigMap/Secret — identity, uid,
//! resourceVersion, digest and the few annotations the matcher reads. Never data.
//!
//! Sources are reduced to a [`SourceRecord`] in the watch stream (see
//! [`SourceRecord::from_configmap`]), so the typed object with its data is dropped right after
//! decoding and never reaches this store.

use std::collections::{BTreeMap, HashMap, HashSet};

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::ObjectMeta;

use crate::hash::{Digest, Hasher};
use crate::source::{SecretProviderClassPodStatus, SourceContent, SourceKind, SourceMeta, SourceRef};

/// Everything the engine keeps about one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRecord {
    /// Identity.
    pub id: SourceRef,
    /// `metadata.uid` (distinguishes a recreated source from the old one).
    pub uid: Option<String>,
    /// `metadata.resourceVersion`.
    pub resource_version: Option<String>,
    /// The content digest, computed in the stream.
    pub digest: Digest,
    /// Only the annotations the matcher reads (`ignore`, `match`).
    pub annotations: BTreeMap<String, String>,
    /// Only the labels the engine was told to keep ([`super::EngineConfig::source_labels`]);
    /// empty (no allocation) when no label keys are configured.
    pub labels: BTreeMap<String, String>,
}

impl SourceRecord {
    /// The matcher's view of this source.
    pub fn meta(&self) -> SourceMeta {
        SourceMeta {
            id: Some(self.id.clone()),
            annotations: self.annotations.clone(),
            labels: self.labels.clone(),
        }
    }

    /// Reduces a ConfigMap to its record. `keep` lists the annotations to keep.
    /// `None` when the object has no name.
    pub fn from_configmap(cm: &ConfigMap, hasher: &dyn Hasher, keep: &[String]) -> Option<Self> {
        let digest = hasher.digest(&SourceContent::from_config_map(cm));
        Self::from_meta(&cm.metadata, SourceKind::ConfigMap, digest, keep)
    }

    /// Reduces a Secret to its record. `keep` lists the annotations to keep (never
    /// `kubectl.kubernetes.io/last-applied-configuration`, which holds the data).
    pub fn from_secret(secret: &Secret, hasher: &dyn Hasher, keep: &[String]) -> Option<Self> {
        let digest = hasher.digest(&SourceContent::from_secret(secret));
        Self::from_meta(&secret.metadata, SourceKind::Secret, digest, keep)
    }

    /// Reduces a CSI pod status to the record of the `SecretProviderClass` it reports on,
    /// digested per Reloader (object ids and versions plus the class name), carrying the pod
    /// status's `resource_version` and the class's kept `annotations`.
    pub fn from_pod_status(
        status: &SecretProviderClassPodStatus,
        resource_version: Option<String>,
        hasher: &dyn Hasher,
        annotations: BTreeMap<String, String>,
    ) -> Self {
        SourceRecord {
            digest: hasher.digest(&status.content()),
            id: status.source_ref(),
            uid: None,
            resource_version,
            annotations,
            // A pod status's labels are not the class's: nothing to keep.
            labels: BTreeMap::new(),
        }
    }

    fn from_meta(meta: &ObjectMeta, kind: SourceKind, digest: Digest, keep: &[String]) -> Option<Self> {
        let name = meta.name.clone()?;
        let namespace = meta.namespace.clone().unwrap_or_default();
        let annotations = meta
            .annotations
            .iter()
            .flatten()
            .filter(|(k, _)| keep.iter().any(|kept| kept == *k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Some(SourceRecord {
            id: SourceRef::new(kind, namespace, name),
            uid: meta.uid.clone(),
            resource_version: meta.resource_version.clone(),
            digest,
            annotations,
            labels: BTreeMap::new(),
        })
    }

    /// Approximate heap bytes held by this record (for memory tests).
    pub fn heap_bytes(&self) -> usize {
        let strings = [
            Some(&self.id.namespace),
            Some(&self.id.name),
            self.uid.as_ref(),
            self.resource_version.as_ref(),
        ];
        strings.iter().flatten().map(|s| s.capacity()).sum::<usize>()
            + self.digest.as_str().len()
            + self
                .annotations
                .iter()
                .map(|(k, v)| k.capacity() + v.capacity())
                .sum::<usize>()
            + self
                .labels
                .iter()
                .map(|(k, v)| k.capacity() + v.capacity())
                .sum::<usize>()
    }
}

/// The last content change of a source that the engine observed live (not from its first list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastChange {
    /// The digest before the change; `None` when the source was created.
    pub previous: Option<Digest>,
    /// When the engine observed it, in Unix milliseconds.
    pub at_ms: i64,
    /// The resourceVersion of the source version that carried the change (the change happened
    /// at or before it).
    pub resource_version: Option<String>,
}

/// What a source event changed in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceDelta {
    /// A source the store did not know (or a recreate under a new uid).
    Created(SourceRef),
    /// The digest changed.
    Updated(SourceRef),
    /// Only metadata changed: nothing to do.
    Unchanged(SourceRef),
    /// The source is gone (its last record).
    Deleted(SourceRecord),
}

#[derive(Debug)]
struct Stored {
    record: SourceRecord,
    watch: usize,
    last_change: Option<LastChange>,
}

/// All sources the engine knows, keyed by identity; sorted so one namespace's sources of one
/// kind are a range.
#[derive(Debug, Default)]
pub struct SourceStore {
    entries: BTreeMap<SourceRef, Stored>,
    relisting: HashMap<usize, Vec<(SourceRef, Stored)>>,
    synced: HashSet<usize>,
}

impl SourceStore {
    /// An empty store.
    pub fn new() -> Self {
        SourceStore::default()
    }

    /// The record of a source.
    pub fn get(&self, id: &SourceRef) -> Option<&SourceRecord> {
        self.entries.get(id).map(|s| &s.record)
    }

    /// The last live change of a source.
    pub fn last_change(&self, id: &SourceRef) -> Option<&LastChange> {
        self.entries.get(id).and_then(|s| s.last_change.as_ref())
    }

    /// Every source of `kind` in `namespace`.
    pub fn in_namespace<'a>(
        &'a self,
        kind: SourceKind,
        namespace: &'a str,
    ) -> impl Iterator<Item = &'a SourceRecord> + 'a {
        let start = SourceRef::new(kind, namespace, "");
        self.entries
            .range(start..)
            .take_while(move |(id, _)| id.kind == kind && id.namespace == namespace)
            .map(|(_, s)| &s.record)
    }

    /// Every stored record.
    pub fn records(&self) -> impl Iterator<Item = &SourceRecord> + '_ {
        self.entries.values().map(|s| &s.record)
    }

    /// How many sources are stored.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Approximate heap bytes of every record (identities, digests, kept annotations).
    pub fn heap_bytes(&self) -> usize {
        self.entries
            .iter()
            .map(|(id, s)| id.namespace.capacity() + id.name.capacity() + s.record.heap_bytes())
            .sum()
    }

    /// Whether watch `watch` finished its first list.
    pub fn is_synced(&self, watch: usize) -> bool {
        self.synced.contains(&watch)
    }

    /// A live create or update from watch `watch`, observed at `now_ms`.
    pub fn apply(&mut self, watch: usize, record: SourceRecord, now_ms: i64) -> SourceDelta {
        let id = record.id.clone();
        let delta = match self.entries.get(&id) {
            None => SourceDelta::Created(id.clone()),
            Some(old) if old.record.uid != record.uid => SourceDelta::Created(id.clone()),
            Some(old) if old.record.digest != record.digest => SourceDelta::Updated(id.clone()),
            Some(_) => SourceDelta::Unchanged(id.clone()),
        };
        let previous = self.entries.get(&id).map(|s| s.record.digest.clone());
        let resource_version = record.resource_version.clone();
        let last_change = match &delta {
            SourceDelta::Created(_) => Some(LastChange {
                previous: None,
                at_ms: now_ms,
                resource_version,
            }),
            SourceDelta::Updated(_) => Some(LastChange {
                previous,
                at_ms: now_ms,
                resource_version,
            }),
            _ => self.entries.get(&id).and_then(|s| s.last_change.clone()),
        };
        self.entries.insert(
            id,
            Stored {
                record,
                watch,
                last_change,
            },
        );
        delta
    }

    /// A live delete. `None` if the store did not know the source.
    pub fn delete(&mut self, id: &SourceRef) -> Option<SourceDelta> {
        self.entries.remove(id).map(|s| SourceDelta::Deleted(s.record))
    }

    /// A (re-)list of watch `watch` begins.
    pub fn resync_started(&mut self, watch: usize) {
        self.relisting.insert(watch, Vec::new());
    }

    /// Watch `watch` was closed (its namespace left the selection): forgets every source it
    /// delivered, silently (no deltas: nothing was deleted). Returns how many were dropped.
    pub fn retire_watch(&mut self, watch: usize) -> usize {
        self.relisting.remove(&watch);
        self.synced.remove(&watch);
        let before = self.entries.len();
        self.entries.retain(|_, s| s.watch != watch);
        before - self.entries.len()
    }

    /// One object of the re-list of `watch`.
    pub fn resync_item(&mut self, watch: usize, record: SourceRecord) {
        // Held as the store's own entry already, so a first list moves into the tree without
        // another copy of every record.
        self.relisting.entry(watch).or_default().push((
            record.id.clone(),
            Stored {
                record,
                watch,
                last_change: None,
            },
        ));
    }

    /// The re-list of `watch` is complete: swap its state in.
    ///
    /// The first list of a watch seeds the store and yields no deltas (nothing is a change on
    /// startup: comparing with workloads' recorded digests finds what changed while down).
    /// A later re-list yields the differences the watch missed, as live deltas.
    pub fn resync_done(&mut self, watch: usize, now_ms: i64) -> Vec<SourceDelta> {
        let items = self.relisting.remove(&watch).unwrap_or_default();
        if self.synced.insert(watch) {
            // A first list is built in bulk (`collect` reuses the list's buffer to sort it) and
            // merged in with `append`, both of which build the tree with full nodes: inserting
            // sorted keys one by one leaves every B-tree leaf about half empty (with 20,000
            // sources, ~3 MB of slack).
            let mut fresh: BTreeMap<SourceRef, Stored> = items.into_iter().collect();
            let stale: Vec<SourceRef> = self
                .entries
                .iter()
                .filter(|(id, s)| s.watch == watch && !fresh.contains_key(*id))
                .map(|(id, _)| id.clone())
                .collect();
            for id in stale {
                self.entries.remove(&id);
            }
            self.entries.append(&mut fresh);
            return Vec::new();
        }
        let mut seen = HashSet::new();
        let mut deltas = Vec::new();
        for (id, stored) in items {
            seen.insert(id);
            match self.apply(watch, stored.record, now_ms) {
                SourceDelta::Unchanged(_) => {}
                delta => deltas.push(delta),
            }
        }
        let gone: Vec<SourceRef> = self
            .entries
            .iter()
            .filter(|(id, s)| s.watch == watch && !seen.contains(*id))
            .map(|(id, _)| id.clone())
            .collect();
        for id in gone {
            if let Some(delta) = self.delete(&id) {
                deltas.push(delta);
            }
        }
        deltas
    }
}

#[cfg(test)]
mod tests;
