//! The laws every [`ReloadStrategy`] must satisfy, checked one case at a time.

use std::fmt;

use crate::hash::Digest;
use crate::plan::{Change, ChangeKind};
use crate::source::SourceRef;
use crate::strategy::ReloadStrategy;
use crate::workload::Workload;

/// The parts of a workload a strategy may change: everything else must stay as it was.
///
/// ```
/// use reload_core::testing::Footprint;
///
/// // What the built-in env-vars and annotations strategies touch.
/// let built_in = Footprint::nothing().template_annotations().chosen_container_env();
/// assert_eq!(built_in, Footprint::built_in());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Footprint {
    template_annotations: bool,
    chosen_container_env: bool,
    workload_annotations: bool,
}

impl Footprint {
    /// A strategy that changes nothing in the workload model (it acts elsewhere).
    pub fn nothing() -> Self {
        Footprint::default()
    }

    /// The built-in strategies' footprint: pod-template annotations and the env of the
    /// container named by the change.
    pub fn built_in() -> Self {
        Footprint::nothing().template_annotations().chosen_container_env()
    }

    /// Allows changes to the pod template's annotations.
    #[must_use]
    pub fn template_annotations(mut self) -> Self {
        self.template_annotations = true;
        self
    }

    /// Allows changes to the `env` of the container named by [`Change::container`].
    #[must_use]
    pub fn chosen_container_env(mut self) -> Self {
        self.chosen_container_env = true;
        self
    }

    /// Allows changes to the workload's own metadata annotations.
    #[must_use]
    pub fn workload_annotations(mut self) -> Self {
        self.workload_annotations = true;
        self
    }

    /// `workload` with every part inside the footprint cleared, so two workloads that differ
    /// only inside the footprint mask to the same value.
    pub fn mask(&self, workload: &Workload, container: &str) -> Workload {
        let mut masked = workload.clone();
        if self.template_annotations {
            masked.template.annotations.clear();
        }
        if self.workload_annotations {
            masked.annotations.clear();
        }
        if self.chosen_container_env {
            for c in masked
                .template
                .containers
                .iter_mut()
                .filter(|c| c.name == container)
            {
                c.env.clear();
            }
        }
        masked
    }
}

/// A broken law, with what was observed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LawViolation {
    /// After applying a plan, planning the same change again still produced a plan.
    #[error("not idempotent: replaying the change for {source_ref} planned again: {second:?}")]
    NotIdempotent {
        /// The source of the change.
        source_ref: SourceRef,
        /// The second plan's edits, debug-formatted.
        second: String,
    },
    /// A digest different from the recorded one produced no plan.
    #[error("new digest {digest} for {source_ref} (recorded: {recorded:?}) produced no plan")]
    NewDigestIgnored {
        /// The source of the change.
        source_ref: SourceRef,
        /// The new digest.
        digest: Digest,
        /// What was recorded before.
        recorded: Option<Digest>,
    },
    /// After applying a plan, `recorded_digest` did not return the plan's digest.
    #[error("after the plan for {source_ref}, recorded digest is {found:?}, expected {expected}")]
    NotRecorded {
        /// The source of the change.
        source_ref: SourceRef,
        /// The digest the change carried.
        expected: Digest,
        /// What `recorded_digest` returned.
        found: Option<Digest>,
    },
    /// A plan named another source than its change.
    #[error("plan for a change of {expected} names source {found}")]
    WrongSource {
        /// The change's source.
        expected: SourceRef,
        /// The plan's source.
        found: SourceRef,
    },
    /// Applying a plan changed something outside the strategy's footprint.
    #[error("plan for {source_ref} changed the workload outside the footprint: {before} became {after}")]
    OutsideFootprint {
        /// The source of the change.
        source_ref: SourceRef,
        /// The masked workload before, debug-formatted.
        before: String,
        /// The masked workload after, debug-formatted.
        after: String,
    },
    /// Two plans for different sources recorded different digests depending on their order.
    #[error("plans do not commute: {source_ref} records {first:?} in one order and {second:?} in the other")]
    DoesNotCommute {
        /// The source whose recorded digest depends on the order.
        source_ref: SourceRef,
        /// Recorded after applying the plans in the given order.
        first: Option<Digest>,
        /// Recorded after applying them in the reverse order.
        second: Option<Digest>,
    },
    /// Two strategies disagreed on whether a change reloads the workload.
    #[error(
        "strategies disagree on {source_ref}: '{first}' reloads: {first_reloads}, '{second}' reloads: {second_reloads}"
    )]
    Disagree {
        /// The source of the final change.
        source_ref: SourceRef,
        /// Name of the first strategy.
        first: String,
        /// Whether the first planned a reload.
        first_reloads: bool,
        /// Name of the second strategy.
        second: String,
        /// Whether the second planned a reload.
        second_reloads: bool,
    },
}

/// Plans `change` on `workload` and applies the plan, checking the plan names the change's
/// source and stays inside `footprint`. Returns whether there was a plan.
pub fn apply_change(
    strategy: &dyn ReloadStrategy,
    footprint: Footprint,
    workload: &mut Workload,
    change: &Change,
) -> Result<bool, LawViolation> {
    let Some(plan) = strategy.plan(workload, change) else {
        return Ok(false);
    };
    if plan.source != change.source {
        return Err(LawViolation::WrongSource {
            expected: change.source.clone(),
            found: plan.source,
        });
    }
    let before = footprint.mask(workload, &change.container);
    plan.apply(workload);
    let after = footprint.mask(workload, &change.container);
    if before != after {
        return Err(LawViolation::OutsideFootprint {
            source_ref: change.source.clone(),
            before: format!("{before:?}"),
            after: format!("{after:?}"),
        });
    }
    Ok(true)
}

/// Idempotence: after applying the plan for `change` (if any), planning it again yields `None`.
/// Holds for deletes too.
pub fn check_idempotence(
    strategy: &dyn ReloadStrategy,
    footprint: Footprint,
    workload: &Workload,
    change: &Change,
) -> Result<(), LawViolation> {
    let mut workload = workload.clone();
    apply_change(strategy, footprint, &mut workload, change)?;
    match strategy.plan(&workload, change) {
        None => Ok(()),
        Some(second) => Err(LawViolation::NotIdempotent {
            source_ref: change.source.clone(),
            second: format!("{:?}", second.edits),
        }),
    }
}

/// An update carrying the digest `recorded_digest` already returns for its source yields no
/// plan (nothing to check when nothing is recorded; deletes are not checked here).
pub fn check_recorded_digest_is_not_replanned(
    strategy: &dyn ReloadStrategy,
    workload: &Workload,
    change: &Change,
) -> Result<(), LawViolation> {
    if change.kind == ChangeKind::Deleted {
        return Ok(());
    }
    let Some(recorded) = strategy.recorded_digest(workload, &change.source) else {
        return Ok(());
    };
    let replay = Change {
        digest: recorded,
        ..change.clone()
    };
    match strategy.plan(workload, &replay) {
        None => Ok(()),
        Some(second) => Err(LawViolation::NotIdempotent {
            source_ref: replay.source,
            second: format!("{:?}", second.edits),
        }),
    }
}

/// A digest that differs from `recorded` (the change's own digest unless it equals it).
fn different_digest(digest: &Digest, recorded: Option<&Digest>) -> Digest {
    if recorded == Some(digest) {
        Digest::new(format!("{digest}0"))
    } else {
        digest.clone()
    }
}

/// A new digest is always acted on: for an update whose digest differs from the recorded one,
/// the strategy plans, and afterwards `recorded_digest` returns the new digest.
///
/// When `change.digest` happens to equal the recorded digest, a different one is derived from
/// it, so the law is checked for every input. `change` must name a regular container of
/// `workload` (as the matcher guarantees); deletes are not checked here.
pub fn check_new_digest_is_recorded(
    strategy: &dyn ReloadStrategy,
    footprint: Footprint,
    workload: &Workload,
    change: &Change,
) -> Result<(), LawViolation> {
    if change.kind == ChangeKind::Deleted {
        return Ok(());
    }
    let recorded = strategy.recorded_digest(workload, &change.source);
    let change = Change {
        digest: different_digest(&change.digest, recorded.as_ref()),
        ..change.clone()
    };
    let mut workload = workload.clone();
    if !apply_change(strategy, footprint, &mut workload, &change)? {
        return Err(LawViolation::NewDigestIgnored {
            source_ref: change.source,
            digest: change.digest,
            recorded,
        });
    }
    let found = strategy.recorded_digest(&workload, &change.source);
    if found.as_ref() == Some(&change.digest) {
        Ok(())
    } else {
        Err(LawViolation::NotRecorded {
            source_ref: change.source,
            expected: change.digest,
            found,
        })
    }
}

/// Plans for two different sources commute in the digests they record: applying `first` then
/// `second` records the same digest for each source as the reverse order. Last-writer markers
/// (such as `last-reloaded-from`) may differ; only `recorded_digest` is compared.
pub fn check_commutation(
    strategy: &dyn ReloadStrategy,
    footprint: Footprint,
    workload: &Workload,
    first: &Change,
    second: &Change,
) -> Result<(), LawViolation> {
    let mut forward = workload.clone();
    apply_change(strategy, footprint, &mut forward, first)?;
    apply_change(strategy, footprint, &mut forward, second)?;
    let mut backward = workload.clone();
    apply_change(strategy, footprint, &mut backward, second)?;
    apply_change(strategy, footprint, &mut backward, first)?;
    for source in [&first.source, &second.source] {
        let one = strategy.recorded_digest(&forward, source);
        let other = strategy.recorded_digest(&backward, source);
        if one != other {
            return Err(LawViolation::DoesNotCommute {
                source_ref: source.clone(),
                first: one,
                second: other,
            });
        }
    }
    Ok(())
}

/// Whether two strategies, each fed the same `history` from the same `workload`, agree on
/// whether `last` reloads it.
pub fn check_agreement(
    first: &dyn ReloadStrategy,
    second: &dyn ReloadStrategy,
    workload: &Workload,
    history: &[Change],
    last: &Change,
) -> Result<(), LawViolation> {
    let replay = |strategy: &dyn ReloadStrategy| -> Result<bool, LawViolation> {
        let mut workload = workload.clone();
        for change in history {
            apply_change(strategy, Footprint::built_in(), &mut workload, change)?;
        }
        Ok(strategy.plan(&workload, last).is_some())
    };
    let first_reloads = replay(first)?;
    let second_reloads = replay(second)?;
    if first_reloads == second_reloads {
        Ok(())
    } else {
        Err(LawViolation::Disagree {
            source_ref: last.source.clone(),
            first: first.name().to_owned(),
            first_reloads,
            second: second.name().to_owned(),
            second_reloads,
        })
    }
}

/// One generated input of the law checker: a workload, an update and a delete of one source,
/// and an update of another source.
#[derive(Debug, Clone)]
pub struct LawCase {
    /// The workload before any plan.
    pub workload: Workload,
    /// An update (or create) of some source.
    pub update: Change,
    /// An update (or create) of a different source.
    pub other: Change,
    /// A delete of some source.
    pub delete: Change,
}

impl LawCase {
    /// Checks every law on this case.
    pub fn check(&self, strategy: &dyn ReloadStrategy, footprint: Footprint) -> Result<(), LawViolation> {
        for change in [&self.update, &self.other, &self.delete] {
            check_idempotence(strategy, footprint, &self.workload, change)?;
            check_recorded_digest_is_not_replanned(strategy, &self.workload, change)?;
            check_new_digest_is_recorded(strategy, footprint, &self.workload, change)?;
        }
        check_commutation(strategy, footprint, &self.workload, &self.update, &self.other)?;
        check_commutation(strategy, footprint, &self.workload, &self.delete, &self.other)
    }
}

/// The history of changes behind one agreement check (see [`check_agreement`]).
#[derive(Debug, Clone)]
pub struct AgreementCase {
    /// The workload before any change, with no recorded trigger state.
    pub workload: Workload,
    /// Changes applied first (updates, creates and deletes).
    pub history: Vec<Change>,
    /// The final update both strategies must agree on.
    pub last: Change,
}

impl fmt::Display for LawCase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "workload {:#?}\nupdate {:?}\nother {:?}\ndelete {:?}",
            self.workload, self.update, self.other, self.delete
        )
    }
}
