//! Reload strategies: what to write to a workload so that it rolls, and how to tell that it
//! already carries a change.

use crate::decision::MatchProblem;
use crate::hash::Digest;
use crate::plan::{Change, Plan};
use crate::source::SourceRef;
use crate::workload::Workload;

/// Turns a source change into a [`Plan`] for one workload.
///
/// Laws every implementation must satisfy (checked by the strategy-law checker of the
/// `testing` feature):
/// - after applying a plan, planning the same change again yields `None` (idempotence);
/// - a different digest always yields a plan, and [`ReloadStrategy::recorded_digest`] then
///   returns it;
/// - nothing outside the strategy's footprint changes;
/// - plans for two different sources commute in the digests they record.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait ReloadStrategy: Send + Sync {
    /// A short name for logs (`env-vars`, `annotations`, ...).
    fn name(&self) -> &str;

    /// The plan for `change` on `workload`, or `None` when the workload already records
    /// `change.digest` for `change.source`.
    fn plan(&self, workload: &Workload, change: &Change) -> Option<Plan>;

    /// The digest this strategy finds recorded on `workload` for `source`, if any.
    fn recorded_digest(&self, workload: &Workload, source: &SourceRef) -> Option<Digest>;

    /// What is wrong with reloading `workload` for `sources` with this strategy (e.g. the
    /// env-vars strategy's [`MatchProblem::EnvVarCollision`]); the engine reports each as an
    /// `EngineEvent::MatchProblem`. Never fatal. Default: nothing.
    fn problems(&self, workload: &Workload, sources: &[SourceRef]) -> Vec<MatchProblem> {
        let _ = (workload, sources);
        Vec::new()
    }
}
