//! The pure reconcile of one workload: compare every candidate source's current digest with
//! the digest the workload records, ask the matcher, let the strategy plan, and collect every
//! edit into one write. No I/O; the engine applies the result.
//!
//! Recorded digest, in order: the strategy's trigger state ([`ReloadStrategy::recorded_digest`],
//! which also reads Reloader's env var / `last-reloaded-from`), then the metadata baseline
//! ([`super::baseline`]), then the engine's in-memory baseline. The strategy comes first so that
//! a controller stripping our trigger state is noticed (revert fights), not hidden by a baseline.

use std::collections::{BTreeMap, BTreeSet};

use crate::decision::{Decision, MatchProblem, ReloadReason};
use crate::hash::{Digest, delete_marker_digest};
use crate::matcher::Matcher;
use crate::plan::{Change, ChangeKind, Edit};
use crate::source::{SourceKind, SourceRef};
use crate::strategy::ReloadStrategy;
use crate::workload::{Workload, WorkloadKind};

use super::baseline;
use super::config::CronJobMode;
use super::index::{IndexedWorkload, is_older};
use super::observer::EngineSkip;
use super::rollout;
use super::sources::{LastChange, SourceRecord, SourceStore};

/// Why a workload is reconciled; triggers for one workload coalesce into one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trigger {
    /// The workload was just indexed: apply the "created shortly before a change" rule.
    pub first_index: bool,
    /// With `first_index`: the resourceVersion of the live watch event (not a list) that
    /// indexed the workload, i.e. its creation resourceVersion. `None` when it was first seen
    /// in a list or re-list, or when coalesced first indexings disagree.
    pub creation_rv: Option<String>,
    /// Sources whose change (live or found by a re-list) caused this reconcile.
    pub sources: BTreeSet<SourceRef>,
    /// Deleted sources, with their last record (for the matcher), if reload-on-delete applies.
    pub deleted: BTreeMap<SourceRef, SourceRecord>,
}

impl Trigger {
    /// Merges another trigger into this one (coalescing).
    pub fn merge(&mut self, other: Trigger) {
        match (self.first_index, other.first_index) {
            (false, true) => self.creation_rv = other.creation_rv,
            (true, true) if self.creation_rv != other.creation_rv => self.creation_rv = None,
            _ => {}
        }
        self.first_index |= other.first_index;
        self.sources.extend(other.sources);
        self.deleted.extend(other.deleted);
    }
}

/// The fixed rules of a reconcile (from the engine config).
#[derive(Debug, Clone, Copy, Default)]
pub struct Rules {
    /// Write metadata baselines.
    pub baselines: bool,
    /// A create of a source reloads workloads without a record.
    pub reload_on_create: bool,
    /// A delete of a source reloads its workloads.
    pub reload_on_delete: bool,
    /// How CronJobs are reloaded.
    pub cronjob_mode: CronJobMode,
}

/// One rollout the reconcile decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollout {
    /// The source.
    pub source: SourceRef,
    /// The matcher's reason.
    pub reason: ReloadReason,
    /// What happened to the source.
    pub change: ChangeKind,
    /// The digest recorded before, if any.
    pub old_digest: Option<Digest>,
    /// The digest written.
    pub new_digest: Digest,
}

/// Everything one reconcile decided for one workload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decided {
    /// Every edit, for one write.
    pub edits: Vec<Edit>,
    /// The rollouts among them.
    pub rollouts: Vec<Rollout>,
    /// Baselines written to metadata (or, with baselines off, only remembered).
    pub baselined: Vec<(SourceRef, Digest)>,
    /// Skips for the triggering sources.
    pub skipped: Vec<(SourceRef, EngineSkip)>,
    /// Matcher problems.
    pub problems: Vec<MatchProblem>,
    /// Whether the write rewrites our JSON annotations and must carry the resourceVersion.
    pub guard_version: bool,
    /// `spec.paused` to write (pause-period: `true` pauses a Deployment, `false` resumes it).
    pub pause: Option<bool>,
}

/// Whether `workload` records applied digests in its metadata annotation (the baseline
/// annotation) because its pod template is never written: CronJobs in
/// [`CronJobMode::CreateJob`], and Argo Rollouts in restart mode.
pub fn records_applied_digest(workload: &Workload, cronjob_mode: CronJobMode) -> bool {
    match workload.id.kind {
        WorkloadKind::CronJob => cronjob_mode == CronJobMode::CreateJob,
        WorkloadKind::Rollout => rollout::is_restart_mode(workload),
        _ => false,
    }
}

/// The inputs of one reconcile.
pub struct Reconcile<'a> {
    /// The workload.
    pub workload: &'a IndexedWorkload,
    /// Every known source.
    pub sources: &'a SourceStore,
    /// Who reloads.
    pub matcher: &'a dyn Matcher,
    /// What to write.
    pub strategy: &'a dyn ReloadStrategy,
    /// The engine's in-memory baselines of this workload.
    pub memory: Option<&'a BTreeMap<SourceRef, Digest>>,
    /// Whether the workload is a candidate for every source of its namespace (named reload).
    pub named: bool,
    /// Rules.
    pub rules: Rules,
    /// Now, in Unix seconds (Reloader's `observedAt`).
    pub now_secs: i64,
    /// Whether re-applying `digest` for a source is blocked by a detected revert fight.
    pub blocked: &'a dyn Fn(&SourceRef, &Digest) -> bool,
}

impl Reconcile<'_> {
    /// Decides what to write for `trigger`.
    pub fn decide(&self, trigger: &Trigger) -> Decided {
        let mut out = Decided::default();
        let mut model = self.workload.workload.clone();
        let mut baselines = baseline::read(&model);
        let baselines_before = baselines.clone();
        for source in self.candidate_sources(trigger) {
            let Some(record) = self.sources.get(&source) else {
                continue;
            };
            let outcome = self.matcher.decide(&model, &record.meta());
            out.problems.extend(outcome.problems);
            let (reason, container) = match outcome.decision {
                Decision::Reload { reason, container } => (reason, container),
                Decision::Skip(why) => {
                    if trigger.sources.contains(&source) {
                        out.skipped.push((source, EngineSkip::Matcher(why)));
                    }
                    continue;
                }
            };
            let recorded = self
                .strategy
                .recorded_digest(&model, &source)
                .or_else(|| baseline::get(&model, &source))
                .or_else(|| self.memory.and_then(|m| m.get(&source).cloned()));
            let (change, old_digest) = match recorded {
                Some(old) if old == record.digest => {
                    if trigger.sources.contains(&source) {
                        out.skipped.push((source, EngineSkip::UpToDate));
                    }
                    continue;
                }
                Some(old) => (ChangeKind::Updated, Some(old)),
                None => {
                    if let Some(change) = self.unrecorded_change(trigger, &source) {
                        change
                    } else {
                        if self.rules.baselines {
                            baselines.insert(source.kind, &source.name, record.digest.clone());
                        }
                        out.baselined.push((source, record.digest.clone()));
                        continue;
                    }
                }
            };
            let change = Change {
                source: source.clone(),
                digest: record.digest.clone(),
                kind: change,
                container,
                observed_at: self.now_secs,
            };
            self.plan_rollout(&mut model, &mut out, change, reason, old_digest);
        }
        if self.rules.reload_on_delete {
            for (source, last) in &trigger.deleted {
                if self.sources.get(source).is_none() {
                    self.plan_delete(&mut model, &mut out, last);
                }
            }
        }
        // The strategy's problems (env var collisions), when a source it concerns is first
        // seen or rolls.
        let touched: Vec<SourceRef> = (out.rollouts.iter().map(|r| r.source.clone()))
            .chain(out.baselined.iter().map(|(source, _)| source.clone()))
            .collect();
        out.problems
            .extend(self.strategy.problems(&self.workload.workload, &touched));
        if records_applied_digest(&self.workload.workload, self.rules.cronjob_mode) {
            // A CronJob's template is never written (a Job is created from it), nor is a
            // restart-mode Rollout's (restartAt is set instead), so the digest it was reloaded
            // for is recorded in its metadata, in the same write: a replay or an engine restart
            // then finds it and creates no second Job / sets restartAt no second time.
            for rollout in &out.rollouts {
                baselines.insert(
                    rollout.source.kind,
                    &rollout.source.name,
                    rollout.new_digest.clone(),
                );
            }
        }
        if baselines != baselines_before {
            out.edits.push(Edit::SetAnnotation {
                key: baseline::BASELINE_ANNOTATION.to_owned(),
                value: Some(baseline::render(&baselines)),
            });
        }
        out.guard_version = out
            .edits
            .iter()
            .any(|e| matches!(e, Edit::SetAnnotation { .. } | Edit::SetTemplateAnnotation { .. }));
        out
    }

    /// The sources this workload may react to: those it references that exist, every source of
    /// its namespace if it carries a named reload annotation, and the triggering ones.
    fn candidate_sources(&self, trigger: &Trigger) -> BTreeSet<SourceRef> {
        let id = self.workload.id();
        let mut found: BTreeSet<SourceRef> =
            self.workload.workload.referenced_sources().into_iter().collect();
        if self.named {
            for kind in SourceKind::ALL {
                found.extend(
                    self.sources
                        .in_namespace(kind, &id.namespace)
                        .map(|r| r.id.clone()),
                );
            }
        }
        found.extend(trigger.sources.iter().cloned());
        found
    }

    /// For a pair with no recorded digest: the change to roll out, or `None` to baseline.
    ///
    /// Rolls when the engine observed a change of the source that the workload predates: the
    /// change triggered this reconcile, or the workload is being indexed for the first time and
    /// predates the change ([`predates`]). A create only rolls with reload-on-create.
    fn unrecorded_change(
        &self,
        trigger: &Trigger,
        source: &SourceRef,
    ) -> Option<(ChangeKind, Option<Digest>)> {
        let last = self.sources.last_change(source)?;
        let predates =
            trigger.first_index && predates(self.workload.created_ms, trigger.creation_rv.as_deref(), last);
        if !(predates || trigger.sources.contains(source)) {
            return None;
        }
        match &last.previous {
            Some(previous) => Some((ChangeKind::Updated, Some(previous.clone()))),
            None if self.rules.reload_on_create => Some((ChangeKind::Created, None)),
            None => None,
        }
    }

    fn plan_rollout(
        &self,
        model: &mut crate::workload::Workload,
        out: &mut Decided,
        change: Change,
        reason: ReloadReason,
        old_digest: Option<Digest>,
    ) {
        if (self.blocked)(&change.source, &change.digest) {
            out.skipped.push((change.source, EngineSkip::RevertFight));
            return;
        }
        match self.strategy.plan(model, &change) {
            Some(plan) => {
                plan.apply(model);
                out.edits.extend(plan.edits);
                out.rollouts.push(Rollout {
                    source: change.source,
                    reason,
                    change: change.kind,
                    old_digest,
                    new_digest: change.digest,
                });
            }
            None => out.skipped.push((change.source, EngineSkip::StrategyNotUpdated)),
        }
    }

    fn plan_delete(&self, model: &mut crate::workload::Workload, out: &mut Decided, last: &SourceRecord) {
        let outcome = self.matcher.decide(model, &last.meta());
        out.problems.extend(outcome.problems);
        let (reason, container) = match outcome.decision {
            Decision::Reload { reason, container } => (reason, container),
            Decision::Skip(why) => {
                out.skipped.push((last.id.clone(), EngineSkip::Matcher(why)));
                return;
            }
        };
        let old_digest = self.strategy.recorded_digest(model, &last.id);
        let change = Change {
            source: last.id.clone(),
            digest: delete_marker_digest(),
            kind: ChangeKind::Deleted,
            container,
            observed_at: self.now_secs,
        };
        self.plan_rollout(model, out, change, reason, old_digest);
    }
}

/// Whether a workload indexed for the first time existed before the source change `last`, so
/// its pods may run the content from before it. Conservative: a lost reload is far worse than
/// an extra one, so every doubt answers `true`.
///
/// `created_ms` is the workload's creationTimestamp, which has second precision: a workload
/// created up to a second after the change carries the same second and would count as older.
/// Within that ambiguous second only, resourceVersions break the tie: a workload first seen
/// through a live watch event arrives at its creation resourceVersion (`creation_rv`), and when
/// it is greater than the resourceVersion that carried the change, the workload was created
/// after the change and started with the new content. A workload first seen in a list
/// (`creation_rv` is `None`), an unparsable resourceVersion or another second keeps the
/// timestamp rule.
fn predates(created_ms: Option<i64>, creation_rv: Option<&str>, last: &LastChange) -> bool {
    let Some(created) = created_ms else {
        return false;
    };
    if created > last.at_ms {
        return false;
    }
    let same_second = last.at_ms < created.saturating_add(1_000);
    !(same_second && is_older(last.resource_version.as_deref(), creation_rv))
}

#[cfg(test)]
mod tests;
