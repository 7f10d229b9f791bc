//! Applying one workload write: the [`WorkloadWriter`] edge, and the bounded retry policy
//! around it (429/5xx/transport errors retried with backoff honouring `Retry-After`; a 409 ends
//! the attempt with one GET so the engine re-plans on fresh state; 403/404/422 fail at once).

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

    /// Whether retrying the same request later may succeed (429, 5xx, transport errors).
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
    /// Failed for good.
    Failed(WriteError),
}

/// Backoff before retry `attempt` (1-based): 200 ms doubling, capped at 30 s; `Retry-After`
/// wins when the server sent it.
pub fn backoff(attempt: u32, error: &WriteError) -> Duration {
    if let Some(after) = error.retry_after {
        return after;
    }
    let millis = 200u64.saturating_mul(1u64 << attempt.saturating_sub(1).min(8));
    Duration::from_millis(millis.min(30_000))
}

/// Performs one write with bounded retries of retryable errors.
pub async fn write(
    writer: Arc<dyn WorkloadWriter>,
    limiter: Arc<WriteLimiter>,
    id: WorkloadRef,
    body: Value,
    max_attempts: u32,
) -> WriteOutcome {
    let mut attempt = 1;
    loop {
        limiter.acquire().await;
        match writer.patch(&id, &body).await {
            Ok(state) => return WriteOutcome::Written(state),
            Err(error) if error.code == 409 => {
                return WriteOutcome::Conflict(writer.get(&id).await.ok());
            }
            Err(error) if error.is_retryable() && attempt < max_attempts => {
                tokio::time::sleep(backoff(attempt, &error)).await;
                attempt += 1;
            }
            Err(error) => return WriteOutcome::Failed(error),
        }
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
    async fn throttled_write_waits_the_servers_retry_after_then_succeeds() {
        let mut throttled = WriteError::new(429, "slow down");
        throttled.retry_after = Some(Duration::from_secs(7));
        let writer = scripted(vec![Err(throttled), Ok(())]);
        let start = tokio::time::Instant::now();
        let outcome = write(writer.clone(), limiter(), id(), Value::Null, 5).await;
        assert_eq!(outcome, WriteOutcome::Written(state()));
        assert_eq!(tokio::time::Instant::now() - start, Duration::from_secs(7));
        assert_eq!(*writer.patches.lock().expect("lock"), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn conflict_ends_the_attempt_with_one_get() {
        let writer = scripted(vec![Err(WriteError::new(409, "conflict"))]);
        let outcome = write(writer.clone(), limiter(), id(), Value::Null, 5).await;
        assert_eq!(outcome, WriteOutcome::Conflict(Some(state())));
        assert_eq!(*writer.gets.lock().expect("lock"), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn forbidden_fails_at_once_and_server_errors_give_up_after_max_attempts() {
        let writer = scripted(vec![Err(WriteError::new(403, "no"))]);
        let outcome = write(writer.clone(), limiter(), id(), Value::Null, 5).await;
        assert!(matches!(outcome, WriteOutcome::Failed(e) if e.kind() == "forbidden"));

        let writer = scripted((0..3).map(|_| Err(WriteError::new(503, "down"))).collect());
        let outcome = write(writer.clone(), limiter(), id(), Value::Null, 3).await;
        assert!(matches!(outcome, WriteOutcome::Failed(e) if e.kind() == "server_error"));
        assert_eq!(*writer.patches.lock().expect("lock"), 3);
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let e = WriteError::new(503, "x");
        assert_eq!(backoff(1, &e), Duration::from_millis(200));
        assert_eq!(backoff(2, &e), Duration::from_millis(400));
        assert_eq!(backoff(20, &e), Duration::from_secs(30));
    }
}
