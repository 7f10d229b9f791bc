//! The error type of `reload-core`.

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can fail in `reload-core`.
///
/// Variants are named after the operation that failed. None of the pure decision functions
/// fail on bad annotations: those are reported as [`crate::MatchProblem`] values next to the
/// decision. [`Error::is_transient`] tells the failures that go away by themselves (a watch
/// that the watcher re-establishes with backoff) from bad input.
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
    /// A watch stream of a kind failed. The engine's watchers re-establish it with backoff and
    /// re-list what they missed, so this is reported, never fatal.
    #[error("watch of {kind} failed: {problem}")]
    Watch {
        /// Kubernetes kind being watched.
        kind: String,
        /// The cause, as the client reported it.
        problem: String,
    },
    /// The spawned engine task panicked or was cancelled (see `engine::EngineHandle`).
    #[error("the engine task ended abnormally: {0}")]
    EngineTask(String),
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
            Error::Watch { .. } => "watch",
            Error::EngineTask(_) => "engine_task",
            Error::DigestKey(_) => "digest_key",
            Error::UnsupportedWorkload { .. } => "unsupported_workload",
        }
    }

    /// Whether the failure is expected to go away without a change of input (true for
    /// [`Error::Watch`]; bad objects and keys stay bad until someone fixes them).
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Watch { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::Error;

    #[test]
    fn a_watch_failure_is_transient_and_names_the_kind() {
        let error = Error::Watch {
            kind: "ConfigMap".into(),
            problem: "connection reset".into(),
        };
        assert!(error.is_transient());
        assert_eq!(error.kind(), "watch");
        assert_eq!(error.to_string(), "watch of ConfigMap failed: connection reset");
    }

    #[test]
    fn bad_input_is_not_transient() {
        let error = Error::ReadObject {
            kind: "Deployment".into(),
            namespace: "a".into(),
            name: "web".into(),
            problem: "no pod template".into(),
        };
        assert!(!error.is_transient());
        assert!(!Error::DigestKey("empty".into()).is_transient());
    }
}
