//! Applying one workload write: the [`WorkloadWriter`] edge and how one attempt ends. A 409
//! ends the attempt with one GET so the engine re-plans on fresh state; a retryable error
//! (transport, 429, 5xx) goes back to the engine, which keeps the workload queued and decides
//! it again after a backoff (see `super::retry`); 403/404/422 are refusals.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use crate::workload::WorkloadRef;

use super::config::EngineConfig;
use super::index::IndexedWorkload;
use super::observer::Recovery;
use super::rate::WriteLimiter;

/// A failed request to the API server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} {message}")]
#[non_exhaustive]
pub struct WriteError {
    /// HTTP status code; 0 for transport errors (no response).
    pub code: u16,
    /// The server's message (or the transport error).
    pub message: String,
    /// `Status.details.retryAfterSeconds`, if the server sent it.
    pub retry_after: Option<Duration>,
}

impl WriteError {
    /// An error with `code` and `message`.
    pub fn new(code: u16, message: impl Into<String>) -> Self {
        WriteError {
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The same error with the server's `Retry-After` (honoured by the engine's backoff).
    #[must_use]
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    /// A stable, low-cardinality name for metrics and event reasons.
    pub fn kind(&self) -> &'static str {
        match self.code {
            0 => "transport",
            403 => "forbidden",
            404 => "not_found",
            409 => "conflict",
            422 => "invalid",
            429 => "throttled",
            500..=599 => "server_error",
            _ => "rejected",
        }
    }

    /// Whether retrying the same request later may succeed (429, 5xx, transport errors). The
    /// engine retries these until the write lands or is no longer wanted.
    pub fn is_retryable(&self) -> bool {
        matches!(self.code, 0 | 429 | 500..=599)
    }
}

/// Writes workloads. The kube implementation is [`super::kube::KubeWriter`]; tests use fakes.
///
/// Writes are strategic-merge PATCHes with the engine's field manager; the response (or the
/// GET) is returned as the new indexed state, so no further read is needed.
#[async_trait]
pub trait WorkloadWriter: Send + Sync {
    /// PATCH `body` (strategic merge) onto the workload.
    async fn patch(&self, id: &WorkloadRef, body: &Value) -> Result<IndexedWorkload, WriteError>;
    /// GET the workload (after a conflict).
    async fn get(&self, id: &WorkloadRef) -> Result<IndexedWorkload, WriteError>;

    /// Finishes the writes a killed process left half done (for [`super::kube::KubeWriter`]: the Job
    /// reloads whose holder Job is still there), in `config`'s namespaces. The engine calls it
    /// each time writes open (at start, or when its write gate opens), before any other write,
    /// and reports every item as an [`super::EngineEvent::Recovered`]; a run that reported a
    /// retryable failure runs again with backoff (1 s doubling to 60 s, at most 8 times) while
    /// writes go on. The default does nothing.
    async fn recover(&self, config: &EngineConfig) -> Vec<Recovery> {
        let _ = config;
        Vec::new()
    }
}

/// How one write ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteOutcome {
    /// Written; the server's new state.
    Written(IndexedWorkload),
    /// 409: the workload changed under us; its fresh state if the GET worked.
    Conflict(Option<IndexedWorkload>),
    /// A retryable error ([`WriteError::is_retryable`]): worth deciding and writing again later.
    Retryable(WriteError),
    /// Refused for good (403, 404, 422, ...).
    Failed(WriteError),
}

/// Performs one write attempt (under the write rate limit).
pub async fn write(
    writer: Arc<dyn WorkloadWriter>,
    limiter: Arc<WriteLimiter>,
    id: WorkloadRef,
    body: Value,
) -> WriteOutcome {
    limiter.acquire().await;
    match writer.patch(&id, &body).await {
        Ok(state) => WriteOutcome::Written(state),
        Err(error) if error.code == 409 => WriteOutcome::Conflict(writer.get(&id).await.ok()),
        Err(error) if error.is_retryable() => WriteOutcome::Retryable(error),
        Err(error) => WriteOutcome::Failed(error),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::engine::config::Rate;
    use crate::workload::{Workload, WorkloadKind};

    struct Scripted {
        replies: Mutex<Vec<Result<(), WriteError>>>,
        patches: Mutex<u32>,
        gets: Mutex<u32>,
    }

    fn state() -> IndexedWorkload {
        IndexedWorkload::new(Workload::new(id())).with_resource_version("2")
    }

    fn id() -> WorkloadRef {
        WorkloadRef::new(WorkloadKind::Deployment, "ns", "d")
    }

    #[async_trait]
    impl WorkloadWriter for Scripted {
        async fn patch(&self, _: &WorkloadRef, _: &Value) -> Result<IndexedWorkload, WriteError> {
            *self.patches.lock().expect("lock") += 1;
            let reply = self.replies.lock().expect("lock").remove(0);
            reply.map(|()| state())
        }
        async fn get(&self, _: &WorkloadRef) -> Result<IndexedWorkload, WriteError> {
            *self.gets.lock().expect("lock") += 1;
            Ok(state())
        }
    }

    fn scripted(replies: Vec<Result<(), WriteError>>) -> Arc<Scripted> {
        Arc::new(Scripted {
            replies: Mutex::new(replies),
            patches: Mutex::new(0),
            gets: Mutex::new(0),
        })
    }

    fn limiter() -> Arc<WriteLimiter> {
        Arc::new(WriteLimiter::new(Rate::new(1000.0, 1000)))
    }

    #[tokio::test(start_paused = true)]
    async fn a_retryable_error_ends_the_attempt_at_once_for_the_engine_to_retry() {
        for error in [
            WriteError::new(0, "client error (Connect)"),
            WriteError::new(429, "slow down").with_retry_after(Duration::from_secs(7)),
            WriteError::new(503, "unavailable"),
        ] {
            let writer = scripted(vec![Err(error.clone())]);
            let start = tokio::time::Instant::now();
            let outcome = write(writer.clone(), limiter(), id(), Value::Null).await;
            assert_eq!(outcome, WriteOutcome::Retryable(error));
            assert_eq!(
                tokio::time::Instant::now(),
                start,
                "no sleeping inside the attempt"
            );
            assert_eq!(*writer.patches.lock().expect("lock"), 1);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn conflict_ends_the_attempt_with_one_get() {
        let writer = scripted(vec![Err(WriteError::new(409, "conflict"))]);
        let outcome = write(writer.clone(), limiter(), id(), Value::Null).await;
        assert_eq!(outcome, WriteOutcome::Conflict(Some(state())));
        assert_eq!(*writer.gets.lock().expect("lock"), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn refusals_fail_at_once_and_a_success_returns_the_new_state() {
        for code in [403, 404, 422] {
            let writer = scripted(vec![Err(WriteError::new(code, "no"))]);
            let outcome = write(writer.clone(), limiter(), id(), Value::Null).await;
            assert!(matches!(outcome, WriteOutcome::Failed(e) if e.code == code));
        }
        let writer = scripted(vec![Ok(())]);
        let outcome = write(writer, limiter(), id(), Value::Null).await;
        assert_eq!(outcome, WriteOutcome::Written(state()));
    }
}
