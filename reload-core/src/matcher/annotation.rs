//! The default matcher: every Reloader annotation rule (`reloader-spec.md` §1.4, §1.5, §5).

use std::collections::BTreeMap;

use super::Matcher;
use super::config::MatcherConfig;
use super::container::{ContainerFallback, reloader_container};
use super::keys::AnnotationKeys;
use super::parse::{PatternCache, comma_items, parse_go_bool};
use crate::decision::{Decision, MatchOutcome, ReloadReason, SkipReason};
use crate::source::{SourceKind, SourceMeta};
use crate::workload::Workload;

/// How many distinct named-reload annotation values stay compiled.
const PATTERN_CACHE_CAPACITY: usize = 4096;

/// Reloader's `ShouldReload` plus its container choice, as a [`Matcher`].
///
/// For one (workload, source) pair, in order; the first rule that decides wins:
///
/// 0. The source is in another namespace (or has no identity): skip (Reloader only ever lists
///    workloads of the source's namespace).
/// 1. The workload kind is ignored ([`MatcherConfig::ignore_workload_kind`]): skip.
/// 2. The source has `ignore: "true"` (exact string): skip.
/// 3. Which annotations to read: the workload **metadata**, unless none of the four keys
///    typed `reload`, `auto`, typed `auto`, `search` is *present* there; then the **pod
///    template**'s. (Metadata `auto: "false"` hides a template `auto: "true"`.)
/// 4. The metadata (never template) exclude list of the source's kind names it (exact,
///    trimmed comma entries, no regex): skip. Beats every rule below.
/// 5. An entry of the typed `reload` list matches the name as a regex (see
///    [`super::NamedPatterns`] for the `^entry$` quirk): reload, [`ReloadReason::Named`],
///    no reference needed. Invalid entries are skipped and reported in
///    [`MatchOutcome::problems`].
/// 6. `search` is exactly `"true"` and the source has `match: "true"`:
///    [`ReloadReason::SearchMatch`].
/// 7. Go `ParseBool(auto)`: [`ReloadReason::AutoAnnotation`]; else `ParseBool(typed auto)`:
///    [`ReloadReason::TypedAutoAnnotation`]; else both values empty (absent or `""`) and
///    auto-reload-all: [`ReloadReason::AutoReloadAll`].
/// 8. Otherwise skip with [`SkipReason::NotOptedIn`].
///
/// Then the container ([`super::reloader_container`]): rules 6 and 7 need a reference to the
/// source in the pod template ([`SkipReason::NotReferenced`] otherwise); rule 5 falls back to
/// the first container.
///
/// Which workload kinds are watched at all (Reloader's `--is-Argo-Rollouts`, kinds it never
/// lists) is the engine's concern, not the matcher's.
///
/// `decide` is pure. Named-reload lists are compiled once per distinct annotation value and
/// cached inside the matcher, since the same values are evaluated for many workloads.
///
/// ```
/// use reload_core::matcher::{AnnotationMatcher, MatcherConfig};
/// use reload_core::{
///     Container, Decision, Matcher, NamedSource, ReloadReason, SourceKind, SourceMeta, SourceRef, Workload,
///     WorkloadKind, WorkloadRef,
/// };
///
/// let mut workload = Workload::new(WorkloadRef::new(WorkloadKind::Deployment, "default", "web"));
/// workload.annotations.insert("reloader.stakater.com/auto".into(), "true".into());
/// workload.template.containers.push(Container {
///     name: "app".into(),
///     env_from: vec![NamedSource::new(SourceKind::ConfigMap, "web-config")],
///     ..Container::default()
/// });
/// let source = SourceMeta::new(SourceRef::new(SourceKind::ConfigMap, "default", "web-config"));
///
/// let matcher = AnnotationMatcher::new(MatcherConfig::default());
/// let outcome = matcher.decide(&workload, &source);
/// assert_eq!(
///     outcome.decision,
///     Decision::Reload { reason: ReloadReason::AutoAnnotation, container: "app".into() }
/// );
/// ```
#[doc(alias = "ShouldReload")]
#[doc(alias = "reloader")]
#[derive(Debug)]
pub struct AnnotationMatcher {
    config: MatcherConfig,
    pub(super) patterns: PatternCache,
}

impl Default for AnnotationMatcher {
    fn default() -> Self {
        AnnotationMatcher::new(MatcherConfig::default())
    }
}

impl Clone for AnnotationMatcher {
    fn clone(&self) -> Self {
        AnnotationMatcher::new(self.config.clone())
    }
}

impl AnnotationMatcher {
    /// A matcher with `config`.
    pub fn new(config: MatcherConfig) -> Self {
        AnnotationMatcher {
            config,
            patterns: PatternCache::new(PATTERN_CACHE_CAPACITY),
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &MatcherConfig {
        &self.config
    }

    /// Whether the workload's effective annotations (rule 3) carry a named-reload list for
    /// sources of `kind`: the only way it can reload for a source it does not reference. An
    /// index of workloads by referenced source must also consult these workloads.
    pub fn has_named_reload(&self, workload: &Workload, kind: SourceKind) -> bool {
        effective(self.config.keys(), workload, kind).contains_key(self.config.keys().reload_for(kind))
    }
}

/// The annotations rule 3 reads for sources of `kind`: metadata if any of the four keys is
/// present there, else the pod template's.
fn effective<'a>(
    keys: &AnnotationKeys,
    workload: &'a Workload,
    kind: SourceKind,
) -> &'a BTreeMap<String, String> {
    let metadata = &workload.annotations;
    let present = [
        keys.reload_for(kind),
        keys.auto(),
        keys.typed_auto_for(kind),
        keys.search(),
    ]
    .iter()
    .any(|key| metadata.contains_key(*key));
    if present {
        metadata
    } else {
        &workload.template.annotations
    }
}

fn value<'a>(annotations: &'a BTreeMap<String, String>, key: &str) -> &'a str {
    annotations.get(key).map_or("", String::as_str)
}

impl Matcher for AnnotationMatcher {
    fn decide(&self, workload: &Workload, source: &SourceMeta) -> MatchOutcome {
        let skip = |reason| MatchOutcome::new(Decision::Skip(reason));
        let keys = self.config.keys();
        let Some(id) = source
            .id
            .as_ref()
            .filter(|id| id.namespace == workload.id.namespace)
        else {
            return skip(SkipReason::OtherNamespace);
        };
        if self.config.is_ignored(&workload.id.kind) {
            return skip(SkipReason::IgnoredWorkloadKind);
        }
        if value(&source.annotations, keys.ignore()) == "true" {
            return skip(SkipReason::SourceIgnored);
        }
        let annotations = effective(keys, workload, id.kind);
        if let Some(excluded) = workload.annotations.get(AnnotationKeys::exclude_for(id.kind))
            && comma_items(excluded).any(|entry| entry == id.name)
        {
            return skip(SkipReason::Excluded);
        }

        let reload_key = keys.reload_for(id.kind);
        let reload_value = value(annotations, reload_key);
        let (named, problems) = if reload_value.is_empty() {
            // `^$` matches only an empty name: most workloads skip the cache and its lock.
            (id.name.is_empty().then(String::new), Vec::new())
        } else {
            let patterns = self.patterns.get(reload_value);
            let named = patterns.first_match(&id.name).map(str::to_string);
            (named, patterns.problems(reload_key))
        };
        let rule = if let Some(pattern) = named {
            Some((ReloadReason::Named { pattern }, ContainerFallback::FirstContainer))
        } else if value(annotations, keys.search()) == "true"
            && value(&source.annotations, keys.search_match()) == "true"
        {
            Some((ReloadReason::SearchMatch, ContainerFallback::RequireReference))
        } else {
            let auto = value(annotations, keys.auto());
            let typed_auto = value(annotations, keys.typed_auto_for(id.kind));
            let reason = if parse_go_bool(auto) {
                Some(ReloadReason::AutoAnnotation)
            } else if parse_go_bool(typed_auto) {
                Some(ReloadReason::TypedAutoAnnotation)
            } else if auto.is_empty() && typed_auto.is_empty() && self.config.is_auto_reload_all() {
                Some(ReloadReason::AutoReloadAll)
            } else {
                None
            };
            reason.map(|reason| (reason, ContainerFallback::RequireReference))
        };

        let decision = match rule {
            None => Decision::Skip(SkipReason::NotOptedIn),
            Some((reason, fallback)) => {
                match reloader_container(&workload.template, id.kind, &id.name, fallback) {
                    Ok(container) => Decision::Reload {
                        reason,
                        container: container.name.clone(),
                    },
                    Err(skip) => Decision::Skip(skip),
                }
            }
        };
        MatchOutcome { decision, problems }
    }
}
