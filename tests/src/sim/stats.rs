//! Request accounting: counts by verb, group, resource, namespace and user agent, plus the
//! number of open watches.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use serde::Serialize;

/// Key of one request counter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestKey {
    /// Kubernetes verb (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`).
    pub verb: String,
    /// API group (`""` for core).
    pub group: String,
    /// Plural resource.
    pub resource: String,
    /// Namespace (`""` for cluster-wide requests).
    pub namespace: String,
    /// `User-Agent` header.
    pub user_agent: String,
}

/// One row of [`Stats::snapshot`] (and of `GET /_sim/stats`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestCount {
    /// Kubernetes verb.
    pub verb: String,
    /// API group.
    pub group: String,
    /// Plural resource.
    pub resource: String,
    /// Namespace.
    pub namespace: String,
    /// User agent.
    pub user_agent: String,
    /// Number of requests.
    pub count: u64,
}

/// The body of `GET /_sim/stats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    /// Request counts, sorted by key.
    pub requests: Vec<RequestCount>,
    /// Watches currently open.
    pub open_watches: u64,
}

impl StatsSnapshot {
    /// Sum of counts of rows matching `verb` and `resource` (any namespace and user agent).
    pub fn count(&self, verb: &str, resource: &str) -> u64 {
        self.requests
            .iter()
            .filter(|r| r.verb == verb && r.resource == resource)
            .map(|r| r.count)
            .sum()
    }
}

/// Live counters.
#[derive(Debug, Default)]
pub struct Stats {
    requests: Mutex<BTreeMap<RequestKey, u64>>,
    open_watches: AtomicI64,
}

impl Stats {
    /// Counts one request.
    pub fn record(&self, key: RequestKey) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry(key).or_default() += 1;
        }
    }

    /// Clears the request counters (open watches are kept).
    pub fn reset(&self) {
        if let Ok(mut m) = self.requests.lock() {
            m.clear();
        }
    }

    /// Marks a watch as opened; the guard marks it closed when dropped.
    pub fn watch_opened(self: &std::sync::Arc<Self>) -> WatchGuard {
        self.open_watches.fetch_add(1, Ordering::SeqCst);
        WatchGuard(self.clone())
    }

    /// A copy of the counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        let requests = self
            .requests
            .lock()
            .map(|m| {
                m.iter()
                    .map(|(k, c)| RequestCount {
                        verb: k.verb.clone(),
                        group: k.group.clone(),
                        resource: k.resource.clone(),
                        namespace: k.namespace.clone(),
                        user_agent: k.user_agent.clone(),
                        count: *c,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let open = self.open_watches.load(Ordering::SeqCst);
        StatsSnapshot {
            requests,
            open_watches: u64::try_from(open).unwrap_or(0),
        }
    }
}

/// Decrements the open-watch gauge when dropped.
#[derive(Debug)]
pub struct WatchGuard(std::sync::Arc<Stats>);

impl Drop for WatchGuard {
    fn drop(&mut self) {
        self.0.open_watches.fetch_sub(1, Ordering::SeqCst);
    }
}
