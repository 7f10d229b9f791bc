//! The work queue: one pending [`Trigger`] per workload (later triggers coalesce into it), an
//! optional quiet window before it becomes ready, and "never the same workload twice at once".

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tokio::time::Instant;

use crate::workload::WorkloadRef;

use super::decide::Trigger;

/// A workload waiting to be reconciled.
#[derive(Debug, Clone)]
pub struct Pending {
    /// Why (coalesced).
    pub trigger: Trigger,
    /// When it becomes ready.
    pub ready_at: Instant,
    /// Conflict retries so far.
    pub attempts: u32,
    /// Retryable write failures (transport, 429, 5xx) in a row so far: sets the backoff.
    pub failures: u32,
}

/// Pending and in-flight workloads.
#[derive(Debug, Default)]
pub struct Queue {
    pending: HashMap<WorkloadRef, Pending>,
    in_flight: HashSet<WorkloadRef>,
}

impl Queue {
    /// An empty queue.
    pub fn new() -> Self {
        Queue::default()
    }

    /// Adds a trigger. A new entry becomes ready after `debounce` (if any); a trigger for a
    /// workload already pending merges into it and keeps its ready time, so a stream of changes
    /// cannot postpone a workload forever. The first source change joining an entry that was
    /// pending only for a workload event starts its own window.
    pub fn push(&mut self, id: WorkloadRef, trigger: Trigger, now: Instant, debounce: Option<Duration>) {
        match self.pending.get_mut(&id) {
            Some(pending) => {
                // The window starts with the first source change: an entry pending only for a
                // workload event must not make the first change skip its window.
                if pending.trigger.sources.is_empty()
                    && pending.trigger.deleted.is_empty()
                    && !(trigger.sources.is_empty() && trigger.deleted.is_empty())
                {
                    pending.ready_at = pending.ready_at.max(now + debounce.unwrap_or_default());
                }
                pending.trigger.merge(trigger);
            }
            None => {
                self.pending.insert(
                    id,
                    Pending {
                        trigger,
                        ready_at: now + debounce.unwrap_or_default(),
                        attempts: 0,
                        failures: 0,
                    },
                );
            }
        }
    }

    /// Puts work back (after a conflict or a rate-limit wait), merging with newer triggers.
    pub fn requeue(&mut self, id: WorkloadRef, mut entry: Pending) {
        if let Some(newer) = self.pending.remove(&id) {
            entry.trigger.merge(newer.trigger);
            entry.ready_at = entry.ready_at.min(newer.ready_at);
        }
        self.pending.insert(id, entry);
    }

    /// Makes every entry waiting after a retryable failure ready at `now` (the API server
    /// answers again); entries in a debounce window keep it.
    pub fn release(&mut self, now: Instant) {
        for pending in self.pending.values_mut().filter(|p| p.failures > 0) {
            pending.ready_at = pending.ready_at.min(now);
        }
    }

    /// Whether `id` is pending or in flight.
    pub fn contains(&self, id: &WorkloadRef) -> bool {
        self.pending.contains_key(id) || self.in_flight.contains(id)
    }

    /// Takes the ready workload with the earliest ready time that is not in flight, marking it
    /// in flight.
    pub fn pop_ready(&mut self, now: Instant) -> Option<(WorkloadRef, Pending)> {
        let id = self
            .pending
            .iter()
            .filter(|(id, p)| p.ready_at <= now && !self.in_flight.contains(*id))
            .min_by(|a, b| a.1.ready_at.cmp(&b.1.ready_at).then_with(|| a.0.cmp(b.0)))
            .map(|(id, _)| id.clone())?;
        let pending = self.pending.remove(&id)?;
        self.in_flight.insert(id.clone());
        Some((id, pending))
    }

    /// The earliest ready time among workloads not in flight.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.pending
            .iter()
            .filter(|(id, _)| !self.in_flight.contains(*id))
            .map(|(_, p)| p.ready_at)
            .min()
    }

    /// How many workloads are pending (in flight ones not counted).
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether no workload is pending.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Marks a workload's work finished.
    pub fn done(&mut self, id: &WorkloadRef) {
        self.in_flight.remove(id);
    }

    /// Forgets a pending workload (it was deleted).
    pub fn forget(&mut self, id: &WorkloadRef) {
        self.pending.remove(id);
    }

    /// How many workloads are being worked on.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Whether nothing is pending or in flight.
    pub fn is_idle(&self) -> bool {
        self.pending.is_empty() && self.in_flight.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{SourceKind, SourceRef};
    use crate::workload::WorkloadKind;

    fn w(name: &str) -> WorkloadRef {
        WorkloadRef::new(WorkloadKind::Deployment, "ns", name)
    }

    fn by(source: &str) -> Trigger {
        let mut t = Trigger::default();
        t.sources
            .insert(SourceRef::new(SourceKind::ConfigMap, "ns", source));
        t
    }

    #[tokio::test(start_paused = true)]
    async fn triggers_for_one_workload_coalesce_into_one_entry() {
        let mut q = Queue::new();
        let now = Instant::now();
        q.push(w("a"), by("x"), now, None);
        q.push(w("a"), by("y"), now, None);
        let (id, pending) = q.pop_ready(now).expect("ready");
        assert_eq!(id, w("a"));
        assert_eq!(pending.trigger.sources.len(), 2);
        assert!(q.pop_ready(now).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_workload_in_flight_is_not_handed_out_again_until_done() {
        let mut q = Queue::new();
        let now = Instant::now();
        q.push(w("a"), by("x"), now, None);
        assert!(q.pop_ready(now).is_some());
        q.push(w("a"), by("y"), now, None);
        assert!(q.pop_ready(now).is_none());
        q.done(&w("a"));
        assert_eq!(q.pop_ready(now).map(|(_, p)| p.trigger), Some(by("y")));
    }

    #[tokio::test(start_paused = true)]
    async fn debounce_window_holds_the_first_trigger_and_later_ones_join_it() {
        let mut q = Queue::new();
        let start = Instant::now();
        let window = Some(Duration::from_secs(5));
        q.push(w("a"), by("x"), start, window);
        tokio::time::advance(Duration::from_secs(3)).await;
        q.push(w("a"), by("y"), Instant::now(), window);
        assert!(q.pop_ready(Instant::now()).is_none());
        assert_eq!(q.next_deadline(), Some(start + Duration::from_secs(5)));
        tokio::time::advance(Duration::from_secs(2)).await;
        let (_, pending) = q.pop_ready(Instant::now()).expect("ready after the window");
        assert_eq!(pending.trigger.sources.len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn release_readies_entries_held_after_failures_and_keeps_debounce_windows() {
        let mut q = Queue::new();
        let now = Instant::now();
        let later = now + Duration::from_secs(30);
        q.push(w("fresh"), by("x"), now, Some(Duration::from_secs(30)));
        let retry = Pending {
            trigger: by("y"),
            ready_at: later,
            attempts: 0,
            failures: 4,
        };
        q.requeue(w("failed"), retry);
        assert!(q.contains(&w("failed")) && !q.contains(&w("other")));
        q.release(now);
        let (id, pending) = q.pop_ready(now).expect("the held retry is ready");
        assert_eq!((id, pending.failures), (w("failed"), 4));
        assert!(q.pop_ready(now).is_none(), "the debounced entry keeps its window");
        assert!(q.contains(&w("failed")), "in flight counts");
    }

    #[tokio::test(start_paused = true)]
    async fn a_source_change_joining_a_workload_only_entry_gets_its_full_window() {
        let mut q = Queue::new();
        let start = Instant::now();
        let window = Some(Duration::from_secs(5));
        q.push(w("a"), Trigger::default(), start, window);
        tokio::time::advance(Duration::from_secs(4)).await;
        q.push(w("a"), by("x"), Instant::now(), window);
        assert_eq!(q.next_deadline(), Some(start + Duration::from_secs(9)));
    }
}
