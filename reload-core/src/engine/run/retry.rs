//! The engine loop's side of the retry policy ([`super::super::retry`]): a write that failed
//! retryably goes back to the queue for its workload with a backoff, to be decided again
//! against the cache; a transport failure opens an outage that holds every write behind one
//! probe, and the first answer from the API server releases them.

use tokio::time::Instant;

use crate::workload::WorkloadRef;

use super::super::apply::WriteError;
use super::super::decide::Decided;
use super::super::observer::EngineEvent;
use super::super::queue::Pending;
use super::super::retry::{self, Outage};
use super::State;
use super::write::written_sources;

impl State {
    /// How many writes may be in flight: the configured concurrency, or one probe during an
    /// outage.
    pub(super) fn write_slots(&self) -> usize {
        if self.outage.is_some() {
            1
        } else {
            self.engine.config.get_concurrency()
        }
    }

    /// When the loop must wake up to dispatch queued work: `None` while nothing can be
    /// dispatched anyway (not synced, writes closed, every slot busy: a finished write wakes
    /// the loop), and never before the next probe of an outage.
    pub(super) fn next_write_at(&self) -> Option<Instant> {
        if !self.synced || !self.may_write() || self.queue.in_flight() >= self.write_slots() {
            return None;
        }
        let ready = self.queue.next_deadline()?;
        Some(self.outage.map_or(ready, |o| ready.max(o.probe_at)))
    }

    /// A write failed retryably: the workload stays queued (merged with any trigger that came
    /// meanwhile) and is decided again after the backoff. A transport failure opens the
    /// outage, or spaces its probes further.
    pub(super) fn retry_later(
        &mut self,
        id: WorkloadRef,
        pending: Pending,
        decided: &Decided,
        error: WriteError,
        began: Instant,
    ) {
        let now = Instant::now();
        if retry::is_unreachable(&error) {
            if let Some(outage) = &mut self.outage {
                outage.failed(began, now);
            } else {
                self.outage = Some(Outage::begin(now));
                self.emit(&EngineEvent::WritesHeld {
                    cause: error.message.clone(),
                });
            }
        }
        let failures = pending.failures.saturating_add(1);
        let retry_in = retry::backoff(failures, &error, &id);
        self.emit(&EngineEvent::WriteRetrying {
            workload: id.clone(),
            sources: written_sources(decided),
            kind: error.kind(),
            cause: error.message,
            failures,
            retry_in,
        });
        let entry = Pending {
            ready_at: now + retry_in,
            failures,
            ..pending
        };
        self.queue.requeue(id, entry);
    }

    /// A write begun at `began` got an HTTP answer: if it was a probe of the outage, the
    /// outage ends and every write held behind it is released.
    pub(super) fn server_answered(&mut self, began: Instant) {
        if self.outage.is_some_and(|o| began >= o.since) {
            self.end_outage();
        }
        // Otherwise it was in flight when the server went away: no news about it now.
    }

    /// Ends an outage that holds nothing any more (every held workload was deleted, or
    /// decided and found nothing to write): the next write is not held, and a transport
    /// failure opens a new outage.
    pub(super) fn end_idle_outage(&mut self) {
        if self.outage.is_some() && self.queue.is_idle() {
            self.end_outage();
        }
    }

    fn end_outage(&mut self) {
        let Some(outage) = self.outage.take() else {
            return;
        };
        let now = Instant::now();
        self.queue.release(now);
        self.emit(&EngineEvent::WritesResumed {
            held_for: now.saturating_duration_since(outage.since),
        });
    }
}
