//! Deciding whether a workload must reload for a changed source.

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
