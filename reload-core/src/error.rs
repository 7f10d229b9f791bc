//! The error type of `reload-core`.

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can fail in `reload-core`.
///
/// Variants are named after the operation that failed. None of the pure decision functions
/// fail on bad annotations: those are reported as [`crate::MatchProblem`] values next to the
/// decision. Retryable: none of the current variants (they describe bad input).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A Kubernetes object could not be turned into the model this crate works on.
    #[error("cannot read {kind} '{name}' in namespace '{namespace}': {problem}")]
    ReadObject {
        /// Kubernetes kind of the object.
        kind: String,
        /// Namespace of the object.
        namespace: String,
        /// Name of the object.
        name: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A watched workload cannot be reloaded (e.g. an Argo Rollout with `spec.workloadRef` and no
    /// inline pod template); the engine reports it and skips the object.
    #[error("cannot reload {workload}: {reason}")]
    UnsupportedWorkload {
        /// The workload.
        workload: crate::workload::WorkloadRef,
        /// Why.
        reason: String,
    },
    /// A keyed-digest key was unusable (empty).
    #[error("invalid digest key: {0}")]
    DigestKey(String),
}

impl Error {
    /// A stable, low-cardinality name of the variant, for metric labels and event reasons.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::ReadObject { .. } => "read_object",
            Error::DigestKey(_) => "digest_key",
            Error::UnsupportedWorkload { .. } => "unsupported_workload",
        }
    }
}
