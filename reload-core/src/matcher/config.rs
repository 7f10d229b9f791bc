//! Configuration of the [`super::AnnotationMatcher`].

use super::keys::AnnotationKeys;
use crate::workload::WorkloadKind;

/// Options of the annotation rules, mapped from Reloader's flags by the binary.
///
/// ```
/// use reload_core::matcher::{AnnotationKeys, MatcherConfig};
/// use reload_core::WorkloadKind;
///
/// let config = MatcherConfig::default()
///     .auto_reload_all(true)
///     .ignore_workload_kind(WorkloadKind::CronJob)
///     .annotation_keys(AnnotationKeys::default().auto_annotation("example.com/auto"));
/// assert!(config.is_auto_reload_all());
/// assert!(config.is_ignored(&WorkloadKind::CronJob));
/// assert_eq!(config.keys().auto(), "example.com/auto");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatcherConfig {
    keys: AnnotationKeys,
    auto_reload_all: bool,
    ignored_kinds: Vec<WorkloadKind>,
}

impl MatcherConfig {
    /// The annotation keys (default: Reloader's).
    #[must_use]
    pub fn annotation_keys(mut self, keys: AnnotationKeys) -> Self {
        self.keys = keys;
        self
    }

    /// `--auto-reload-all`: workloads whose `auto` and typed `auto` values are both empty
    /// reload on any referenced source.
    #[must_use]
    pub fn auto_reload_all(mut self, enabled: bool) -> Self {
        self.auto_reload_all = enabled;
        self
    }

    /// Never reload workloads of `kind` (`--ignored-workload-types`).
    #[must_use]
    pub fn ignore_workload_kind(mut self, kind: WorkloadKind) -> Self {
        if !self.ignored_kinds.contains(&kind) {
            self.ignored_kinds.push(kind);
        }
        self
    }

    /// Never reload workloads of these kinds (replaces earlier settings).
    #[must_use]
    pub fn ignored_workload_kinds(mut self, kinds: impl IntoIterator<Item = WorkloadKind>) -> Self {
        self.ignored_kinds.clear();
        kinds.into_iter().fold(self, MatcherConfig::ignore_workload_kind)
    }

    /// The annotation keys.
    pub fn keys(&self) -> &AnnotationKeys {
        &self.keys
    }

    /// Whether auto-reload-all is on.
    pub fn is_auto_reload_all(&self) -> bool {
        self.auto_reload_all
    }

    /// Whether workloads of `kind` are ignored.
    pub fn is_ignored(&self, kind: &WorkloadKind) -> bool {
        self.ignored_kinds.contains(kind)
    }
}

/// Reads `--ignored-workload-types` values the way Reloader does: each must be exactly
/// `jobs` or `cronjobs`.
///
/// # Errors
///
/// Reloader's exact message for the first invalid value. Reloader then logs it and ignores
/// the whole option (no kind is ignored), which the caller should copy.
///
/// ```
/// use reload_core::matcher::parse_ignored_workload_types;
/// use reload_core::WorkloadKind;
///
/// assert_eq!(parse_ignored_workload_types(["cronjobs"]), Ok(vec![WorkloadKind::CronJob]));
/// assert!(parse_ignored_workload_types(["jobs", "Deployments"]).is_err());
/// ```
pub fn parse_ignored_workload_types<I, S>(values: I) -> Result<Vec<WorkloadKind>, String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut kinds = Vec::new();
    for value in values {
        let kind = match value.as_ref() {
            "jobs" => WorkloadKind::Job,
            "cronjobs" => WorkloadKind::CronJob,
            other => {
                return Err(format!(
                    "Failed to parse ignored workload types: 'ignored-workload-types' accepts 'jobs', \
                     'cronjobs', or both, not '{other}'"
                ));
            }
        };
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok(kinds)
}
