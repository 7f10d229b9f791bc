//! The strategy-law checker and proptest generators, for strategy authors (feature `testing`).
//!
//! Every [`ReloadStrategy`] must satisfy four laws; [`check_strategy_laws`] runs a strategy
//! through them on generated workloads and changes, shrinking any failure to a minimal case:
//!
//! 1. **idempotence**: after applying a plan, planning the same change again yields `None`, and
//!    an update carrying the digest [`ReloadStrategy::recorded_digest`] returns yields `None`;
//! 2. **a new digest is acted on and recorded**: a digest different from
//!    [`ReloadStrategy::recorded_digest`] always yields a plan, after which `recorded_digest`
//!    returns it;
//! 3. **footprint**: applying a plan changes nothing outside the declared [`Footprint`];
//! 4. **commutation**: plans for two different sources record the same per-source digests
//!    whatever their order (last-writer markers such as `last-reloaded-from` may differ).
//!
//! Inputs come from [`generators`]: workloads with several containers, references of every
//! kind, colliding env var names and leftover trigger state of every convention. Changes name
//! a regular container of the workload, as the matcher guarantees.
//!
//! The single-case checks ([`check_idempotence`], [`check_commutation`], ...) can also be run
//! on hand-written examples.
//!
//! ```
//! use reload_core::{Change, Digest, Edit, Plan, ReloadStrategy, SourceRef, Workload};
//! use reload_core::testing::{check_strategy_laws, Footprint, LawConfig};
//!
//! /// Records each source's digest in its own pod-template annotation.
//! struct PerSourceAnnotation;
//!
//! impl PerSourceAnnotation {
//!     fn key(source: &SourceRef) -> String {
//!         format!("example.com/{:?}.{}", source.kind, source.name)
//!     }
//! }
//!
//! impl ReloadStrategy for PerSourceAnnotation {
//!     fn name(&self) -> &str {
//!         "per-source-annotation"
//!     }
//!
//!     fn plan(&self, workload: &Workload, change: &Change) -> Option<Plan> {
//!         if self.recorded_digest(workload, &change.source).as_ref() == Some(&change.digest) {
//!             return None;
//!         }
//!         Some(Plan {
//!             source: change.source.clone(),
//!             digest: change.digest.clone(),
//!             edits: vec![Edit::SetTemplateAnnotation {
//!                 key: Self::key(&change.source),
//!                 value: change.digest.to_string(),
//!             }],
//!         })
//!     }
//!
//!     fn recorded_digest(&self, workload: &Workload, source: &SourceRef) -> Option<Digest> {
//!         workload.template.annotations.get(&Self::key(source)).map(Digest::new)
//!     }
//! }
//!
//! let config = LawConfig::default()
//!     .cases(64)
//!     .footprint(Footprint::nothing().template_annotations());
//! check_strategy_laws(&PerSourceAnnotation, &config).expect("the laws hold");
//! ```

pub mod generators;
mod laws;

use std::fmt;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};

pub use laws::{
    AgreementCase, Footprint, LawCase, LawViolation, apply_change, check_agreement, check_commutation,
    check_idempotence, check_new_digest_is_recorded, check_recorded_digest_is_not_replanned,
};

use crate::plan::{Change, ChangeKind};
use crate::strategy::ReloadStrategy;

/// How [`check_strategy_laws`] runs: number of generated cases and the strategy's footprint.
#[derive(Debug, Clone)]
pub struct LawConfig {
    cases: u32,
    footprint: Footprint,
}

impl Default for LawConfig {
    /// 256 cases, the built-in strategies' footprint.
    fn default() -> Self {
        LawConfig {
            cases: 256,
            footprint: Footprint::built_in(),
        }
    }
}

impl LawConfig {
    /// How many generated cases to check.
    #[must_use]
    pub fn cases(mut self, cases: u32) -> Self {
        self.cases = cases;
        self
    }

    /// The parts of the workload the strategy may change.
    #[must_use]
    pub fn footprint(mut self, footprint: Footprint) -> Self {
        self.footprint = footprint;
        self
    }
}

/// A law failed on a generated input (shrunk to a minimal one when proptest could).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LawFailure {
    /// What was broken.
    pub reason: String,
    /// The (minimal) failing input, debug-formatted.
    pub input: String,
}

impl fmt::Display for LawFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\nminimal failing input:\n{}", self.reason, self.input)
    }
}

impl std::error::Error for LawFailure {}

/// Generated inputs for the laws: a workload (see [`generators::workload`]), an update and a
/// delete, and an update of a source different from both, all naming regular containers of the workload.
pub fn law_case() -> impl Strategy<Value = LawCase> {
    generators::workload().prop_flat_map(|workload| {
        let update = generators::update_for(&workload);
        let other = generators::update_for(&workload);
        let delete = generators::delete_for(&workload);
        (Just(workload), update, other, delete).prop_map(|(workload, update, mut other, delete)| {
            if other.source == update.source || other.source == delete.source {
                // Same source drawn twice: make it a different one (generated names have no `o`).
                other.source.name.push_str("-other");
            }
            LawCase {
                workload,
                update,
                other,
                delete,
            }
        })
    })
}

/// Generated inputs for [`check_agreement`]: a workload without recorded state, a history of
/// up to seven updates and deletes, and a final update, all with the container Reloader would
/// choose and digests from a small pool; half of the final updates replay a change of the
/// history.
pub fn agreement_case() -> impl Strategy<Value = AgreementCase> {
    generators::fresh_workload().prop_flat_map(|workload| {
        let history = proptest::collection::vec(generators::consistent_change_for(&workload, true), 0..8);
        let last = generators::consistent_change_for(&workload, false);
        (
            Just(workload),
            history,
            last,
            any::<Option<prop::sample::Index>>(),
        )
            .prop_map(|(workload, history, last, replay)| {
                // Half of the time the last change replays one from the history as an update.
                let last = match replay {
                    Some(index) if !history.is_empty() => Change {
                        kind: ChangeKind::Updated,
                        ..history[index.index(history.len())].clone()
                    },
                    _ => last,
                };
                AgreementCase {
                    workload,
                    history,
                    last,
                }
            })
    })
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        // A library call has no source file to store regressions next to.
        failure_persistence: None,
        ..Config::default()
    })
}

fn into_failure<T: fmt::Debug>(error: TestError<T>) -> LawFailure {
    match error {
        TestError::Fail(reason, input) => LawFailure {
            reason: reason.to_string(),
            input: format!("{input:#?}"),
        },
        TestError::Abort(reason) => LawFailure {
            reason: format!("aborted: {reason}"),
            input: String::new(),
        },
    }
}

/// Runs `strategy` through the four strategy laws on `config.cases` generated [`LawCase`]s.
///
/// # Errors
///
/// The first [`LawFailure`] found, with its input shrunk to a minimal example.
pub fn check_strategy_laws(strategy: &dyn ReloadStrategy, config: &LawConfig) -> Result<(), LawFailure> {
    let footprint = config.footprint;
    runner(config.cases)
        .run(&law_case(), |case| {
            case.check(strategy, footprint)
                .map_err(|violation| TestCaseError::fail(violation.to_string()))
        })
        .map_err(into_failure)
}

/// Checks that two strategies agree on *whether* to reload, on `cases` generated
/// [`AgreementCase`]s (each strategy replays the same history on its own copy).
///
/// # Errors
///
/// The first [`LawFailure`] found, with its input shrunk to a minimal example.
pub fn check_strategies_agree(
    first: &dyn ReloadStrategy,
    second: &dyn ReloadStrategy,
    cases: u32,
) -> Result<(), LawFailure> {
    runner(cases)
        .run(&agreement_case(), |case| {
            check_agreement(first, second, &case.workload, &case.history, &case.last)
                .map_err(|violation| TestCaseError::fail(violation.to_string()))
        })
        .map_err(into_failure)
}

#[cfg(test)]
mod tests;
