//! The engine loop's write side: taking ready work from the queue within the concurrency
//! limit (one probe at a time while the API server is unreachable), deciding it against the
//! current stores, writing the patch as a task, and folding the task's outcome back into the
//! state (retries, reports, revert-fight detection).

use serde_json::Value;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::hash::Digest;
use crate::plan::strategic_merge_patch;
use crate::source::SourceRef;
use crate::workload::WorkloadRef;

use super::super::apply::{self, WriteOutcome};
use super::super::decide::{Decided, Reconcile, Rules, Trigger};
use super::super::index::IndexedWorkload;
use super::super::observer::{EngineEvent, ReconcileResult};
use super::super::pause;
use super::super::queue::Pending;
use super::super::retry;
use super::super::rollout;
use super::{Done, State, now_ms};

impl State {
    pub(super) fn dispatch(&mut self, tasks: &mut JoinSet<Done>) {
        self.end_idle_outage();
        if !self.synced || !self.may_write() {
            return;
        }
        while self.queue.in_flight() < self.write_slots() {
            if self
                .outage
                .is_some_and(|o| !o.may_probe(Instant::now(), self.queue.in_flight()))
            {
                return;
            }
            let Some((id, pending)) = self.queue.pop_ready(Instant::now()) else {
                return;
            };
            self.start(id, pending, tasks);
        }
    }

    pub(super) fn decide(&self, indexed: &IndexedWorkload, trigger: &Trigger) -> Decided {
        let config = &self.engine.config;
        let id = indexed.id();
        let limit = config.get_revert_fight_limit();
        let now = now_ms();
        let blocked = |source: &SourceRef, digest: &Digest| {
            self.fights
                .get(&(id.clone(), source.clone()))
                .is_some_and(|(d, n)| d == digest && *n >= limit)
        };
        let reconcile = Reconcile {
            workload: indexed,
            sources: &self.sources,
            matcher: self.engine.matcher.as_ref(),
            strategy: self.engine.strategy.as_ref(),
            memory: self.memory.get(id),
            named: self.index.is_named(id),
            rules: Rules {
                baselines: config.has_baselines(),
                reload_on_create: config.is_reload_on_create(),
                reload_on_delete: config.is_reload_on_delete(),
                cronjob_mode: config.get_cronjob_mode(),
            },
            now_secs: now / 1000,
            blocked: &blocked,
        };
        let mut decided = reconcile.decide(trigger);
        let keys = self.pause_keys();
        let (action, problem) = pause::plan(indexed, keys, !decided.rollouts.is_empty(), now);
        decided.problems.extend(problem);
        if let Some(action) = action {
            decided.edits.push(action.edit(keys));
            decided.pause = Some(action.paused());
            decided.guard_version = true;
        }
        decided
    }

    fn start(&mut self, id: WorkloadRef, pending: Pending, tasks: &mut JoinSet<Done>) {
        let Some(indexed) = self.index.get(&id).cloned() else {
            self.queue.done(&id);
            return;
        };
        if self.is_namespace_listing(&id.namespace) || self.engine.config.is_notify_only() {
            // Triggered again once every watch of its namespace has listed.
            self.queue.done(&id);
            return;
        }
        let began = Instant::now();
        let decided = self.decide(&indexed, &pending.trigger);
        if !decided.rollouts.is_empty()
            && let Err(wait) = self.rollouts.acquire(&id.namespace, Instant::now())
        {
            self.queue.done(&id);
            let ready_at = Instant::now() + wait;
            self.queue.requeue(id, Pending { ready_at, ..pending });
            return;
        }
        for problem in &decided.problems {
            self.emit(&EngineEvent::MatchProblem {
                workload: id.clone(),
                problem: problem.clone(),
            });
        }
        let memory = self.memory.entry(id.clone()).or_default();
        for (source, digest) in &decided.baselined {
            memory.insert(source.clone(), digest.clone());
        }
        if decided.edits.is_empty() || self.engine.config.is_dry_run() {
            let dry_run = !decided.edits.is_empty();
            self.report(&id, &decided, dry_run);
            self.queue.done(&id);
            self.reconciled(&id, ReconcileResult::Skipped, pending.ready_at, began);
            return;
        }
        let body = Self::patch_body(&indexed, &decided);
        let writer = self.writer.clone();
        let limiter = self.write_limiter.clone();
        tasks.spawn(async move {
            let outcome = apply::write(writer, limiter, id.clone(), body).await;
            (id, pending, decided, outcome, began)
        });
    }

    fn patch_body(indexed: &IndexedWorkload, decided: &Decided) -> Value {
        let mut body = strategic_merge_patch(&decided.edits, &indexed.workload.id.kind);
        if decided.guard_version
            && let (Some(rv), Value::Object(root)) = (&indexed.resource_version, &mut body)
        {
            let metadata = root
                .entry("metadata")
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            if let Value::Object(metadata) = metadata {
                metadata.insert("resourceVersion".into(), Value::String(rv.clone()));
            }
        }
        if let (Some(paused), Value::Object(root)) = (decided.pause, &mut body) {
            let spec = root
                .entry("spec")
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            if let Value::Object(spec) = spec {
                spec.insert("paused".into(), Value::Bool(paused));
            }
        }
        if !decided.rollouts.is_empty() && rollout::is_restart_mode(&indexed.workload) {
            body = rollout::restart_patch(&body, &pause::rfc3339_seconds(now_ms()));
        }
        body
    }

    /// Reports a decision that was written (or, with `dry_run`, would have been).
    fn report(&self, id: &WorkloadRef, decided: &Decided, dry_run: bool) {
        for rollout in &decided.rollouts {
            self.emit(&EngineEvent::Reloaded {
                workload: id.clone(),
                source: rollout.source.clone(),
                reason: rollout.reason.clone(),
                change: rollout.change,
                old_digest: rollout.old_digest.clone(),
                new_digest: rollout.new_digest.clone(),
                dry_run,
            });
        }
        if !decided.baselined.is_empty() && self.engine.config.has_baselines() {
            self.emit(&EngineEvent::Baselined {
                workload: id.clone(),
                sources: decided.baselined.clone(),
                dry_run,
            });
        }
        for (source, reason) in &decided.skipped {
            self.emit(&EngineEvent::Skipped {
                workload: id.clone(),
                source: source.clone(),
                reason: reason.clone(),
            });
        }
    }

    /// Reports the end of one reconcile (for the workqueue and reconcile metrics).
    fn reconciled(&self, id: &WorkloadRef, result: ReconcileResult, ready_at: Instant, began: Instant) {
        self.emit(&EngineEvent::Reconciled {
            workload: id.clone(),
            result,
            waited: began.saturating_duration_since(ready_at),
            took: began.elapsed(),
            depth: self.queue.len(),
        });
    }

    pub(super) fn on_done(&mut self, (id, pending, decided, outcome, began): Done) {
        self.queue.done(&id);
        let ready_at = pending.ready_at;
        if !matches!(&outcome, WriteOutcome::Retryable(error) if retry::is_unreachable(error)) {
            self.server_answered(began);
        }
        match outcome {
            WriteOutcome::Retryable(error) => self.retry_later(id, pending, &decided, error, began),
            WriteOutcome::Written(state) => {
                self.index.refresh(state);
                self.track_pause(&id);
                if self.engine.config.has_baselines()
                    && let Some(memory) = self.memory.get_mut(&id)
                {
                    // Persisted now: the workload's own annotation is the record.
                    for (source, _) in &decided.baselined {
                        memory.remove(source);
                    }
                    if memory.is_empty() {
                        self.memory.remove(&id);
                    }
                }
                self.report(&id, &decided, false);
                self.count_fights(&id, &decided);
                self.reconciled(&id, ReconcileResult::Success, ready_at, began);
            }
            WriteOutcome::Conflict(fresh) if pending.attempts + 1 < self.engine.config.get_max_attempts() => {
                if let Some(fresh) = fresh {
                    self.index.refresh(fresh);
                }
                let retry = Pending {
                    attempts: pending.attempts + 1,
                    failures: 0,
                    ready_at: Instant::now(),
                    ..pending
                };
                self.emit(&EngineEvent::Retried { workload: id.clone() });
                self.queue.requeue(id, retry);
            }
            WriteOutcome::Conflict(_) => {
                self.fail(
                    &id,
                    &decided,
                    "conflict",
                    "conflicts persisted after retries".into(),
                );
                self.reconciled(&id, ReconcileResult::Error, ready_at, began);
            }
            WriteOutcome::Failed(error) if error.code == 404 => {
                self.gone(&id, &decided);
                self.reconciled(&id, ReconcileResult::Skipped, ready_at, began);
            }
            WriteOutcome::Failed(error) => {
                self.fail(&id, &decided, error.kind(), error.message);
                self.reconciled(&id, ReconcileResult::Error, ready_at, began);
            }
        }
    }

    /// A refusal (403, 422, persisting conflicts): logged, counted and sent as a `ReloadFail`
    /// Event by the observer. The change is not retried; a later change of a source is.
    fn fail(&self, id: &WorkloadRef, decided: &Decided, kind: &'static str, cause: String) {
        self.emit(&EngineEvent::Failed {
            workload: id.clone(),
            sources: written_sources(decided),
            kind,
            cause,
        });
    }

    /// A 404: the workload was deleted while its reload was queued (its watch event may not
    /// have arrived yet). Not a failed reload.
    fn gone(&self, id: &WorkloadRef, decided: &Decided) {
        self.emit(&EngineEvent::WorkloadGone {
            workload: id.clone(),
            sources: written_sources(decided),
        });
    }

    fn count_fights(&mut self, id: &WorkloadRef, decided: &Decided) {
        let limit = self.engine.config.get_revert_fight_limit();
        for rollout in &decided.rollouts {
            let key = (id.clone(), rollout.source.clone());
            let entry = self
                .fights
                .entry(key)
                .or_insert_with(|| (rollout.new_digest.clone(), 0));
            if entry.0 == rollout.new_digest {
                entry.1 += 1;
            } else {
                *entry = (rollout.new_digest.clone(), 1);
            }
            if entry.1 == limit {
                let attempts = entry.1;
                self.emit(&EngineEvent::RevertFightDetected {
                    workload: id.clone(),
                    source: rollout.source.clone(),
                    digest: rollout.new_digest.clone(),
                    attempts,
                });
            }
        }
    }
}

/// The sources a write was for: its rollouts' and its baselines'.
pub(super) fn written_sources(decided: &Decided) -> Vec<SourceRef> {
    let mut sources: Vec<SourceRef> = decided.rollouts.iter().map(|r| r.source.clone()).collect();
    sources.extend(decided.baselined.iter().map(|(s, _)| s.clone()));
    sources
}
