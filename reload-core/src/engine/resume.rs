//! Resume timers of paused Deployments: the instant each Deployment paused by the engine is due
//! to resume, derived from the Deployment itself ([`super::pause::resume_due_ms`]) every time
//! it is indexed, so the timers survive an engine restart (they are rebuilt from the first list).

use std::collections::HashMap;

use crate::workload::WorkloadRef;

use super::index::IndexedWorkload;
use super::pause::{PauseKeys, resume_due_ms};

/// Due instants (Unix milliseconds) of Deployments paused by the engine.
#[derive(Debug, Default)]
pub struct ResumeTimers {
    due: HashMap<WorkloadRef, i64>,
}

impl ResumeTimers {
    /// Tracks `indexed`'s current state: a timer if it is paused by the engine, none otherwise.
    pub fn track(&mut self, indexed: &IndexedWorkload, keys: PauseKeys<'_>) {
        match resume_due_ms(indexed, keys) {
            Some(at) => {
                self.due.insert(indexed.id().clone(), at);
            }
            None => {
                self.due.remove(indexed.id());
            }
        }
    }

    /// Drops the timer of a deleted workload.
    pub fn forget(&mut self, id: &WorkloadRef) {
        self.due.remove(id);
    }

    /// The earliest due instant, if any.
    pub fn next_due_ms(&self) -> Option<i64> {
        self.due.values().min().copied()
    }

    /// Removes and returns the workloads due at `now_ms`.
    pub fn take_due(&mut self, now_ms: i64) -> Vec<WorkloadRef> {
        let due: Vec<WorkloadRef> = self
            .due
            .iter()
            .filter(|(_, at)| **at <= now_ms)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &due {
            self.due.remove(id);
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::pause::tests::{KEYS, paused_deployment};

    #[test]
    fn a_deployment_paused_by_the_engine_gets_a_timer_at_paused_at_plus_period() {
        let mut timers = ResumeTimers::default();
        let d = paused_deployment(Some("10s"), Some("1970-01-01T00:01:40Z"), true);
        timers.track(&d, KEYS);
        assert_eq!(timers.next_due_ms(), Some(110_000));
        assert!(timers.take_due(109_999).is_empty());
        assert_eq!(timers.take_due(110_000), vec![d.id().clone()]);
        assert_eq!(timers.next_due_ms(), None);
    }

    #[test]
    fn a_resumed_or_deleted_deployment_loses_its_timer() {
        let mut timers = ResumeTimers::default();
        let d = paused_deployment(Some("10s"), Some("1970-01-01T00:01:40Z"), true);
        timers.track(&d, KEYS);
        timers.track(&paused_deployment(Some("10s"), None, false), KEYS);
        assert_eq!(timers.next_due_ms(), None);
        timers.track(&d, KEYS);
        timers.forget(d.id());
        assert_eq!(timers.next_due_ms(), None);
    }
}
