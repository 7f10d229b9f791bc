//! In-memory storage: objects per kind, one cluster-wide resourceVersion counter, a bounded
//! history of change events for watch replay (and 410 Gone), list snapshots for pagination,
//! and the journal of committed writes. All methods are synchronous; callers hold the lock
//! only for the duration of one operation.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::error::{ApiError, ApiResult};
use super::journal::{Journal, JournalEntry};
use super::kinds::ResourceKind;
use super::objects::{self, name_of};

/// Index of a kind in the simulator's kind table.
pub type KindId = usize;

/// Key of a stored object: (namespace or `""`, name).
pub type ObjectKey = (String, String);

/// Type of a change event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Object created.
    Added,
    /// Object changed.
    Modified,
    /// Object removed.
    Deleted,
}

impl EventType {
    /// The wire name (`ADDED`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One committed change, shared by every watcher (one copy of the object for all).
#[derive(Debug)]
pub struct ChangeEvent {
    /// Kind of the object.
    pub kind: KindId,
    /// What happened.
    pub event_type: EventType,
    /// resourceVersion of the change.
    pub rv: u64,
    /// The object after the change (the last state for DELETED).
    pub object: Arc<Value>,
    /// The object before the change (for selector transitions), if any.
    pub previous: Option<Arc<Value>>,
    line: OnceLock<Bytes>,
}

impl ChangeEvent {
    /// The event as one newline-terminated watch line, serialized once and shared.
    pub fn line(&self) -> Bytes {
        self.line
            .get_or_init(|| watch_line(self.event_type.as_str(), &self.object))
            .clone()
    }
}

/// Serializes one watch event line: `{"type":..,"object":..}\n`.
pub fn watch_line(event_type: &str, object: &Value) -> Bytes {
    let mut buf = Vec::with_capacity(256);
    buf.extend_from_slice(b"{\"type\":\"");
    buf.extend_from_slice(event_type.as_bytes());
    buf.extend_from_slice(b"\",\"object\":");
    if serde_json::to_writer(&mut buf, object).is_err() {
        buf.extend_from_slice(b"null");
    }
    buf.extend_from_slice(b"}\n");
    Bytes::from(buf)
}

/// Who wrote, for the journal and dry runs.
#[derive(Debug, Clone, Default)]
pub struct WriteContext {
    /// `dryRun=All`: validate and answer, but do not persist.
    pub dry_run: bool,
    /// `fieldManager` query parameter (or empty).
    pub field_manager: String,
    /// Client `User-Agent`.
    pub user_agent: String,
    /// The authenticated user (empty for seeding).
    pub user: String,
    /// The write targets the `status` subresource (only `status` changes).
    pub status_only: bool,
}

/// One page of a list.
#[derive(Debug)]
pub struct ListPage {
    /// The matching objects of this page.
    pub items: Vec<Arc<Value>>,
    /// resourceVersion of the (snapshot) list.
    pub rv: u64,
    /// `continue` token when more items remain.
    pub continue_token: Option<String>,
    /// Number of matching items after this page, when known.
    pub remaining: Option<u64>,
}

/// A list request after query parsing.
pub struct ListQuery<'a> {
    /// Namespace scope (`None`: all namespaces).
    pub namespace: Option<&'a str>,
    /// Predicate applied to each object (label and field selectors).
    pub filter: &'a dyn Fn(&Value) -> bool,
    /// Page size (`None` or 0: everything).
    pub limit: Option<usize>,
    /// Continue token from a previous page.
    pub continue_token: Option<&'a str>,
    /// Required resourceVersion for `resourceVersionMatch=Exact`.
    pub exact_rv: Option<u64>,
}

type Snapshot = Arc<Vec<(ObjectKey, Arc<Value>)>>;

/// Where a watch starts.
#[derive(Debug)]
pub enum WatchStart {
    /// Replay these retained events, then follow live.
    Replay(Vec<Arc<ChangeEvent>>),
    /// Send these current objects as ADDED, then follow live (resourceVersion unset or "0").
    Initial(Vec<Arc<Value>>),
}

/// The whole simulated cluster state.
pub struct Store {
    kinds: Arc<[ResourceKind]>,
    rv: u64,
    objects: Vec<BTreeMap<ObjectKey, Arc<Value>>>,
    history: VecDeque<Arc<ChangeEvent>>,
    history_limit: usize,
    compacted: u64,
    tx: broadcast::Sender<Arc<ChangeEvent>>,
    snapshots: HashMap<(KindId, u64), Snapshot>,
    snapshot_order: VecDeque<(KindId, u64)>,
    journal: Journal,
}

const SNAPSHOT_LIMIT: usize = 16;

impl Store {
    /// An empty store with the default namespaces (`default`, `kube-system`, `kube-public`,
    /// `kube-node-lease`).
    pub fn new(kinds: Arc<[ResourceKind]>, history_limit: usize) -> Self {
        let (tx, _) = broadcast::channel(history_limit.max(1024));
        let objects = kinds.iter().map(|_| BTreeMap::new()).collect();
        let mut store = Self {
            kinds,
            rv: 0,
            objects,
            history: VecDeque::new(),
            history_limit: history_limit.max(1),
            compacted: 0,
            tx,
            snapshots: HashMap::new(),
            snapshot_order: VecDeque::new(),
            journal: Journal::default(),
        };
        if let Some(ns) = store.kind_id("", "namespaces") {
            for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
                let _ = store.create(
                    ns,
                    None,
                    json!({"metadata": {"name": name}}),
                    &WriteContext::default(),
                );
            }
        }
        store
    }

    /// The kind table.
    pub fn kinds(&self) -> &Arc<[ResourceKind]> {
        &self.kinds
    }

    /// Finds a kind by group and plural.
    pub fn kind_id(&self, group: &str, plural: &str) -> Option<KindId> {
        self.kinds
            .iter()
            .position(|k| k.group == group && k.plural == plural)
    }

    /// The current (latest) resourceVersion.
    pub fn current_rv(&self) -> u64 {
        self.rv
    }

    /// The oldest resourceVersion a watch may start from without 410.
    pub fn compacted_rv(&self) -> u64 {
        self.compacted
    }

    /// Subscribes to live change events.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<ChangeEvent>> {
        self.tx.subscribe()
    }

    /// The journal of committed writes.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Drops all retained history: a watch from any older resourceVersion now gets 410 Gone.
    pub fn compact(&mut self) {
        self.history.clear();
        self.compacted = self.rv;
        self.snapshots.clear();
        self.snapshot_order.clear();
    }

    fn key(&self, kind: KindId, namespace: Option<&str>, name: &str) -> ObjectKey {
        let ns = if self.kinds[kind].namespaced {
            namespace.unwrap_or_default()
        } else {
            ""
        };
        (ns.to_string(), name.to_string())
    }

    /// Reads one object.
    pub fn get(&self, kind: KindId, namespace: Option<&str>, name: &str) -> ApiResult<Arc<Value>> {
        self.objects[kind]
            .get(&self.key(kind, namespace, name))
            .cloned()
            .ok_or_else(|| ApiError::not_found(&self.kinds[kind], name))
    }

    fn namespace_exists(&self, ns: &str) -> ApiResult<()> {
        let Some(ns_kind) = self.kind_id("", "namespaces") else {
            return Ok(());
        };
        match self.objects[ns_kind].get(&(String::new(), ns.to_string())) {
            Some(obj) if objects::is_terminating(obj) => Err(ApiError::new(
                403,
                "Forbidden",
                format!("unable to create new content in namespace {ns} because it is being terminated"),
            )),
            Some(_) => Ok(()),
            None => Err(ApiError::not_found(&self.kinds[ns_kind], ns)),
        }
    }

    fn commit(
        &mut self,
        kind: KindId,
        event_type: EventType,
        mut object: Value,
        previous: Option<Arc<Value>>,
        verb: &'static str,
        ctx: &WriteContext,
    ) -> Arc<Value> {
        self.rv += 1;
        let rv = self.rv;
        object["metadata"]["resourceVersion"] = json!(rv.to_string());
        let object = Arc::new(object);
        let key = self.key(kind, Some(objects::namespace_of(&object)), name_of(&object));
        self.journal
            .push(JournalEntry::new(&self.kinds[kind], verb, &key, rv, ctx).with_object(object.clone()));
        if event_type == EventType::Deleted {
            self.objects[kind].remove(&key);
        } else {
            self.objects[kind].insert(key, object.clone());
        }
        let event = Arc::new(ChangeEvent {
            kind,
            event_type,
            rv,
            object: object.clone(),
            previous,
            line: OnceLock::new(),
        });
        self.history.push_back(event.clone());
        while self.history.len() > self.history_limit {
            if let Some(old) = self.history.pop_front() {
                self.compacted = old.rv;
            }
        }
        let _ = self.tx.send(event);
        object
    }

    /// Creates an object (`namespace` from the URL).
    pub fn create(
        &mut self,
        kind: KindId,
        namespace: Option<&str>,
        obj: Value,
        ctx: &WriteContext,
    ) -> ApiResult<Arc<Value>> {
        let k = &self.kinds[kind];
        let namespace = if k.namespaced { namespace } else { None };
        if let Some(ns) = namespace {
            self.namespace_exists(ns)?;
        }
        let obj = objects::prepare_create(k, namespace, obj)?;
        let key = self.key(kind, namespace, name_of(&obj));
        if self.objects[kind].contains_key(&key) {
            return Err(ApiError::already_exists(k, &key.1));
        }
        if ctx.dry_run {
            return Ok(Arc::new(obj));
        }
        Ok(self.commit(kind, EventType::Added, obj, None, "create", ctx))
    }

    /// Replaces an object (PUT), or applies `mutate` to its current state (PATCH).
    /// A `metadata.resourceVersion` in the result that differs from the stored one is a 409.
    pub fn update(
        &mut self,
        kind: KindId,
        namespace: Option<&str>,
        name: &str,
        verb: &'static str,
        ctx: &WriteContext,
        mutate: impl FnOnce(&Value) -> ApiResult<Value>,
    ) -> ApiResult<Arc<Value>> {
        let old = self.get(kind, namespace, name)?;
        let new = mutate(&old)?;
        let k = &self.kinds[kind];
        if let Some(rv) = objects::resource_version_of(&new)
            && Some(rv) != objects::resource_version_of(&old)
        {
            return Err(ApiError::conflict(k, name));
        }
        let new = objects::prepare_update(k, &old, new, ctx.status_only)?;
        if !objects::differs(&old, &new) || ctx.dry_run {
            return Ok(if ctx.dry_run { Arc::new(new) } else { old });
        }
        if objects::is_terminating(&new) && !objects::has_finalizers(&new) {
            return Ok(self.commit(kind, EventType::Deleted, new, Some(old), verb, ctx));
        }
        Ok(self.commit(kind, EventType::Modified, new, Some(old), verb, ctx))
    }

    /// Deletes an object; with finalizers it only gets a `deletionTimestamp`.
    /// `precondition_rv` is `DeleteOptions.preconditions.resourceVersion`.
    pub fn delete(
        &mut self,
        kind: KindId,
        namespace: Option<&str>,
        name: &str,
        precondition_rv: Option<&str>,
        ctx: &WriteContext,
    ) -> ApiResult<Arc<Value>> {
        let old = self.get(kind, namespace, name)?;
        if let Some(rv) = precondition_rv
            && Some(rv) != objects::resource_version_of(&old)
        {
            return Err(ApiError::conflict(&self.kinds[kind], name));
        }
        if ctx.dry_run {
            return Ok(old);
        }
        let is_namespace = self.kinds[kind].group.is_empty() && self.kinds[kind].plural == "namespaces";
        if is_namespace {
            self.delete_namespace_contents(name, ctx);
        }
        if objects::has_finalizers(&old) {
            if objects::is_terminating(&old) {
                return Ok(old);
            }
            let mut new = (*old).clone();
            new["metadata"]["deletionTimestamp"] = json!(objects::now_rfc3339());
            new["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            return Ok(self.commit(kind, EventType::Modified, new, Some(old), "delete", ctx));
        }
        let last = (*old).clone();
        Ok(self.commit(kind, EventType::Deleted, last, Some(old), "delete", ctx))
    }

    /// Deletes every object of `kind` in scope that `filter` selects (`deletecollection`).
    pub fn delete_collection(
        &mut self,
        kind: KindId,
        namespace: Option<&str>,
        filter: &dyn Fn(&Value) -> bool,
        ctx: &WriteContext,
    ) -> ApiResult<Vec<Arc<Value>>> {
        let keys: Vec<ObjectKey> = self.objects[kind]
            .iter()
            .filter(|((ns, _), v)| namespace.is_none_or(|want| want == ns) && filter(v))
            .map(|(k, _)| k.clone())
            .collect();
        let mut deleted = Vec::with_capacity(keys.len());
        for (ns, name) in keys {
            let ns = (!ns.is_empty()).then_some(ns.as_str());
            deleted.push(self.delete(kind, ns, &name, None, ctx)?);
        }
        Ok(deleted)
    }

    fn delete_namespace_contents(&mut self, ns: &str, ctx: &WriteContext) {
        for kind in 0..self.kinds.len() {
            if !self.kinds[kind].namespaced {
                continue;
            }
            let names: Vec<String> = self.objects[kind]
                .range((ns.to_string(), String::new())..)
                .take_while(|((n, _), _)| n == ns)
                .map(|((_, name), _)| name.clone())
                .collect();
            for name in names {
                let _ = self.delete(kind, Some(ns), &name, None, ctx);
            }
        }
    }

    fn snapshot(&mut self, kind: KindId) -> Snapshot {
        let key = (kind, self.rv);
        if let Some(s) = self.snapshots.get(&key) {
            return s.clone();
        }
        let snap: Snapshot = Arc::new(
            self.objects[kind]
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        );
        self.snapshots.insert(key, snap.clone());
        self.snapshot_order.push_back(key);
        while self.snapshot_order.len() > SNAPSHOT_LIMIT {
            if let Some(old) = self.snapshot_order.pop_front() {
                self.snapshots.remove(&old);
            }
        }
        snap
    }

    /// Lists objects, one page at a time, from a consistent snapshot.
    pub fn list(&mut self, kind: KindId, q: &ListQuery<'_>) -> ApiResult<ListPage> {
        let (snap, rv, start) = match q.continue_token {
            Some(token) => {
                let (rv, start) = decode_continue(token)?;
                let snap = self
                    .snapshots
                    .get(&(kind, rv))
                    .cloned()
                    .ok_or_else(expired_continue)?;
                (snap, rv, Some(start))
            }
            None => {
                if let Some(rv) = q.exact_rv
                    && rv != self.rv
                {
                    let snap = self.snapshots.get(&(kind, rv)).cloned().ok_or_else(|| {
                        ApiError::gone(format!("too old resource version: {rv} ({})", self.rv))
                    })?;
                    (snap, rv, None)
                } else if q.limit.is_some_and(|l| l > 0) {
                    (self.snapshot(kind), self.rv, None)
                } else {
                    // No pagination: read the live map directly, no snapshot needed.
                    let items = self.objects[kind]
                        .iter()
                        .filter(|((ns, _), _)| q.namespace.is_none_or(|want| want == ns))
                        .filter(|(_, v)| (q.filter)(v))
                        .map(|(_, v)| v.clone())
                        .collect();
                    return Ok(ListPage {
                        items,
                        rv: self.rv,
                        continue_token: None,
                        remaining: None,
                    });
                }
            }
        };
        let begin = match &start {
            Some(start) => snap.partition_point(|(k, _)| k <= start),
            None => 0,
        };
        let limit = q.limit.filter(|l| *l > 0).unwrap_or(usize::MAX);
        let mut matching = snap[begin..]
            .iter()
            .filter(|((ns, _), _)| q.namespace.is_none_or(|want| want == ns))
            .filter(|(_, v)| (q.filter)(v));
        let mut items = Vec::new();
        let mut last_key = None;
        for (key, v) in matching.by_ref().take(limit) {
            items.push(v.clone());
            last_key = Some(key);
        }
        let remaining = matching.count() as u64;
        let continue_token = match (remaining, last_key) {
            (r, Some(key)) if r > 0 => Some(encode_continue(rv, key)),
            _ => None,
        };
        Ok(ListPage {
            items,
            rv,
            continue_token,
            remaining: (remaining > 0).then_some(remaining),
        })
    }

    /// Prepares a watch: checks `from` against the retained history (410 when too old) and
    /// returns what to send first plus a live receiver, with no gap between the two.
    pub fn watch(
        &self,
        kind: KindId,
        from: Option<u64>,
    ) -> ApiResult<(WatchStart, broadcast::Receiver<Arc<ChangeEvent>>)> {
        let rx = self.tx.subscribe();
        match from {
            None | Some(0) => {
                let items = self.objects[kind].values().cloned().collect();
                Ok((WatchStart::Initial(items), rx))
            }
            Some(rv) if rv < self.compacted => Err(ApiError::gone(format!(
                "too old resource version: {rv} ({})",
                self.compacted + 1
            ))),
            Some(rv) => {
                let first = self.history.partition_point(|e| e.rv <= rv);
                let replay = self
                    .history
                    .range(first..)
                    .filter(|e| e.kind == kind)
                    .cloned()
                    .collect();
                Ok((WatchStart::Replay(replay), rx))
            }
        }
    }
}

fn encode_continue(rv: u64, key: &ObjectKey) -> String {
    use base64::Engine as _;
    let token = json!({ "rv": rv, "ns": key.0, "name": key.1 });
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token.to_string())
}

fn decode_continue(token: &str) -> ApiResult<(u64, ObjectKey)> {
    use base64::Engine as _;
    let invalid =
        || ApiError::bad_request("continue key is not valid: incorrect encoded start resourceVersion");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| invalid())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| invalid())?;
    let rv = v["rv"].as_u64().ok_or_else(invalid)?;
    let ns = v["ns"].as_str().ok_or_else(invalid)?.to_string();
    let name = v["name"].as_str().ok_or_else(invalid)?.to_string();
    Ok((rv, (ns, name)))
}

fn expired_continue() -> ApiError {
    ApiError::gone(
        "The provided continue parameter is too old to display a consistent list result. You can start a new \
         list without the continue parameter.",
    )
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
