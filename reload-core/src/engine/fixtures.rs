//! Test fixtures: a tiny matcher and strategy with the shape of the real ones, and builders.

use std::collections::BTreeMap;

use crate::decision::{Decision, MatchOutcome, ReloadReason, SkipReason};
use crate::hash::Digest;
use crate::plan::{Change, ChangeKind, Edit, Plan};
use crate::source::{SourceKind, SourceMeta, SourceRef};
use crate::strategy::ReloadStrategy;
use crate::workload::{Container, NamedSource, Workload, WorkloadKind, WorkloadRef};

use super::index::IndexedWorkload;
use super::sources::SourceRecord;

/// Reloads when the workload has `auto: "true"` and references the source, or names it in
/// `configmap.reloader.stakater.com/reload` (exact name); container `app`.
pub fn matcher(workload: &Workload, source: &SourceMeta) -> MatchOutcome {
    let Some(id) = &source.id else {
        return MatchOutcome::new(Decision::Skip(SkipReason::NotOptedIn));
    };
    if source
        .annotations
        .get("reloader.stakater.com/ignore")
        .map(String::as_str)
        == Some("true")
    {
        return MatchOutcome::new(Decision::Skip(SkipReason::SourceIgnored));
    }
    if id.namespace != workload.id.namespace {
        return MatchOutcome::new(Decision::Skip(SkipReason::OtherNamespace));
    }
    if workload.annotations.get("configmap.reloader.stakater.com/reload") == Some(&id.name) {
        return MatchOutcome::new(Decision::Reload {
            reason: ReloadReason::Named {
                pattern: id.name.clone(),
            },
            container: "app".into(),
        });
    }
    if workload.annotations.get("auto").map(String::as_str) != Some("true") {
        return MatchOutcome::new(Decision::Skip(SkipReason::NotOptedIn));
    }
    let referenced = workload
        .template
        .references()
        .contains(&NamedSource::new(id.kind, id.name.clone()));
    if referenced {
        MatchOutcome::new(Decision::Reload {
            reason: ReloadReason::AutoAnnotation,
            container: "app".into(),
        })
    } else {
        MatchOutcome::new(Decision::Skip(SkipReason::NotReferenced))
    }
}

/// Records digests in template annotation `test/<kind>/<name>` (like the real per-source state).
pub struct Strategy;

/// The template annotation key `Strategy` uses for `source`.
pub fn state_key(source: &SourceRef) -> String {
    format!("test/{}/{}", source.kind, source.name)
}

impl ReloadStrategy for Strategy {
    fn name(&self) -> &'static str {
        "test"
    }

    fn plan(&self, workload: &Workload, change: &Change) -> Option<Plan> {
        let key = state_key(&change.source);
        let value = match change.kind {
            ChangeKind::Deleted => "deleted".to_owned(),
            _ => change.digest.to_string(),
        };
        if workload.template.annotations.get(&key) == Some(&value) {
            return None;
        }
        Some(Plan {
            source: change.source.clone(),
            digest: change.digest.clone(),
            edits: vec![Edit::SetTemplateAnnotation { key, value }],
        })
    }

    fn recorded_digest(&self, workload: &Workload, source: &SourceRef) -> Option<Digest> {
        workload
            .template
            .annotations
            .get(&state_key(source))
            .map(|d| Digest::new(d.clone()))
    }
}

/// A Deployment `name` in `ns` with container `app` taking `envFrom` the given ConfigMaps,
/// opted in with `auto: "true"`.
pub fn deployment(name: &str, configmaps: &[&str]) -> IndexedWorkload {
    let mut workload = Workload::new(WorkloadRef::new(WorkloadKind::Deployment, "ns", name));
    workload.annotations.insert("auto".into(), "true".into());
    workload.template.containers.push(Container {
        name: "app".into(),
        env_from: configmaps
            .iter()
            .map(|cm| NamedSource::new(SourceKind::ConfigMap, *cm))
            .collect(),
        ..Container::default()
    });
    IndexedWorkload::new(workload).with_resource_version("1")
}

/// The ConfigMap `name` in `ns`.
pub fn cm(name: &str) -> SourceRef {
    SourceRef::new(SourceKind::ConfigMap, "ns", name)
}

/// A ConfigMap record with `digest`.
pub fn cm_record(name: &str, digest: &str) -> SourceRecord {
    SourceRecord {
        id: cm(name),
        uid: Some(format!("uid-{name}")),
        resource_version: Some("1".into()),
        digest: Digest::new(digest),
        annotations: BTreeMap::new(),
        labels: BTreeMap::new(),
    }
}
