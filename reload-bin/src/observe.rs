//! What the binary does with each engine event: Reloader's log lines, `reloader_*` metrics,
//! Kubernetes Events on the workload, alerts. [`effects`] is the pure mapping (tested against
//! Reloader's exact texts); [`Effector`] carries the effects out.
//!
//! Effects carry names and digests only: nothing here can hold a Secret's value.

use std::sync::Arc;

use reload_core::engine::{EngineEvent, EngineSkip, Observer, Recovery};
use reload_core::{MatchProblem, SourceKind, SourceRef, WorkloadRef};
use tokio::sync::mpsc;
use tracing::Level;

use crate::alerts::Alerter;
use crate::http::Health;
use crate::metrics::Metrics;
use crate::webhook::Webhook;

/// A Kubernetes Event to publish on a workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadEvent {
    /// The workload the Event is about.
    pub workload: WorkloadRef,
    /// `Warning` rather than `Normal`.
    pub warning: bool,
    /// `Reloaded`, `ReloadFail`, ...
    pub reason: &'static str,
    /// The message.
    pub note: String,
}

/// One thing to do for an engine event.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Write a log line.
    Log(Level, String),
    /// Count a workload write (`reloader_reload_executed_total`, ...).
    CountReload {
        /// Workload kind label.
        kind: String,
        /// Workload namespace.
        namespace: String,
        /// Whether the write succeeded.
        success: bool,
    },
    /// Count a skip under Reloader's reason label.
    CountSkip(&'static str),
    /// Publish a Kubernetes Event.
    Event(WorkloadEvent),
    /// Send a reload alert (when alerts are on).
    Alert {
        /// The source.
        source: SourceRef,
        /// The workload.
        workload: WorkloadRef,
    },
    /// The caches are synced: `/ready` turns 200.
    Ready,
    /// Writes are held because the API server is unreachable (`true`: `/ready` answers 503),
    /// or resumed (`false`).
    WritesHeld(bool),
    /// `--webhook-url` mode: log Reloader's line and POST the webhook for this source.
    Webhook(SourceRef),
    /// Count a reconcile (`reloader_reconcile_*`, `reloader_workqueue_latency_seconds`,
    /// `reloader_workloads_scanned_total`, `reloader_errors_total` on errors).
    CountReconcile {
        /// Workload kind label.
        kind: String,
        /// `success`, `error` or `skipped`.
        result: &'static str,
        /// Decision to end of write.
        seconds: f64,
        /// Ready to decision.
        queued_seconds: f64,
        /// Workloads pending afterwards.
        depth: usize,
    },
    /// Count a queued trigger; `depth` workloads pending afterwards.
    CountQueued(usize),
    /// Count a write decided again (after a conflict or a retryable error).
    CountRetry,
    /// Count an error outside a reconcile (`watch_error`).
    CountError(&'static str),
    /// Count a source event: `(event_type, resource_type, result)`.
    CountSourceEvent(&'static str, &'static str, &'static str),
}

/// Reloader's `resource_type` label of a source kind.
fn resource_type(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::ConfigMap => "configmaps",
        SourceKind::Secret => "secrets",
        SourceKind::SecretProviderClass => "secretproviderclasspodstatuses",
    }
}

/// `'<name>' of type '<TYPE>' in namespace '<ns>'` for a source.
fn source_phrase(source: &SourceRef) -> String {
    format!(
        "'{}' of type '{}' in namespace '{}'",
        source.name,
        source.kind.reloader_type(),
        source.namespace
    )
}

/// `'<name>' of type '<Kind>' in namespace '<ns>'` for a workload.
fn workload_phrase(workload: &WorkloadRef) -> String {
    format!(
        "'{}' of type '{}' in namespace '{}'",
        workload.name, workload.kind, workload.namespace
    )
}

/// The effects of one engine event.
#[must_use]
pub fn effects(event: &EngineEvent) -> Vec<Effect> {
    match event {
        EngineEvent::Reloaded {
            workload,
            source,
            dry_run,
            ..
        } => reloaded(workload, source, *dry_run),
        EngineEvent::Skipped {
            source,
            reason: EngineSkip::Matcher(_),
            ..
        } => {
            vec![Effect::Log(
                Level::DEBUG,
                format!("No changes detected in {}", source_phrase(source)),
            )]
        }
        EngineEvent::Skipped {
            reason: EngineSkip::UpToDate | EngineSkip::StrategyNotUpdated,
            ..
        } => {
            vec![Effect::CountSkip("strategy_not_updated")]
        }
        EngineEvent::SourceUnchanged { .. } => vec![Effect::CountSkip("no_data_change")],
        EngineEvent::Baselined {
            workload,
            sources,
            dry_run,
        } => vec![Effect::Log(
            Level::DEBUG,
            format!(
                "{}Recorded baseline digests on {} for {} source(s)",
                if *dry_run { "[dry-run] " } else { "" },
                workload_phrase(workload),
                sources.len()
            ),
        )],
        EngineEvent::Failed { workload, cause, .. } => failed(workload, cause),
        EngineEvent::WorkloadGone { workload, .. } => gone(workload),
        EngineEvent::MatchProblem {
            workload,
            problem:
                problem @ (MatchProblem::UnsupportedWorkload { .. }
                | MatchProblem::InvalidPausePeriod { .. }
                | MatchProblem::EnvVarCollision { .. }),
        } => warning(
            workload,
            match problem {
                MatchProblem::UnsupportedWorkload { .. } => "ReloadSkipped",
                MatchProblem::EnvVarCollision { .. } => "EnvVarCollision",
                _ => "InvalidPausePeriod",
            },
            Level::WARN,
            format!("{}: {problem}", workload_phrase(workload)),
        ),
        EngineEvent::KindUnavailable { kind, cause } => vec![Effect::Log(
            Level::INFO,
            format!("Skipping {kind}: not served by the API server ({cause}); running without it"),
        )],
        EngineEvent::MatchProblem { workload, problem } => warning(
            workload,
            "InvalidReloadAnnotation",
            Level::ERROR,
            format!(
                "Skipping invalid reload annotation on {} '{}' in namespace '{}': {problem}",
                workload.kind, workload.name, workload.namespace
            ),
        ),
        EngineEvent::RevertFightDetected {
            workload,
            source,
            attempts,
            ..
        } => warning(
            workload,
            "ReloadRevertFight",
            Level::WARN,
            format!(
                "Stopped re-applying the reload for {} on {}: applied {attempts} times and reverted each time by another writer",
                source_phrase(source),
                workload_phrase(workload)
            ),
        ),
        EngineEvent::WatchError { cause } => {
            vec![
                Effect::Log(Level::WARN, format!("Watch error (retrying): {cause}")),
                Effect::CountError("watch_error"),
            ]
        }
        EngineEvent::Synced => {
            vec![
                Effect::Log(Level::INFO, "Caches synced, reconciling".to_owned()),
                Effect::Ready,
            ]
        }
        EngineEvent::SourceChanged { source, .. } => vec![Effect::Webhook(source.clone())],
        EngineEvent::Recovered { recovery } => vec![recovered(recovery)],
        _ => retried(event).unwrap_or_else(|| counted(event)),
    }
}

/// The effects of retries of writes (issue 25): a retryable failure is a warning and a
/// retry, never a failed reload; an unreachable API server holds writes and turns `/ready`
/// 503 until a write gets an answer; drift found by the safety net names its cause.
fn retried(event: &EngineEvent) -> Option<Vec<Effect>> {
    let effects = match event {
        EngineEvent::WriteRetrying {
            workload,
            cause,
            failures,
            retry_in,
            ..
        } => vec![
            Effect::Log(
                Level::WARN,
                format!(
                    "Update for {} failed with error {cause}; retrying in {:.1}s (attempt {})",
                    workload_phrase(workload),
                    retry_in.as_secs_f64(),
                    failures + 1
                ),
            ),
            Effect::CountRetry,
        ],
        EngineEvent::WritesHeld { cause } => vec![
            Effect::Log(
                Level::WARN,
                format!("API server unreachable ({cause}): holding writes behind one probe"),
            ),
            Effect::WritesHeld(true),
        ],
        EngineEvent::WritesResumed { held_for } => vec![
            Effect::Log(
                Level::INFO,
                format!("Writes resumed after {:.1}s held", held_for.as_secs_f64()),
            ),
            Effect::WritesHeld(false),
        ],
        EngineEvent::Drift {
            workload,
            sources,
            cause,
        } => vec![Effect::Log(
            Level::WARN,
            format!(
                "Reload queued for {} ({}): {}",
                workload_phrase(workload),
                sources.iter().map(source_phrase).collect::<Vec<_>>().join(", "),
                cause.as_str()
            ),
        )],
        _ => return None,
    };
    Some(effects)
}

/// The log line of a finished (or failed) interrupted Job reload.
fn recovered(recovery: &Recovery) -> Effect {
    match recovery {
        Recovery::Recreated { job } => Effect::Log(
            Level::INFO,
            format!(
                "Finished an interrupted reload: recreated {} from its holder Job",
                workload_phrase(job)
            ),
        ),
        Recovery::HolderRemoved { job } => Effect::Log(
            Level::INFO,
            format!(
                "Finished an interrupted reload of {}: the Job exists, its holder Job was deleted",
                workload_phrase(job)
            ),
        ),
        Recovery::Failed {
            job: Some(job),
            error,
        } => Effect::Log(
            Level::WARN,
            format!(
                "Could not finish an interrupted reload of {} (retried at the next start): {error}",
                workload_phrase(job)
            ),
        ),
        Recovery::Failed { job: None, error } => Effect::Log(
            Level::WARN,
            format!(
                "Could not list the holder Jobs of interrupted reloads (retried at the next start): {error}"
            ),
        ),
        _ => Effect::Log(
            Level::INFO,
            format!("Finished an interrupted reload: {recovery:?}"),
        ),
    }
}

/// The effects of the events that feed Reloader's queue and reconcile metrics, and of the HA
/// write gate.
fn counted(event: &EngineEvent) -> Vec<Effect> {
    match event {
        EngineEvent::WriteGate { open: true } => vec![Effect::Log(
            Level::INFO,
            "Leading: writes enabled, deciding the work queued while standby".to_owned(),
        )],
        EngineEvent::WriteGate { open: false } => {
            vec![Effect::Log(Level::WARN, "Not leading: writes stopped".to_owned())]
        }
        EngineEvent::SourceEvent {
            source,
            event,
            changed,
        } => vec![Effect::CountSourceEvent(
            event.as_str(),
            resource_type(source.kind),
            if *changed { "success" } else { "dropped" },
        )],
        EngineEvent::Queued { depth, .. } => vec![Effect::CountQueued(*depth)],
        EngineEvent::Reconciled {
            workload,
            result,
            waited,
            took,
            depth,
        } => vec![Effect::CountReconcile {
            kind: workload.kind.to_string(),
            result: result.as_str(),
            seconds: took.as_secs_f64(),
            queued_seconds: waited.as_secs_f64(),
            depth: *depth,
        }],
        EngineEvent::Retried { .. } => vec![Effect::CountRetry],
        _ => Vec::new(),
    }
}

/// A rollout: Reloader's log line, metrics, `Reloaded` Event and alert (dry run: the line only).
fn reloaded(workload: &WorkloadRef, source: &SourceRef, dry_run: bool) -> Vec<Effect> {
    if dry_run {
        return vec![Effect::Log(
            Level::INFO,
            format!(
                "[dry-run] Changes detected in {}; would update {}",
                source_phrase(source),
                workload_phrase(workload)
            ),
        )];
    }
    vec![
        Effect::Log(
            Level::INFO,
            format!(
                "Changes detected in {}; updated {}",
                source_phrase(source),
                workload_phrase(workload)
            ),
        ),
        Effect::CountReload {
            kind: workload.kind.to_string(),
            namespace: workload.namespace.clone(),
            success: true,
        },
        Effect::Event(WorkloadEvent {
            workload: workload.clone(),
            warning: false,
            reason: "Reloaded",
            note: format!(
                "Changes detected in {}, Updated {}",
                source_phrase(source),
                workload_phrase(workload)
            ),
        }),
        Effect::Alert {
            source: source.clone(),
            workload: workload.clone(),
        },
    ]
}

/// A failed write: Reloader's error line, the failure counted, a `ReloadFail` Warning.
fn failed(workload: &WorkloadRef, cause: &str) -> Vec<Effect> {
    let note = format!(
        "Update for {} failed with error {cause}",
        workload_phrase(workload)
    );
    let mut effects = vec![Effect::CountReload {
        kind: workload.kind.to_string(),
        namespace: workload.namespace.clone(),
        success: false,
    }];
    effects.splice(0..0, warning(workload, "ReloadFail", Level::ERROR, note));
    effects
}

/// A workload deleted while its reload was queued: not a failed reload, no metric, no Event.
fn gone(workload: &WorkloadRef) -> Vec<Effect> {
    vec![Effect::Log(
        Level::INFO,
        format!(
            "Skipping {}: workload deleted before its reload",
            workload_phrase(workload)
        ),
    )]
}

/// A log line plus a Warning Event with the same text.
fn warning(workload: &WorkloadRef, reason: &'static str, level: Level, note: String) -> Vec<Effect> {
    vec![
        Effect::Log(level, note.clone()),
        Effect::Event(WorkloadEvent {
            workload: workload.clone(),
            warning: true,
            reason,
            note,
        }),
    ]
}

/// Carries out effects: logs, metrics and readiness directly; Events and alerts through
/// background senders so the engine's task never waits on the network.
pub struct Effector {
    metrics: Metrics,
    health: Arc<Health>,
    events: Option<mpsc::Sender<WorkloadEvent>>,
    alerter: Option<Alerter>,
    webhook: Option<Webhook>,
}

impl Effector {
    /// Sends `--webhook-url` POSTs for reported source changes.
    #[must_use]
    pub fn webhook(mut self, webhook: Option<Webhook>) -> Self {
        self.webhook = webhook;
        self
    }

    /// An effector; `events` is the queue of the Event publisher, if any.
    pub fn new(
        metrics: Metrics,
        health: Arc<Health>,
        events: Option<mpsc::Sender<WorkloadEvent>>,
        alerter: Option<Alerter>,
    ) -> Self {
        Effector {
            metrics,
            health,
            events,
            alerter,
            webhook: None,
        }
    }

    fn apply(&self, effect: Effect) {
        match effect {
            Effect::Log(level, message) => log(level, &message),
            Effect::CountReload {
                kind,
                namespace,
                success,
            } => {
                self.metrics.record_reload(&kind, &namespace, success, None);
            }
            Effect::CountSkip(reason) => self.metrics.record_skipped(reason),
            Effect::Event(event) => {
                if let Some(queue) = &self.events
                    && queue.try_send(event).is_err()
                {
                    tracing::warn!("Event queue full: a Kubernetes Event was dropped");
                }
            }
            Effect::Alert { source, workload } => {
                if let Some(alerter) = &self.alerter {
                    alerter.reloaded(
                        &source.name,
                        source.kind.reloader_type(),
                        &source.namespace,
                        &workload.name,
                        workload.kind.as_str(),
                    );
                }
            }
            Effect::Ready => self.health.set_ready(true),
            Effect::WritesHeld(held) => self.health.set_writes_held(held),
            Effect::CountReconcile {
                kind,
                result,
                seconds,
                queued_seconds,
                depth,
            } => self
                .metrics
                .record_reconcile(&kind, result, seconds, queued_seconds, depth),
            Effect::CountQueued(depth) => self.metrics.record_queued(depth),
            Effect::CountRetry => self.metrics.record_retry(),
            Effect::CountError(kind) => self.metrics.record_error(kind),
            Effect::CountSourceEvent(event_type, resource, result) => {
                self.metrics.record_source_event(event_type, resource, result);
            }
            Effect::Webhook(source) => {
                if let Some(webhook) = &self.webhook {
                    webhook.changed(&source);
                }
            }
        }
    }
}

impl Observer for Effector {
    fn observe(&self, event: &EngineEvent) {
        for effect in effects(event) {
            self.apply(effect);
        }
    }
}

fn log(level: Level, message: &str) {
    match level {
        Level::ERROR => tracing::error!("{message}"),
        Level::WARN => tracing::warn!("{message}"),
        Level::INFO => tracing::info!("{message}"),
        Level::DEBUG => tracing::debug!("{message}"),
        Level::TRACE => tracing::trace!("{message}"),
    }
}

#[cfg(test)]
mod tests;
