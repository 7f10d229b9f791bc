//! `reloader explain <kind>/<name> -n <ns>`: why a workload would (not) reload.
//!
//! [`explain`] is pure: it takes the workload, the facts about each source it references
//! (fetched with GETs in [`fetch`]) and the controller's configuration, and returns an
//! [`Explanation`] — the sources and through which path they are referenced, which annotations
//! apply (metadata or template), whether a change of each source would reload the workload and
//! why not, and the digest the workload records against the source's current digest.
//! Secret values never enter it: sources are reduced to their digest in [`fetch`].

mod fetch;
mod render;

use reload_core::engine::{EngineConfig, SourceRecord, baseline};
use reload_core::matcher::{AnnotationKeys, CONFIGMAPS_EXCLUDE, SECRETS_EXCLUDE};
use reload_core::workload::{NamedSource, VolumeSource};
use reload_core::{
    Decision, Matcher, ReloadReason, ReloadStrategy, SkipReason, SourceKind, SourceRef, Workload,
};
use std::fmt::Write as _;

use serde::Serialize;

pub use fetch::run;
pub use render::text;

/// What [`fetch`] found about one referenced source.
#[derive(Debug, Clone)]
pub struct SourceFacts {
    /// The source.
    pub id: SourceRef,
    /// Its reduced record (digest, kept annotations) and Secret type; `None` if it does not exist.
    pub found: Option<FoundSource>,
}

/// A source that exists.
#[derive(Debug, Clone)]
pub struct FoundSource {
    /// Digest and the annotations the matcher reads (never data).
    pub record: SourceRecord,
    /// `type` of a Secret.
    pub secret_type: Option<String>,
    /// Whether the source matches `--resource-label-selector` (true when none is set).
    pub selected_by_labels: bool,
}

/// The controller configuration an explanation depends on.
pub struct Context<'a> {
    /// Engine configuration (watched kinds, excluded Secret types).
    pub config: &'a EngineConfig,
    /// Who decides.
    pub matcher: &'a dyn Matcher,
    /// Where digests are recorded.
    pub strategy: &'a dyn ReloadStrategy,
    /// Annotation keys.
    pub keys: &'a AnnotationKeys,
    /// `Err(why)` when the workload's namespace is not watched.
    pub namespace_scope: Result<(), String>,
}

/// Where a workload annotation was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    /// `metadata.annotations`.
    Metadata,
    /// The pod template's annotations.
    Template,
}

/// One reload annotation found on the workload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnnotationUse {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
    /// Where it was found.
    pub location: Location,
    /// Whether the rules read it (template annotations are shadowed by metadata ones).
    pub applies: bool,
    /// Why it does not apply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The recorded digest compared with the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DigestState {
    /// The workload records the current digest.
    InSync,
    /// The workload records another digest: the controller would roll it.
    Stale,
    /// Nothing recorded: the controller would record a baseline (no roll).
    NoRecord,
    /// The source does not exist.
    Missing,
}

/// One referenced source, explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceExplanation {
    /// `ConfigMap`, `Secret`, `SecretProviderClass`.
    pub kind: String,
    /// Name.
    pub name: String,
    /// How the pod template references it (`env FOO (container app)`, `volume config`, ...).
    pub paths: Vec<String>,
    /// Whether a change of its data would reload the workload.
    pub would_reload: bool,
    /// The rule that reloads, or why not.
    pub reason: String,
    /// The digest the workload records for it.
    pub recorded_digest: Option<String>,
    /// Where that digest is recorded (`template` by the strategy, `metadata baseline`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_in: Option<String>,
    /// The source's current digest.
    pub current_digest: Option<String>,
    /// Recorded vs current.
    pub digest_state: DigestState,
}

/// Everything `reloader explain` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// Workload kind.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Whether the controller watches the workload's namespace.
    pub namespace_in_scope: bool,
    /// Why not, if not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope_note: Option<String>,
    /// Reload annotations on the workload.
    pub annotations: Vec<AnnotationUse>,
    /// Referenced sources.
    pub sources: Vec<SourceExplanation>,
}

/// Explains `workload` given the facts about the sources it references.
pub fn explain(workload: &Workload, sources: &[SourceFacts], context: &Context<'_>) -> Explanation {
    Explanation {
        kind: workload.id.kind.to_string(),
        namespace: workload.id.namespace.clone(),
        name: workload.id.name.clone(),
        namespace_in_scope: context.namespace_scope.is_ok(),
        scope_note: context.namespace_scope.clone().err(),
        annotations: annotation_uses(workload, context.keys),
        sources: sources
            .iter()
            .map(|facts| explain_source(workload, facts, context))
            .collect(),
    }
}

/// The opt-in keys Reloader looks up together for `kind` (§1.4: metadata first; the template
/// only when none of them is on the metadata).
fn lookup_keys(keys: &AnnotationKeys, kind: SourceKind) -> [&str; 4] {
    [
        keys.reload_for(kind),
        keys.auto(),
        keys.typed_auto_for(kind),
        keys.search(),
    ]
}

/// Where the opt-in keys for `kind` are read.
fn lookup_location(workload: &Workload, keys: &AnnotationKeys, kind: SourceKind) -> Location {
    if lookup_keys(keys, kind)
        .iter()
        .any(|k| workload.annotations.contains_key(*k))
    {
        Location::Metadata
    } else {
        Location::Template
    }
}

fn annotation_uses(workload: &Workload, keys: &AnnotationKeys) -> Vec<AnnotationUse> {
    let kinds = [SourceKind::ConfigMap, SourceKind::Secret];
    let mut opt_in: Vec<&str> = kinds.iter().flat_map(|k| lookup_keys(keys, *k)).collect();
    opt_in.dedup();
    opt_in.sort_unstable();
    opt_in.dedup();
    let metadata_only = [CONFIGMAPS_EXCLUDE, SECRETS_EXCLUDE, keys.pause_period()];
    let mut out = Vec::new();
    for (location, annotations) in [
        (Location::Metadata, &workload.annotations),
        (Location::Template, &workload.template.annotations),
    ] {
        for (key, value) in annotations {
            let (applies, note) = if opt_in.contains(&key.as_str()) {
                let read_here = kinds.iter().any(|kind| {
                    lookup_keys(keys, *kind).contains(&key.as_str())
                        && lookup_location(workload, keys, *kind) == location
                });
                let note = (!read_here)
                    .then(|| "shadowed: the workload metadata carries reload annotations".to_owned());
                (read_here, note)
            } else if metadata_only.contains(&key.as_str()) {
                let here = location == Location::Metadata;
                (
                    here,
                    (!here).then(|| "read from the workload metadata only".to_owned()),
                )
            } else {
                continue;
            };
            out.push(AnnotationUse {
                key: key.clone(),
                value: value.clone(),
                location,
                applies,
                note,
            });
        }
    }
    out
}

/// How the pod template references `source`.
pub fn paths(workload: &Workload, source: &NamedSource) -> Vec<String> {
    let template = &workload.template;
    let mut out = Vec::new();
    let mounted_by = |volume: &str| -> String {
        let users: Vec<&str> = template
            .containers
            .iter()
            .chain(&template.init_containers)
            .filter(|c| c.volume_mounts.iter().any(|m| m == volume))
            .map(|c| c.name.as_str())
            .collect();
        if users.is_empty() {
            " (not mounted)".to_owned()
        } else {
            format!(" (mounted by {})", users.join(", "))
        }
    };
    for volume in &template.volumes {
        let kind = match &volume.source {
            VolumeSource::ConfigMap(name) if source.kind == SourceKind::ConfigMap && *name == source.name => {
                "volume"
            }
            VolumeSource::Secret(name) if source.kind == SourceKind::Secret && *name == source.name => {
                "volume"
            }
            VolumeSource::Csi(name)
                if source.kind == SourceKind::SecretProviderClass && *name == source.name =>
            {
                "csi volume"
            }
            VolumeSource::Projected(sources) if sources.contains(source) => "projected volume",
            _ => continue,
        };
        out.push(format!("{kind} {}{}", volume.name, mounted_by(&volume.name)));
    }
    let containers = template
        .containers
        .iter()
        .map(|c| (c, "container"))
        .chain(template.init_containers.iter().map(|c| (c, "init container")));
    for (container, what) in containers {
        for env in &container.env {
            if env.value_from.as_ref() == Some(source) {
                out.push(format!("env {} ({what} {})", env.name, container.name));
            }
        }
        if container.env_from.contains(source) {
            out.push(format!("envFrom ({what} {})", container.name));
        }
    }
    out
}

fn reload_reason(reason: &ReloadReason, container: &str) -> String {
    let rule = match reason {
        ReloadReason::AutoAnnotation => "auto annotation".to_owned(),
        ReloadReason::TypedAutoAnnotation => "typed auto annotation".to_owned(),
        ReloadReason::AutoReloadAll => "--auto-reload-all".to_owned(),
        ReloadReason::Named { pattern } => format!("named in the reload annotation (entry {pattern:?})"),
        ReloadReason::SearchMatch => "search annotation and the source's match annotation".to_owned(),
        other => format!("{other:?}"),
    };
    format!("reloads: {rule}; written to container {container}")
}

fn skip_reason(reason: &SkipReason) -> &'static str {
    match reason {
        SkipReason::IgnoredWorkloadKind => "ignored workload kind (--ignored-workload-types)",
        SkipReason::SourceIgnored => "the source carries the ignore annotation",
        SkipReason::OtherNamespace => "the source is in another namespace",
        SkipReason::Excluded => "excluded by the workload's exclude annotation",
        SkipReason::NotReferenced => "opted in, but no container references the source",
        SkipReason::NotOptedIn => "not matched: no annotation opts the workload in for this source",
        SkipReason::NoContainer => "no container to write to",
        _ => "skipped",
    }
}

/// Why the controller never sees changes of this source, if it does not.
fn unwatched(found: &FoundSource, kind: SourceKind, context: &Context<'_>) -> Option<String> {
    let config = context.config;
    match kind {
        SourceKind::ConfigMap if !config.is_watching_configmaps() => {
            return Some("excluded type: configmaps are not watched (--resources-to-ignore)".into());
        }
        SourceKind::Secret if !config.is_watching_secrets() => {
            return Some("excluded type: secrets are not watched (--resources-to-ignore)".into());
        }
        SourceKind::SecretProviderClass if !config.is_csi() => {
            return Some(
                "CSI integration is off: SecretProviderClasses are not watched (--enable-csi-integration)"
                    .into(),
            );
        }
        _ => {}
    }
    if let Some(kind) = &found.secret_type
        && config.get_excluded_secret_types().iter().any(|t| t == kind)
    {
        return Some(format!("excluded Secret type {kind:?} (--exclude-secret-types)"));
    }
    if !found.selected_by_labels {
        return Some("not selected by --resource-label-selector".into());
    }
    if let Err(why) = &context.namespace_scope {
        return Some(format!("namespace out of scope: {why}"));
    }
    None
}

fn explain_source(workload: &Workload, facts: &SourceFacts, context: &Context<'_>) -> SourceExplanation {
    let named = NamedSource::new(facts.id.kind, facts.id.name.clone());
    let recorded = context
        .strategy
        .recorded_digest(workload, &facts.id)
        .map(|d| (d, "template"))
        .or_else(|| baseline::get(workload, &facts.id).map(|d| (d, "metadata baseline")));
    let mut out = SourceExplanation {
        kind: facts.id.kind.kube_kind().to_owned(),
        name: facts.id.name.clone(),
        paths: paths(workload, &named),
        would_reload: false,
        reason: String::new(),
        recorded_digest: recorded.as_ref().map(|(d, _)| d.as_str().to_owned()),
        recorded_in: recorded.as_ref().map(|(_, at)| (*at).to_owned()),
        current_digest: None,
        digest_state: DigestState::Missing,
    };
    let Some(found) = &facts.found else {
        out.reason = if facts.id.kind == SourceKind::SecretProviderClass {
            "no SecretProviderClassPodStatus reports on this class (no pod has mounted it, or the CSI driver is not installed)".into()
        } else {
            "the source does not exist".into()
        };
        return out;
    };
    let current = found.record.digest.clone();
    out.digest_state = match &recorded {
        Some((d, _)) if *d == current => DigestState::InSync,
        Some(_) => DigestState::Stale,
        None => DigestState::NoRecord,
    };
    out.current_digest = Some(current.as_str().to_owned());
    if let Some(why) = unwatched(found, facts.id.kind, context) {
        out.reason = why;
        return out;
    }
    let outcome = context.matcher.decide(workload, &found.record.meta());
    match outcome.decision {
        Decision::Reload { reason, container } => {
            out.would_reload = true;
            out.reason = reload_reason(&reason, &container);
        }
        Decision::Skip(why) => skip_reason(&why).clone_into(&mut out.reason),
    }
    for problem in outcome.problems {
        let _ = write!(out.reason, "; problem: {problem}");
    }
    out
}

#[cfg(test)]
mod tests;
