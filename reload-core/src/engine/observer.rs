//! [`Observer`]: how the engine reports every decision.
//!
//! The binary turns these events into Reloader's log lines, `reloader_*` metrics and
//! Kubernetes Events. Events carry identities and digests only, never a Secret's values.

use std::time::Duration;

use crate::decision::{MatchProblem, ReloadReason, SkipReason};
use crate::hash::Digest;
use crate::plan::ChangeKind;
use crate::source::SourceRef;
use crate::workload::WorkloadRef;

/// Why the engine did not write a workload for a source.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EngineSkip {
    /// The matcher said no.
    Matcher(SkipReason),
    /// The workload already records the source's current digest.
    UpToDate,
    /// The strategy found nothing to write (e.g. an env var to remove is absent).
    StrategyNotUpdated,
    /// The same digest was re-applied too often: another controller keeps reverting it.
    RevertFight,
}

/// One decision or notable happening of the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EngineEvent {
    /// A workload's pod template was written for a source (a rollout). In dry-run mode this
    /// reports what would have been written.
    Reloaded {
        /// The workload.
        workload: WorkloadRef,
        /// The source whose change caused it.
        source: SourceRef,
        /// The matcher's reason.
        reason: ReloadReason,
        /// What happened to the source.
        change: ChangeKind,
        /// The digest the workload recorded before, if any.
        old_digest: Option<Digest>,
        /// The digest it records now.
        new_digest: Digest,
        /// Whether this was a dry run (nothing written).
        dry_run: bool,
    },
    /// A workload was not written for a source.
    Skipped {
        /// The workload.
        workload: WorkloadRef,
        /// The source.
        source: SourceRef,
        /// Why.
        reason: EngineSkip,
    },
    /// A source event changed nothing the digest covers (label- or annotation-only edit).
    SourceUnchanged {
        /// The source.
        source: SourceRef,
    },
    /// Metadata-only baselines were recorded for (workload, source) pairs without a record.
    Baselined {
        /// The workload.
        workload: WorkloadRef,
        /// The sources and the digests recorded.
        sources: Vec<(SourceRef, Digest)>,
        /// Whether this was a dry run (nothing written).
        dry_run: bool,
    },
    /// Writing a workload was refused for good: 403, 422 and the like, or conflicts that
    /// persisted. Retryable errors (transport, 429, 5xx) never end here: they are
    /// [`EngineEvent::WriteRetrying`] until the write lands or is no longer wanted.
    Failed {
        /// The workload.
        workload: WorkloadRef,
        /// The sources the write was for.
        sources: Vec<SourceRef>,
        /// Low-cardinality error kind (`conflict`, `forbidden`, `not_found`, `invalid`, ...).
        kind: &'static str,
        /// Human-readable cause (from the API server's status message).
        cause: String,
    },
    /// The workload was deleted before its reload was written (the write got 404): nothing to
    /// roll, not a failure.
    WorkloadGone {
        /// The workload.
        workload: WorkloadRef,
        /// The sources the write was for.
        sources: Vec<SourceRef>,
    },
    /// The matcher found a problem with a workload's annotations (e.g. an invalid regex).
    MatchProblem {
        /// The workload.
        workload: WorkloadRef,
        /// The problem.
        problem: MatchProblem,
    },
    /// Another controller keeps stripping our trigger state: the engine stopped re-applying.
    RevertFightDetected {
        /// The workload.
        workload: WorkloadRef,
        /// The source.
        source: SourceRef,
        /// The digest that keeps being reverted.
        digest: Digest,
        /// How often it was applied.
        attempts: u32,
    },
    /// A watch reported an error (it recovers by itself with backoff).
    WatchError {
        /// What failed.
        cause: String,
    },
    /// Every watch finished its initial list; the engine now reconciles.
    Synced,
    /// An optional kind (Argo Rollouts, CSI SecretProviderClassPodStatus) is not served by the
    /// API server (its CRD is not installed): reported once at start-up, the engine runs
    /// without it.
    KindUnavailable {
        /// The kind (`Rollout`, `SecretProviderClassPodStatus`).
        kind: String,
        /// What discovery said.
        cause: String,
    },
    /// A source changed and the engine only reports changes (`EngineConfig::notify_only`).
    SourceChanged {
        /// The source.
        source: SourceRef,
        /// What happened to it.
        change: ChangeKind,
    },
    /// A source watch event reached the engine's store (events of ignored namespaces are
    /// dropped on arrival and never reported). The first list of a watch is a resync, not
    /// events; a later re-list reports the differences it found.
    SourceEvent {
        /// The source.
        source: SourceRef,
        /// What the event was.
        event: SourceEventKind,
        /// Whether it changed what the digest covers (or deleted the source): `false` for a
        /// label- or annotation-only edit, which triggers nothing.
        changed: bool,
    },
    /// A trigger was queued for a workload (joining its pending entry if it had one).
    Queued {
        /// The workload.
        workload: WorkloadRef,
        /// Workloads pending afterwards.
        depth: usize,
    },
    /// One reconcile of a workload ended: decided, and written or not. A conflict's re-plan
    /// belongs to the same reconcile ([`EngineEvent::Retried`]).
    Reconciled {
        /// The workload.
        workload: WorkloadRef,
        /// How it ended.
        result: ReconcileResult,
        /// From when the workload became ready (its first trigger, plus the debounce window
        /// if any) to its decision.
        waited: Duration,
        /// From its decision to the end of its write (the decision alone when nothing was
        /// written).
        took: Duration,
        /// Workloads pending afterwards.
        depth: usize,
    },
    /// A write hit a conflict and the workload is decided again against the fresh state.
    Retried {
        /// The workload.
        workload: WorkloadRef,
    },
    /// A write failed retryably (transport error, 429, 5xx): the workload stays queued and is
    /// decided again against the cache after `retry_in` (or as soon as the API server answers
    /// again, after [`EngineEvent::WritesHeld`]). Nothing is reported failed.
    WriteRetrying {
        /// The workload.
        workload: WorkloadRef,
        /// The sources the write was for.
        sources: Vec<SourceRef>,
        /// Low-cardinality error kind (`transport`, `throttled`, `server_error`).
        kind: &'static str,
        /// Human-readable cause (the transport error or the server's status message).
        cause: String,
        /// Retryable failures of this workload's write in a row.
        failures: u32,
        /// The backoff before the next attempt.
        retry_in: Duration,
    },
    /// A write got no answer from the API server (a transport error: it is unreachable):
    /// from now on writes wait behind one probe write at a time, with backoff, until one gets
    /// an answer. The binary's `/ready` answers 503 until [`EngineEvent::WritesResumed`].
    WritesHeld {
        /// The transport error.
        cause: String,
    },
    /// After [`EngineEvent::WritesHeld`]: a probe write got an answer from the API server (any
    /// HTTP status), or no write is left to hold. The writes held meanwhile are released.
    WritesResumed {
        /// How long writes were held.
        held_for: Duration,
    },
    /// The level-triggered safety net found a workload whose recorded digest differs from its
    /// source's current one, with nothing queued for it: a normal reload was queued.
    Drift {
        /// The workload.
        workload: WorkloadRef,
        /// The sources whose recorded digest is out of date.
        sources: Vec<SourceRef>,
        /// What ran the check.
        cause: DriftCause,
    },
    /// The write gate ([`super::Engine::write_gate`]) opened or closed. Closed: the engine
    /// keeps watching and queueing but writes nothing; opened: it decides everything queued
    /// meanwhile against the current state.
    WriteGate {
        /// Whether writes are allowed now (`false` also when the gate's sender was dropped).
        open: bool,
    },
    /// A write interrupted by a crash (a Job reload killed between its DELETE and its CREATE,
    /// which leaves a holder Job behind: see [`super::batch::HOLDER_LABEL`]) was finished, or
    /// could not be, when writes opened (at start, or when the write gate opened).
    Recovered {
        /// What was done.
        recovery: Recovery,
    },
}

/// What finishing one interrupted write did ([`super::WorkloadWriter::recover`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Recovery {
    /// The Job was gone: its copy was created from the holder, and the holder deleted.
    Recreated {
        /// The Job.
        job: WorkloadRef,
    },
    /// The Job existed (the reload had not deleted it yet, or had already recreated it): only
    /// the holder was deleted.
    HolderRemoved {
        /// The Job.
        job: WorkloadRef,
    },
    /// Finishing failed; a holder found is kept, for the next start to finish.
    Failed {
        /// The Job, when known (not for a failed LIST of holders).
        job: Option<WorkloadRef>,
        /// What failed.
        error: super::WriteError,
    },
}

/// What made the engine compare recorded with live digests of every workload
/// ([`EngineEvent::Drift`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DriftCause {
    /// A watch reconnected after an error, or re-listed.
    Reconnect,
    /// The periodic resync ([`super::EngineConfig::resync_period`]).
    PeriodicResync,
}

impl DriftCause {
    /// `drift after reconnect` or `drift found by periodic resync` (for log lines).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            DriftCause::Reconnect => "drift after reconnect",
            DriftCause::PeriodicResync => "drift found by periodic resync",
        }
    }
}

/// What a source watch event was (Reloader's `event_type` metric label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SourceEventKind {
    /// The source appeared.
    Add,
    /// The source was modified.
    Update,
    /// The source was deleted.
    Delete,
}

impl SourceEventKind {
    /// `add`, `update` or `delete`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            SourceEventKind::Add => "add",
            SourceEventKind::Update => "update",
            SourceEventKind::Delete => "delete",
        }
    }
}

/// How a reconcile ended (Reloader's `result` label of `reloader_reconcile_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReconcileResult {
    /// The workload was written.
    Success,
    /// The write failed for good.
    Error,
    /// Nothing was written: up to date, not matched, or a dry run.
    Skipped,
}

impl ReconcileResult {
    /// `success`, `error` or `skipped`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ReconcileResult::Success => "success",
            ReconcileResult::Error => "error",
            ReconcileResult::Skipped => "skipped",
        }
    }
}

impl EngineEvent {
    /// The [`EngineEvent::SourceEvent`] of a store delta.
    pub(super) fn of_delta(delta: &super::sources::SourceDelta) -> EngineEvent {
        use super::sources::SourceDelta;
        let (source, event, changed) = match delta {
            SourceDelta::Created(source) => (source, SourceEventKind::Add, true),
            SourceDelta::Updated(source) => (source, SourceEventKind::Update, true),
            SourceDelta::Unchanged(source) => (source, SourceEventKind::Update, false),
            SourceDelta::Deleted(record) => (&record.id, SourceEventKind::Delete, true),
        };
        EngineEvent::SourceEvent {
            source: source.clone(),
            event,
            changed,
        }
    }
}

/// Receives every [`EngineEvent`]. Sync and cheap: do I/O elsewhere (e.g. send on a channel).
///
/// Closures `Fn(&EngineEvent)` implement it:
///
/// ```
/// use reload_core::engine::{EngineEvent, Observer};
///
/// let log = |event: &EngineEvent| {
///     if let EngineEvent::Reloaded { workload, source, .. } = event {
///         println!("{source} rolled {workload}");
///     }
/// };
/// log.observe(&EngineEvent::Synced);
/// ```
pub trait Observer: Send + Sync {
    /// Called once per event, from the engine's task.
    fn observe(&self, event: &EngineEvent);
}

impl<F> Observer for F
where
    F: Fn(&EngineEvent) + Send + Sync,
{
    fn observe(&self, event: &EngineEvent) {
        self(event);
    }
}
