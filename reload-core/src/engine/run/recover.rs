//! The engine loop's recovery step: each time writes open (at start, or when the write gate
//! opens), [`WorkloadWriter::recover`] finishes the writes a killed process left half done,
//! before any other write is dispatched.

use std::sync::Arc;

use futures::future::BoxFuture;

use super::super::apply::WorkloadWriter;
use super::super::config::EngineConfig;
use super::super::observer::{EngineEvent, Recovery};
use super::State;

/// Where the recovery of the current write period stands.
#[derive(Default)]
pub(super) enum RecoveryStep {
    /// Not run since writes last opened.
    #[default]
    Due,
    /// Running.
    Running,
    /// Done (or not needed: a dry run or a notify-only engine writes nothing).
    Done,
}

impl State {
    /// Whether queued work may be written now: writes open and recovery done.
    pub(super) fn may_write(&self) -> bool {
        matches!(self.recovery, RecoveryStep::Done) && self.engine.writes_open()
    }

    /// The recovery to run now, if it is due and writes are open.
    pub(super) fn start_recovery(&mut self) -> Option<BoxFuture<'static, Vec<Recovery>>> {
        if !matches!(self.recovery, RecoveryStep::Due) || !self.engine.writes_open() {
            return None;
        }
        let config = &self.engine.config;
        if config.is_dry_run() || config.is_notify_only() {
            self.recovery = RecoveryStep::Done;
            return None;
        }
        self.recovery = RecoveryStep::Running;
        Some(recover(self.writer.clone(), config.clone()))
    }

    /// Reports a finished recovery. If writes closed meanwhile, the next opening runs it again.
    pub(super) fn on_recovered(&mut self, recoveries: Vec<Recovery>) {
        for recovery in recoveries {
            self.emit(&EngineEvent::Recovered { recovery });
        }
        self.recovery = if self.engine.writes_open() {
            RecoveryStep::Done
        } else {
            RecoveryStep::Due
        };
    }

    /// Writes closed: the next opening recovers again (another replica may have been killed
    /// mid-write while it led).
    pub(super) fn on_writes_closed(&mut self) {
        if matches!(self.recovery, RecoveryStep::Done) {
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
