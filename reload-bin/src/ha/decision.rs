//! The pure rules of client-go's Lease election (`tryAcquireOrRenew`, the renew deadline and
//! `release`), free of I/O and of clocks: every instant is passed in.
//!
//! A round is: read the Lease, [`decide`], then write what the decision says (create, or
//! update with the read `resourceVersion`). A write that fails or conflicts leaves us where
//! we were; the next round decides again on fresh data.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::LeaseSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use tokio::time::Instant;

use super::ElectionConfig;

/// The election fields of a Lease's `spec`, as client-go's `LeaderElectionRecord`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeaseRecord {
    /// `holderIdentity`; empty when nobody holds the Lease (after a release).
    pub holder: String,
    /// `leaseDurationSeconds`.
    pub lease_duration_seconds: i32,
    /// `acquireTime`: when the current holder took the Lease (wall clock, informational).
    pub acquire_time: Option<Timestamp>,
    /// `renewTime`: the holder's last renewal (wall clock, informational).
    pub renew_time: Option<Timestamp>,
    /// `leaseTransitions`: how many times the holder changed.
    pub transitions: i32,
}

impl LeaseRecord {
    /// Reads the election fields of a Lease spec (absent fields read as client-go reads them:
    /// empty holder, zero duration and transitions).
    pub fn from_spec(spec: &LeaseSpec) -> Self {
        LeaseRecord {
            holder: spec.holder_identity.clone().unwrap_or_default(),
            lease_duration_seconds: spec.lease_duration_seconds.unwrap_or_default(),
            acquire_time: spec.acquire_time.as_ref().map(|t| t.0),
            renew_time: spec.renew_time.as_ref().map(|t| t.0),
            transitions: spec.lease_transitions.unwrap_or_default(),
        }
    }

    /// Writes the election fields into `spec`, leaving its other fields alone
    /// (client-go's `LeaderElectionRecordToLeaseSpec`).
    pub fn write_to(&self, spec: &mut LeaseSpec) {
        spec.holder_identity = Some(self.holder.clone());
        spec.lease_duration_seconds = Some(self.lease_duration_seconds);
        spec.acquire_time = self.acquire_time.map(MicroTime);
        spec.renew_time = self.renew_time.map(MicroTime);
        spec.lease_transitions = Some(self.transitions);
    }

    /// The record's lease duration (negative reads as zero).
    pub fn lease_duration(&self) -> Duration {
        Duration::from_secs(u64::try_from(self.lease_duration_seconds).unwrap_or(0))
    }

    fn held_by(identity: &str, config: &ElectionConfig, now: Timestamp) -> Self {
        LeaseRecord {
            holder: identity.to_string(),
            lease_duration_seconds: seconds(config.lease_duration_value()),
            acquire_time: Some(now),
            renew_time: Some(now),
            transitions: 0,
        }
    }
}

/// Whole seconds, saturating (the Lease field is an `int32`).
fn seconds(duration: Duration) -> i32 {
    i32::try_from(duration.as_secs()).unwrap_or(i32::MAX)
}

/// What this replica last saw of the Lease and when, on its own monotonic clock
/// (client-go's `observedRecord` and `observedTime`). Expiry is measured from `since`, never
/// from the record's wall-clock `renewTime`, so clock offsets between nodes do not matter.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Observation {
    /// The record last read or written; `None` before the first round or when there was no Lease.
    pub record: Option<LeaseRecord>,
    /// When the record last changed, from our view.
    pub since: Option<Instant>,
}

impl Observation {
    /// The observation after seeing `current` at `now`: unchanged if the record is the same,
    /// otherwise restarted at `now`.
    #[must_use]
    pub fn saw(&self, current: Option<&LeaseRecord>, now: Instant) -> Self {
        if self.since.is_some() && self.record.as_ref() == current {
            self.clone()
        } else {
            Observation {
                record: current.cloned(),
                since: Some(now),
            }
        }
    }
}

/// What to do after reading the Lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// There is no Lease: create it, held by us.
    Create(LeaseRecord),
    /// The Lease is free (released, or expired from our view): take it over.
    TakeOver(LeaseRecord),
    /// We hold the Lease: renew it.
    Renew(LeaseRecord),
    /// Someone else holds an unexpired Lease: stay a follower, retry later.
    Follow {
        /// The holder.
        holder: String,
        /// When the Lease expires from our view unless it changes again.
        until: Instant,
    },
}

impl Action {
    /// The record to write, if any.
    pub fn record(&self) -> Option<&LeaseRecord> {
        match self {
            Action::Create(record) | Action::TakeOver(record) | Action::Renew(record) => Some(record),
            Action::Follow { .. } => None,
        }
    }
}

/// One round of client-go's `tryAcquireOrRenew`: given the Lease just read (`None`: it does
/// not exist), what we observed before, our monotonic `now` and the wall clock `wall`,
/// decides the action and returns the updated observation.
///
/// - no Lease: create it;
/// - we are the holder: renew, keeping `acquireTime` and `leaseTransitions`;
/// - nobody holds it, or the holder has not changed the record for its `leaseDurationSeconds`
///   from our view: take over, counting a transition;
/// - otherwise follow until that moment.
pub fn decide(
    current: Option<&LeaseRecord>,
    observed: &Observation,
    config: &ElectionConfig,
    now: Instant,
    wall: Timestamp,
) -> (Action, Observation) {
    let observation = observed.saw(current, now);
    let identity = config.identity_value();
    let mine = LeaseRecord::held_by(identity, config, wall);
    let Some(current) = current else {
        return (Action::Create(mine), observation);
    };
    if current.holder == identity {
        let renewed = LeaseRecord {
            acquire_time: current.acquire_time,
            transitions: current.transitions,
            ..mine
        };
        return (Action::Renew(renewed), observation);
    }
    let since = observation.since.unwrap_or(now);
    let until = since + current.lease_duration();
    if !current.holder.is_empty() && until > now {
        let holder = current.holder.clone();
        return (Action::Follow { holder, until }, observation);
    }
    let taken = LeaseRecord {
        transitions: current.transitions.saturating_add(1),
        ..mine
    };
    (Action::TakeOver(taken), observation)
}

/// Whether a leader whose last successful renewal started at `last_renewed` must step down
/// at `now`: it had `RenewDeadline` to renew again. `last_renewed` is the instant taken
/// *before* the renewing request was sent, so followers (who start counting when they see
/// the write) can only start later.
pub fn must_step_down(last_renewed: Instant, now: Instant, config: &ElectionConfig) -> bool {
    now >= last_renewed + config.renew_deadline_value()
}

/// What a leader writes when it shuts down with `ReleaseOnCancel` (client-go's `release`):
/// no holder, a one-second duration, the transitions kept. `None` when `current` is not
/// held by us (someone took over already; nothing to release).
pub fn release_record(
    current: &LeaseRecord,
    config: &ElectionConfig,
    wall: Timestamp,
) -> Option<LeaseRecord> {
    (current.holder == config.identity_value()).then(|| LeaseRecord {
        holder: String::new(),
        lease_duration_seconds: 1,
        acquire_time: Some(wall),
        renew_time: Some(wall),
        transitions: current.transitions,
    })
}
