//! Deciding whether a workload must reload for a changed source.
//!
//! [`Matcher`] is the trait; [`AnnotationMatcher`] implements every Reloader annotation rule,
//! configured by [`MatcherConfig`] and [`AnnotationKeys`]. The parsers and the container
//! choice it uses are public for callers that need the same semantics (indexes, `explain`).

mod annotation;
mod config;
mod container;
mod keys;
mod parse;
#[cfg(test)]
mod tests;

pub use annotation::AnnotationMatcher;
pub use config::{MatcherConfig, parse_ignored_workload_types};
pub use container::{ContainerFallback, reloader_container};
pub use keys::{
    AnnotationKeys, CONFIGMAPS_EXCLUDE, LAST_RELOADED_FROM, ROLLOUT_STRATEGY, SECRET_PROVIDER_CLASS_AUTO,
    SECRET_PROVIDER_CLASS_RELOAD, SECRET_PROVIDER_CLASSES_EXCLUDE, SECRETS_EXCLUDE,
};
pub use parse::{NamedPatterns, comma_items, parse_go_bool};

use crate::decision::MatchOutcome;
use crate::source::SourceMeta;
use crate::workload::Workload;

/// Decides whether `workload` must reload when `source` changes, and why.
///
/// Pure and synchronous. Closures `Fn(&Workload, &SourceMeta) -> MatchOutcome` implement it.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait Matcher: Send + Sync {
    /// The decision for this (workload, source) pair.
    fn decide(&self, workload: &Workload, source: &SourceMeta) -> MatchOutcome;
}

impl<F> Matcher for F
where
    F: Fn(&Workload, &SourceMeta) -> MatchOutcome + Send + Sync,
{
    fn decide(&self, workload: &Workload, source: &SourceMeta) -> MatchOutcome {
        self(workload, source)
    }
}
