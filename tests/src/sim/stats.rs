//! Request accounting: counts by verb, group, resource, namespace and user agent, response
//! status counts by user (so a test can assert "zero 403 for this service account"), plus the
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

/// Key of one response counter: who asked what, and the status code answered.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResponseKey {
    /// The authenticated user (`system:admin` without a token, `system:anonymous` for an
    /// unknown token).
    pub user: String,
    /// HTTP status code of the response (a watch counts its initial status).
    pub status: u16,
    /// Kubernetes verb.
    pub verb: String,
    /// API group (`""` for core).
    pub group: String,
    /// Plural resource, with `/subresource` when one was addressed.
    pub resource: String,
    /// Namespace (`""` for cluster-wide requests).
    pub namespace: String,
}

/// One row of [`StatsSnapshot::responses`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResponseCount {
    /// The authenticated user.
    pub user: String,
    /// HTTP status code.
    pub status: u16,
    /// Kubernetes verb.
    pub verb: String,
    /// API group.
    pub group: String,
    /// Plural resource (with `/subresource`).
    pub resource: String,
    /// Namespace.
    pub namespace: String,
    /// Number of responses.
    pub count: u64,
}

/// The body of `GET /_sim/stats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    /// Request counts, sorted by key.
    pub requests: Vec<RequestCount>,
    /// Response status counts per user and request, sorted by key.
    pub responses: Vec<ResponseCount>,
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

    /// How many responses `user` got with `status` (any request).
    pub fn status_count(&self, user: &str, status: u16) -> u64 {
        self.responses_with(user, status).map(|r| r.count).sum()
    }

    /// The response rows of `user` with `status`, e.g. every request denied with 403.
    pub fn responses_with<'a>(
        &'a self,
        user: &'a str,
        status: u16,
    ) -> impl Iterator<Item = &'a ResponseCount> + 'a {
        self.responses
            .iter()
            .filter(move |r| r.user == user && r.status == status)
    }
}

/// Live counters.
#[derive(Debug, Default)]
pub struct Stats {
    requests: Mutex<BTreeMap<RequestKey, u64>>,
    responses: Mutex<BTreeMap<ResponseKey, u64>>,
    open_watches: AtomicI64,
}

impl Stats {
    /// Counts one request.
    pub fn record(&self, key: RequestKey) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry(key).or_default() += 1;
        }
    }

    /// Counts one response.
    pub fn record_response(&self, key: ResponseKey) {
        if let Ok(mut m) = self.responses.lock() {
            *m.entry(key).or_default() += 1;
        }
    }

    /// Clears the request and response counters (open watches are kept).
    pub fn reset(&self) {
        if let Ok(mut m) = self.requests.lock() {
            m.clear();
        }
        if let Ok(mut m) = self.responses.lock() {
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
        let responses = self
            .responses
            .lock()
            .map(|m| {
                m.iter()
                    .map(|(k, c)| ResponseCount {
                        user: k.user.clone(),
                        status: k.status,
                        verb: k.verb.clone(),
                        group: k.group.clone(),
                        resource: k.resource.clone(),
                        namespace: k.namespace.clone(),
                        count: *c,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let open = self.open_watches.load(Ordering::SeqCst);
        StatsSnapshot {
            requests,
            responses,
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
