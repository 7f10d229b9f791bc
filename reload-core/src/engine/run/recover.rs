//! The engine loop's recovery step: each time writes open (at start, or when the write gate
//! opens), [`WorkloadWriter::recover`] finishes the writes a killed process left half done,
//! before any other write is dispatched. A recovery that met a retryable error (the API
//! briefly unavailable) runs again later, with backoff, while writes go on.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::time::Instant;

use super::super::apply::WorkloadWriter;
use super::super::config::EngineConfig;
use super::super::observer::{EngineEvent, Recovery};
use super::State;

/// How often a recovery that met retryable errors runs again in one write period.
const MAX_RETRIES: u32 = 8;

/// Where the recovery of the current write period stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RecoveryStep {
    /// Not run since writes last opened: writes wait for it.
    Due,
    /// Running; `retry` is 0 for the first run of a write period (writes wait for it).
    Running { retry: u32 },
    /// Met retryable errors: runs again at `at` (writes go on meanwhile).
    RetryAt { at: Instant, retry: u32 },
    /// Done (or not needed: a dry run or a notify-only engine writes nothing).
    Done,
}

/// Backoff before retry `retry` (1-based): 1 s doubling, capped at 60 s.
fn backoff(retry: u32) -> Duration {
    Duration::from_secs(1u64 << retry.saturating_sub(1).min(6)).min(Duration::from_secs(60))
}

impl State {
    /// Whether queued work may be written now: writes open and the first recovery of this
    /// write period done.
    pub(super) fn may_write(&self) -> bool {
        let recovered = match self.recovery {
            RecoveryStep::Due | RecoveryStep::Running { retry: 0 } => false,
            RecoveryStep::Running { .. } | RecoveryStep::RetryAt { .. } | RecoveryStep::Done => true,
        };
        recovered && self.engine.writes_open()
    }

    /// When a retry of the recovery is due, if one is planned.
    pub(super) fn recovery_retry_at(&self) -> Option<Instant> {
        match self.recovery {
            RecoveryStep::RetryAt { at, .. } => Some(at),
            _ => None,
        }
    }

    /// The recovery to run now, if it is due and writes are open.
    pub(super) fn start_recovery(&mut self) -> Option<BoxFuture<'static, Vec<Recovery>>> {
        let retry = match self.recovery {
            RecoveryStep::Due => 0,
            RecoveryStep::RetryAt { at, retry } if at <= Instant::now() => retry,
            _ => return None,
        };
        if !self.engine.writes_open() {
            return None;
        }
        let config = &self.engine.config;
        if config.is_dry_run() || config.is_notify_only() {
            self.recovery = RecoveryStep::Done;
            return None;
        }
        self.recovery = RecoveryStep::Running { retry };
        Some(recover(self.writer.clone(), config.clone()))
    }

    /// Reports a finished recovery and plans a retry if it met retryable errors. If writes
    /// closed meanwhile, the next opening runs it again.
    pub(super) fn on_recovered(&mut self, recoveries: Vec<Recovery>) {
        let retryable = recoveries
            .iter()
            .any(|r| matches!(r, Recovery::Failed { error, .. } if error.is_retryable()));
        for recovery in recoveries {
            self.emit(&EngineEvent::Recovered { recovery });
        }
        let retry = match self.recovery {
            RecoveryStep::Running { retry } => retry + 1,
            _ => 1,
        };
        self.recovery = if !self.engine.writes_open() {
            RecoveryStep::Due
        } else if retryable && retry <= MAX_RETRIES {
            RecoveryStep::RetryAt {
                at: Instant::now() + backoff(retry),
                retry,
            }
        } else {
            RecoveryStep::Done
        };
    }

    /// Writes closed: the next opening recovers again (another replica may have been killed
    /// mid-write while it led).
    pub(super) fn on_writes_closed(&mut self) {
        if matches!(self.recovery, RecoveryStep::Done | RecoveryStep::RetryAt { .. }) {
            self.recovery = RecoveryStep::Due;
        }
    }
}

fn recover(writer: Arc<dyn WorkloadWriter>, config: EngineConfig) -> BoxFuture<'static, Vec<Recovery>> {
    Box::pin(async move { writer.recover(&config).await })
}

/// Waits for the running recovery; pends forever without one.
pub(super) async fn recovered(running: &mut Option<BoxFuture<'static, Vec<Recovery>>>) -> Vec<Recovery> {
    match running {
        Some(future) => future.await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_retries_back_off_from_one_second_to_a_minute() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(7), Duration::from_secs(60));
        assert_eq!(backoff(40), Duration::from_secs(60));
    }
}
