//! The level-triggered safety net (issue 25): from the caches alone (no API reads), compare
//! the digest every indexed workload records with its sources' current digests, and queue a
//! normal reload for each one that is out of date with nothing queued for it. This is the
//! start-up reconcile (restarts roll exactly what missed a change) run again: after a watch
//! reconnects or re-lists, and every [`EngineConfig::resync_period`].
//!
//! [`EngineConfig::resync_period`]: super::super::EngineConfig::resync_period

use std::time::Duration;

use tokio::time::Instant;

use crate::source::SourceRef;
use crate::watch::WatchEvent;
use crate::workload::WorkloadRef;

use super::super::decide::Trigger;
use super::super::observer::{DriftCause, EngineEvent};
use super::State;

/// How long after a watch reconnects the check runs: the events the watch replays land first,
/// and the reconnects of every watch after an outage make one check.
const RECONNECT_SETTLE: Duration = Duration::from_secs(1);

/// One input of the engine loop, for telling which watch reconnected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum WatchId {
    /// Source watch `i`.
    Source(usize),
    /// Workload watch `i`.
    Workload(usize),
    /// The namespace watch of a namespace selector.
    Namespace,
}

impl State {
    /// A watch reported an error: it reconnects by itself (kube-runtime's backoff), and the
    /// check runs once it delivers again.
    pub(super) fn watch_failed(&mut self, watch: WatchId) {
        self.disrupted.insert(watch);
    }

    /// Called with every event of `watch` before it is applied: a watch that failed and
    /// delivers again, or a re-list that completes once the engine is synced, schedules the
    /// reconnect check.
    pub(super) fn watch_delivered<T>(&mut self, watch: WatchId, event: &WatchEvent<T>) {
        let reconnected = match event {
            WatchEvent::ResyncStarted | WatchEvent::ResyncItem(_) => false,
            WatchEvent::ResyncDone => {
                self.disrupted.remove(&watch);
                true
            }
            WatchEvent::Applied(_) | WatchEvent::Deleted(_) => self.disrupted.remove(&watch),
        };
        if reconnected && self.synced {
            self.drift_check_at
                .get_or_insert(Instant::now() + RECONNECT_SETTLE);
        }
    }

    /// When the next check is due, if one is planned.
    pub(super) fn next_drift_check(&self) -> Option<Instant> {
        match (self.drift_check_at, self.next_resync) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs the checks that are due; the first periodic one is planned when the engine syncs.
    pub(super) fn fire_drift_checks(&mut self) {
        if !self.synced {
            return;
        }
        let now = Instant::now();
        let period = self.engine.config.get_resync_period();
        if self.next_resync.is_none() {
            self.next_resync = period.map(|p| now + p);
        }
        if self.drift_check_at.is_some_and(|at| at <= now) {
            self.drift_check_at = None;
            self.check_drift(DriftCause::Reconnect);
        }
        if self.next_resync.is_some_and(|at| at <= now) {
            self.next_resync = period.map(|p| now + p);
            self.check_drift(DriftCause::PeriodicResync);
        }
    }

    /// Queues a reload of every workload whose recorded digest differs from its source's
    /// current one and that has nothing queued or in flight, reporting each as
    /// [`EngineEvent::Drift`]. Skipped while nothing would be written (writes closed, dry
    /// run, notify-only): then nothing can have been lost.
    fn check_drift(&mut self, cause: DriftCause) {
        let config = &self.engine.config;
        if !self.may_write() || config.is_dry_run() || config.is_notify_only() {
            return;
        }
        let drifted: Vec<(WorkloadRef, Vec<SourceRef>)> = self
            .index
            .workloads()
            .filter(|w| !self.queue.contains(w.id()) && !self.is_namespace_listing(&w.id().namespace))
            .filter_map(|w| {
                let decided = self.decide(w, &Trigger::default());
                let sources: Vec<SourceRef> = decided.rollouts.into_iter().map(|r| r.source).collect();
                (!sources.is_empty()).then(|| (w.id().clone(), sources))
            })
            .collect();
        for (workload, sources) in drifted {
            self.emit(&EngineEvent::Drift {
                workload: workload.clone(),
                sources,
                cause,
            });
            self.push(workload, Trigger::default());
        }
    }
}
