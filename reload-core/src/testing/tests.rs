//! The law checker must catch strategies that break each law.

use super::*;
use crate::{Change, Digest, Edit, Plan, SourceRef, Workload};

const KEY: &str = "example.com/last";

/// Records `kind/name=digest` of the last source only, like Reloader's `last-reloaded-from`.
struct LastWriterOnly;

impl ReloadStrategy for LastWriterOnly {
    fn name(&self) -> &'static str {
        "last-writer-only"
    }

    fn plan(&self, workload: &Workload, change: &Change) -> Option<Plan> {
        if self.recorded_digest(workload, &change.source).as_ref() == Some(&change.digest) {
            return None;
        }
        Some(Plan {
            source: change.source.clone(),
            digest: change.digest.clone(),
            edits: vec![Edit::SetTemplateAnnotation {
                key: KEY.into(),
                value: format!(
                    "{:?}/{}={}",
                    change.source.kind, change.source.name, change.digest
                ),
            }],
        })
    }

    fn recorded_digest(&self, workload: &Workload, source: &SourceRef) -> Option<Digest> {
        let prefix = format!("{:?}/{}=", source.kind, source.name);
        workload
            .template
            .annotations
            .get(KEY)
            .and_then(|value| value.strip_prefix(&prefix))
            .map(Digest::new)
    }
}

/// Rolls on every change, like Reloader's annotations strategy with its `observedAt`.
struct AlwaysRolls;

impl ReloadStrategy for AlwaysRolls {
    fn name(&self) -> &'static str {
        "always-rolls"
    }

    fn plan(&self, _: &Workload, change: &Change) -> Option<Plan> {
        Some(Plan {
            source: change.source.clone(),
            digest: change.digest.clone(),
            edits: vec![Edit::SetTemplateAnnotation {
                key: KEY.into(),
                value: change.digest.to_string(),
            }],
        })
    }

    fn recorded_digest(&self, workload: &Workload, _: &SourceRef) -> Option<Digest> {
        workload.template.annotations.get(KEY).map(Digest::new)
    }
}

/// Records per source, but in the workload's own metadata.
struct WritesWorkloadMetadata;

impl ReloadStrategy for WritesWorkloadMetadata {
    fn name(&self) -> &'static str {
        "writes-workload-metadata"
    }

    fn plan(&self, workload: &Workload, change: &Change) -> Option<Plan> {
        if self.recorded_digest(workload, &change.source).as_ref() == Some(&change.digest) {
            return None;
        }
        Some(Plan {
            source: change.source.clone(),
            digest: change.digest.clone(),
            edits: vec![Edit::SetAnnotation {
                key: format!("{:?}.{}", change.source.kind, change.source.name),
                value: Some(change.digest.to_string()),
            }],
        })
    }

    fn recorded_digest(&self, workload: &Workload, source: &SourceRef) -> Option<Digest> {
        workload
            .annotations
            .get(&format!("{:?}.{}", source.kind, source.name))
            .map(Digest::new)
    }
}

/// Never plans.
struct NeverRolls;

impl ReloadStrategy for NeverRolls {
    fn name(&self) -> &'static str {
        "never-rolls"
    }

    fn plan(&self, _: &Workload, _: &Change) -> Option<Plan> {
        None
    }

    fn recorded_digest(&self, _: &Workload, _: &SourceRef) -> Option<Digest> {
        None
    }
}

fn failure(strategy: &dyn ReloadStrategy, footprint: Footprint) -> LawFailure {
    let config = LawConfig::default().cases(128).footprint(footprint);
    match check_strategy_laws(strategy, &config) {
        Ok(()) => panic!("'{}' should break a law", strategy.name()),
        Err(failure) => failure,
    }
}

#[test]
fn strategy_that_always_rolls_is_reported_as_not_idempotent() {
    let failure = failure(&AlwaysRolls, Footprint::built_in());
    assert!(failure.reason.starts_with("not idempotent"), "{failure}");
}

#[test]
fn strategy_recording_only_the_last_source_is_reported_as_not_commuting() {
    let failure = failure(&LastWriterOnly, Footprint::built_in());
    assert!(failure.reason.starts_with("plans do not commute"), "{failure}");
}

#[test]
fn strategy_writing_outside_its_footprint_is_reported() {
    let failure = failure(&WritesWorkloadMetadata, Footprint::built_in());
    assert!(failure.reason.contains("outside the footprint"), "{failure}");
    let allowed = Footprint::nothing().workload_annotations();
    assert_eq!(
        check_strategy_laws(
            &WritesWorkloadMetadata,
            &LawConfig::default().cases(64).footprint(allowed)
        ),
        Ok(())
    );
}

#[test]
fn strategy_that_never_rolls_is_reported_as_ignoring_new_digests() {
    let failure = failure(&NeverRolls, Footprint::built_in());
    assert!(failure.reason.contains("produced no plan"), "{failure}");
}

#[test]
fn strategies_that_disagree_are_reported() {
    let result = check_strategies_agree(&NeverRolls, &AlwaysRolls, 16);
    let failure = result.expect_err("one always rolls, the other never");
    assert!(failure.reason.starts_with("strategies disagree"), "{failure}");
}

#[test]
fn footprint_mask_clears_only_the_declared_parts() {
    let mut workload = Workload::new(crate::WorkloadRef::new(crate::WorkloadKind::Job, "ns", "w"));
    workload.annotations.insert("a".into(), "1".into());
    workload.template.annotations.insert("b".into(), "2".into());
    let masked = Footprint::built_in().mask(&workload, "app");
    assert_eq!(masked.annotations, workload.annotations);
    assert!(masked.template.annotations.is_empty());
}
