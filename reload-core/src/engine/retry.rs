//! The retry policy of workload writes (issue 25): a write that failed retryably (transport
//! error, 429, 5xx) stays queued for its workload and is decided again after a capped,
//! jittered exponential backoff, for as long as the change is still wanted. While the API
//! server cannot be reached at all (transport errors), one [`Outage`] holds every write behind
//! a single probe write at a time.
//!
//! Pure: the engine loop ([`super::run`]) owns the clock and the queue.

use std::hash::{DefaultHasher, Hash, Hasher as _};
use std::time::Duration;

use tokio::time::Instant;

use crate::workload::WorkloadRef;

use super::apply::WriteError;

/// First backoff: 200 ms.
const BASE: Duration = Duration::from_millis(200);

/// Longest backoff: 30 s, so a workload (or the probe) waits at most that long after the API
/// server is back.
pub(super) const CAP: Duration = Duration::from_secs(30);

/// Whether `error` means the API server could not be reached at all (no HTTP answer:
/// connection refused or reset, TLS EOF, timeout, a body cut short).
pub(super) fn is_unreachable(error: &WriteError) -> bool {
    error.code == 0
}

/// The delay before the next attempt after `failures` (1-based) retryable failures in a row,
/// for `id`: 200 ms doubling up to 30 s, less a jitter of up to half (derived from `id` and
/// `failures`, so workloads failing together spread apart and a test can predict the range).
/// The server's `Retry-After` wins when it asks for longer.
pub(super) fn backoff(failures: u32, error: &WriteError, id: &WorkloadRef) -> Duration {
    let full = BASE
        .saturating_mul(1 << failures.saturating_sub(1).min(8))
        .min(CAP);
    let mut hasher = DefaultHasher::new();
    (id, failures).hash(&mut hasher);
    // Jitter in [0, 1/2) of the full delay, in 1/1024 steps.
    let jitter = full / 2048 * u32::try_from(hasher.finish() % 1024).unwrap_or(0);
    let delay = full.saturating_sub(jitter);
    error.retry_after.map_or(delay, |after| after.max(delay))
}

/// The API server could not be reached (a write failed in transport): writes wait behind one
/// probe write at a time, spaced by the backoff, until a write gets any HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Outage {
    /// When the first transport failure came back.
    pub since: Instant,
    /// Probes (writes started during the outage) that failed in transport too.
    pub failed_probes: u32,
    /// When the next probe may start.
    pub probe_at: Instant,
}

impl Outage {
    /// An outage noticed at `now`: the first probe waits one base backoff.
    pub fn begin(now: Instant) -> Self {
        Outage {
            since: now,
            failed_probes: 0,
            probe_at: now + BASE,
        }
    }

    /// A write that began at `began` failed in transport at `now`. A probe (begun during the
    /// outage) doubles the wait before the next one, capped at [`CAP`]; a write begun before
    /// the outage was noticed changes nothing (it was in flight when the server went away).
    pub fn failed(&mut self, began: Instant, now: Instant) {
        if began < self.since {
            return;
        }
        self.failed_probes += 1;
        let wait = BASE.saturating_mul(1 << self.failed_probes.min(8)).min(CAP);
        self.probe_at = now + wait;
    }

    /// Whether a probe may start at `now`, with `in_flight` writes running.
    pub fn may_probe(&self, now: Instant, in_flight: usize) -> bool {
        in_flight == 0 && now >= self.probe_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::WorkloadKind;

    fn id(name: &str) -> WorkloadRef {
        WorkloadRef::new(WorkloadKind::Deployment, "ns", name)
    }

    #[test]
    fn backoff_doubles_from_200_ms_to_30_s_and_keeps_at_least_half_of_each_step() {
        let error = WriteError::new(0, "connection refused");
        let mut previous_full = Duration::ZERO;
        for failures in 1..=20 {
            let full = (BASE * 2u32.pow(failures.min(9) - 1)).min(CAP);
            assert!(full >= previous_full);
            previous_full = full;
            for name in ["a", "b", "c", "d"] {
                let delay = backoff(failures, &error, &id(name));
                assert!(
                    delay <= full && delay >= full / 2,
                    "{failures}: {delay:?} of {full:?}"
                );
            }
        }
        assert_eq!(previous_full, CAP);
    }

    #[test]
    fn workloads_failing_together_retry_at_different_instants() {
        let error = WriteError::new(503, "unavailable");
        let delays: std::collections::BTreeSet<Duration> = (0..25)
            .map(|n| backoff(3, &error, &id(&format!("d-{n}"))))
            .collect();
        assert!(delays.len() > 20, "{delays:?}");
    }

    #[test]
    fn a_longer_retry_after_wins_and_a_shorter_one_does_not_shorten_the_backoff() {
        let long = WriteError::new(429, "slow down").with_retry_after(Duration::from_secs(7));
        assert_eq!(backoff(1, &long, &id("a")), Duration::from_secs(7));
        let short = WriteError::new(429, "slow down").with_retry_after(Duration::from_millis(1));
        assert!(backoff(4, &short, &id("a")) >= Duration::from_millis(800));
    }

    #[tokio::test(start_paused = true)]
    async fn an_outage_spaces_its_probes_and_ignores_writes_begun_before_it() {
        let start = Instant::now();
        let mut outage = Outage::begin(start);
        assert!(!outage.may_probe(start, 0), "the first probe waits");
        assert!(outage.may_probe(start + BASE, 0));
        assert!(!outage.may_probe(start + BASE, 1), "one probe at a time");

        // Writes in flight when the server went away fail later: no extra wait.
        outage.failed(
            start - Duration::from_millis(1),
            start + Duration::from_millis(50),
        );
        assert_eq!((outage.failed_probes, outage.probe_at), (0, start + BASE));

        let mut now = start + BASE;
        let mut waits = Vec::new();
        for _ in 0..10 {
            outage.failed(now, now);
            waits.push(outage.probe_at - now);
            now = outage.probe_at;
        }
        assert_eq!(waits[0], Duration::from_millis(400));
        assert_eq!(waits[1], Duration::from_millis(800));
        assert_eq!(waits[9], CAP, "{waits:?}");
    }

    #[test]
    fn only_an_error_without_an_http_answer_means_unreachable() {
        assert!(is_unreachable(&WriteError::new(0, "client error (Connect)")));
        for code in [429, 500, 503, 403, 409] {
            assert!(!is_unreachable(&WriteError::new(code, "answered")));
        }
    }
}
