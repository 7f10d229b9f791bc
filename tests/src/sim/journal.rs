//! The journal of committed writes, in commit (resourceVersion) order.

use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use serde::Serialize;
use serde_json::Value;

use super::kinds::ResourceKind;
use super::store::{ObjectKey, WriteContext};

/// How many entries the journal keeps (oldest dropped first).
pub const JOURNAL_LIMIT: usize = 200_000;

/// One committed write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalEntry {
    /// Nanoseconds on a monotonic clock since the first simulator in this process started.
    pub at_nanos: u64,
    /// Kubernetes verb (`create`, `update`, `patch`, `delete`).
    pub verb: String,
    /// API group (`""` for core).
    pub group: String,
    /// Plural resource.
    pub resource: String,
    /// Namespace (`""` for cluster-scoped).
    pub namespace: String,
    /// Object name.
    pub name: String,
    /// resourceVersion the write produced.
    pub resource_version: u64,
    /// `fieldManager` of the request (or `""`).
    pub field_manager: String,
    /// `User-Agent` of the request.
    pub user_agent: String,
    /// The authenticated user of the request (`system:admin` without a token, empty for
    /// objects seeded in-process).
    pub user: String,
    /// The object as committed (for a delete: as it was last stored). In-process only: not
    /// part of the HTTP journal (`/_sim/journal`), so invariant checkers can replay contents.
    #[serde(skip)]
    pub object: Option<Arc<Value>>,
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

impl JournalEntry {
    /// An entry for a write committed now (without the object; see [`JournalEntry::with_object`]).
    pub fn new(kind: &ResourceKind, verb: &str, key: &ObjectKey, rv: u64, ctx: &WriteContext) -> Self {
        Self {
            at_nanos: u64::try_from(epoch().elapsed().as_nanos()).unwrap_or(u64::MAX),
            verb: verb.to_string(),
            group: kind.group.to_string(),
            resource: kind.plural.to_string(),
            namespace: key.0.clone(),
            name: key.1.clone(),
            resource_version: rv,
            field_manager: ctx.field_manager.clone(),
            user_agent: ctx.user_agent.clone(),
            user: ctx.user.clone(),
            object: None,
        }
    }

    /// The same entry carrying the committed object.
    #[must_use]
    pub fn with_object(mut self, object: Arc<Value>) -> Self {
        self.object = Some(object);
        self
    }
}

/// Bounded, ordered journal.
#[derive(Debug, Default)]
pub struct Journal {
    entries: VecDeque<JournalEntry>,
}

impl Journal {
    /// Appends an entry (dropping the oldest past [`JOURNAL_LIMIT`]).
    pub fn push(&mut self, entry: JournalEntry) {
        let _ = epoch();
        self.entries.push_back(entry);
        if self.entries.len() > JOURNAL_LIMIT {
            self.entries.pop_front();
        }
    }

    /// Entries with a resourceVersion strictly greater than `since`.
    pub fn since(&self, since: u64) -> Vec<JournalEntry> {
        let first = self.entries.partition_point(|e| e.resource_version <= since);
        self.entries.range(first..).cloned().collect()
    }
}
