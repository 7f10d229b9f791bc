//! What a [`crate::Matcher`] decides for one (workload, source) pair, and why.

use serde::{Deserialize, Serialize};

/// Why a workload must reload for a source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ReloadReason {
    /// `reloader.stakater.com/auto: "true"` and the workload references the source.
    AutoAnnotation,
    /// The typed auto annotation (`configmap.reloader.stakater.com/auto`, ...) and a reference.
    TypedAutoAnnotation,
    /// `--auto-reload-all` and the workload sets no auto annotation, and references the source.
    AutoReloadAll,
    /// Named in the typed `reload` annotation; `pattern` is the list entry that matched.
    Named {
        /// The entry of the comma list that matched the source name.
        pattern: String,
    },
    /// `reloader.stakater.com/search: "true"` and the source has `reloader.stakater.com/match: "true"`.
    SearchMatch,
}

/// Why a workload does not reload for a source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SkipReason {
    /// The workload kind is in `--ignored-workload-types`.
    IgnoredWorkloadKind,
    /// The source carries `reloader.stakater.com/ignore: "true"`.
    SourceIgnored,
    /// The source is in another namespace than the workload.
    OtherNamespace,
    /// The workload's exclude annotation lists the source.
    Excluded,
    /// The workload opted in (auto, search) but no container references the source.
    NotReferenced,
    /// The workload has no annotation that opts it in for this source.
    NotOptedIn,
    /// The rule chose a container but the workload has none.
    NoContainer,
}

/// The decision for one (workload, source) pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decision {
    /// The workload must reload.
    Reload {
        /// Which rule decided.
        reason: ReloadReason,
        /// The regular container the strategy writes to (Reloader's container choice, §5.3).
        container: String,
    },
    /// The workload must not reload.
    Skip(SkipReason),
}

impl Decision {
    /// Whether the decision is to reload.
    pub fn is_reload(&self) -> bool {
        matches!(self, Decision::Reload { .. })
    }
}

/// A problem with a workload's annotations found while deciding (the decision still stands).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum MatchProblem {
    /// An entry of a `reload` list is not a valid regular expression; it was skipped.
    #[error("invalid regex {entry:?} in reload annotation {annotation:?}: {message}")]
    InvalidRegex {
        /// The annotation key.
        annotation: String,
        /// The entry as written.
        entry: String,
        /// The regex compiler's message.
        message: String,
    },
    /// The pause-period annotation is not a Go duration: the reload went ahead without a pause.
    #[error(
        "invalid pause period {value:?} in annotation {annotation:?} (reloaded without a pause): {message}"
    )]
    InvalidPausePeriod {
        /// The annotation key.
        annotation: String,
        /// The value as written.
        value: String,
        /// The parser's message.
        message: String,
    },
    /// The workload cannot be reloaded at all (e.g. an Argo Rollout with `spec.workloadRef`
    /// and no inline pod template); it is skipped.
    #[error("workload skipped: {reason}")]
    UnsupportedWorkload {
        /// Why.
        reason: String,
    },
    /// Sources the workload references get the same `STAKATER_*` variable name after env-var
    /// sanitisation (`my.app` and `my-app` both give `STAKATER_MY_APP_CONFIGMAP`), so the
    /// variable alone cannot tell them apart (Reloader would roll such a workload back and
    /// forth). The env-vars strategy still rolls the workload once per change of each source:
    /// the shared variable holds the digest written last, and each source's own digest is kept
    /// in the `reloader.rs/digests` annotation.
    #[error(
        "{} share the env var {env_var} (names collide after sanitisation); each change still \
         rolls once, the variable holds the digest written last and per-source digests are \
         kept in reloader.rs/digests",
        .sources.join(" and ")
    )]
    EnvVarCollision {
        /// The shared variable name.
        env_var: String,
        /// The colliding sources, as `ConfigMap 'my.app'`.
        sources: Vec<String>,
    },
}

/// A decision plus any problems found on the way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MatchOutcome {
    /// The decision.
    pub decision: Decision,
    /// Problems with the workload's annotations (reported, never fatal).
    pub problems: Vec<MatchProblem>,
}

impl MatchOutcome {
    /// An outcome with no problems.
    pub fn new(decision: Decision) -> Self {
        MatchOutcome {
            decision,
            problems: Vec::new(),
        }
    }
}
