//! Pause-period planning (Reloader's `deployment.reloader.stakater.com/pause-period`), pure.
//!
//! A Deployment whose metadata carries a pause-period (a Go duration) is paused in the same
//! write as its reload (`spec.paused: true` and the `paused-at` annotation, RFC3339 seconds)
//! and resumed (`spec.paused: false`, `paused-at` removed) once the period has passed, so the
//! changes of the period batch into one rollout. As in Reloader, a pause is never extended, a
//! Deployment paused by someone else (no `paused-at`) is left paused, and only Deployments can
//! be paused.
//!
//! Crash-safe, unlike Reloader (which rebuilds its timers only when the next change arrives,
//! stakater/Reloader#1016): the resume instant is derived from the Deployment itself
//! ([`resume_due_ms`]), so the engine's start-up reconcile resumes a Deployment whose period
//! has passed and schedules one still within it.
//!
//! Deviations: an unparsable period reloads without a pause and is reported (Reloader fails the
//! reload and retries forever); DaemonSets and StatefulSets, which cannot be paused, get the
//! period as a per-workload debounce ([`debounce`]) instead of a warning.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;

use crate::decision::MatchProblem;
use crate::go_duration;
use crate::plan::Edit;
use crate::workload::{Workload, WorkloadKind};

use super::index::IndexedWorkload;

/// The annotation keys of pause-period (Reloader's `--pause-deployment-annotation` and
/// `--pause-deployment-time-annotation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PauseKeys<'a> {
    /// The period key (`deployment.reloader.stakater.com/pause-period`).
    pub period: &'a str,
    /// The paused-at key (`deployment.reloader.stakater.com/paused-at`).
    pub paused_at: &'a str,
}

/// What a reconcile does about the pause of a Deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PauseAction {
    /// Pause it (`spec.paused: true`) and record when (`paused-at`, RFC3339).
    Pause {
        /// The `paused-at` value.
        paused_at: String,
    },
    /// Resume it (`spec.paused: false`, `paused-at` removed).
    Resume,
}

impl PauseAction {
    /// The metadata edit of the action (the `spec.paused` field is [`PauseAction::paused`]).
    pub fn edit(&self, keys: PauseKeys<'_>) -> Edit {
        Edit::SetAnnotation {
            key: keys.paused_at.to_owned(),
            value: match self {
                PauseAction::Pause { paused_at } => Some(paused_at.clone()),
                PauseAction::Resume => None,
            },
        }
    }

    /// The value written to `spec.paused`.
    pub fn paused(&self) -> bool {
        matches!(self, PauseAction::Pause { .. })
    }
}

/// The pause period a workload's metadata asks for: `None` without the annotation, `Err` with
/// the parser's message when it is not a Go duration.
pub fn period(workload: &Workload, keys: PauseKeys<'_>) -> Option<Result<Duration, String>> {
    workload
        .annotations
        .get(keys.period)
        .map(|v| go_duration::parse(v))
}

/// `now_ms` as Reloader writes `paused-at`: RFC3339 in UTC, whole seconds.
pub fn rfc3339_seconds(now_ms: i64) -> String {
    Timestamp::from_second(now_ms.div_euclid(1000))
        .map_or_else(|_| "1970-01-01T00:00:00Z".to_owned(), |t| t.to_string())
}

/// When a Deployment paused by the engine is due to resume, in Unix milliseconds; `None` when
/// it is not paused by the engine (not a Deployment, not paused, or no `paused-at`).
///
/// An unreadable `paused-at` or a period that no longer parses is due at once (Reloader
/// resumes immediately when `paused-at` does not parse).
pub fn resume_due_ms(indexed: &IndexedWorkload, keys: PauseKeys<'_>) -> Option<i64> {
    let workload = &indexed.workload;
    if workload.id.kind != WorkloadKind::Deployment || !indexed.paused {
        return None;
    }
    let paused_at = workload.annotations.get(keys.paused_at)?;
    let Ok(at) = paused_at.parse::<Timestamp>() else {
        return Some(i64::MIN);
    };
    let Some(Ok(period)) = period(workload, keys) else {
        return Some(i64::MIN);
    };
    let period_ms = i64::try_from(period.as_millis()).unwrap_or(i64::MAX);
    Some(at.as_millisecond().saturating_add(period_ms))
}

/// The pause step of one reconcile of `indexed` at `now_ms`; `rolls` says whether the
/// reconcile writes a rollout. Returns the action, and a problem to report when the period
/// annotation does not parse (the reload then goes ahead without a pause).
pub fn plan(
    indexed: &IndexedWorkload,
    keys: PauseKeys<'_>,
    rolls: bool,
    now_ms: i64,
) -> (Option<PauseAction>, Option<MatchProblem>) {
    let workload = &indexed.workload;
    if workload.id.kind != WorkloadKind::Deployment {
        return (None, None);
    }
    if let Some(due) = resume_due_ms(indexed, keys) {
        // Paused by us: never extended; resumed once due, together with any new rollout.
        return ((due <= now_ms).then_some(PauseAction::Resume), None);
    }
    if !rolls || indexed.paused {
        // Nothing to roll, or paused by someone else: the rollout stays held by their pause.
        return (None, None);
    }
    match period(workload, keys) {
        None => (None, None),
        Some(Ok(_)) => (
            Some(PauseAction::Pause {
                paused_at: rfc3339_seconds(now_ms),
            }),
            None,
        ),
        Some(Err(message)) => (
            None,
            Some(MatchProblem::InvalidPausePeriod {
                annotation: keys.period.to_owned(),
                value: workload.annotations.get(keys.period).cloned().unwrap_or_default(),
                message,
            }),
        ),
    }
}

/// The per-workload debounce of a DaemonSet or StatefulSet with a valid pause-period (they
/// cannot be paused; the period batches their changes instead).
pub fn debounce(workload: &Workload, keys: PauseKeys<'_>) -> Option<Duration> {
    match workload.id.kind {
        WorkloadKind::DaemonSet | WorkloadKind::StatefulSet => period(workload, keys)?.ok(),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod tests;
