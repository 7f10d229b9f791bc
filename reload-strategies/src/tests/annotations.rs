//! Behaviour of the annotations strategy.

use reload_core::trigger::TRIGGER_ANNOTATION;
use reload_core::{Digest, ReloadStrategy, SourceKind, SourceRef, WorkloadKind};

use super::{D1, D2, deleted, update, workload};
use crate::{AnnotationStrategy, DELETE_MARKER_DIGEST, LAST_RELOADED_FROM, LastReloadedFrom};

fn reloader_annotation(kind: SourceKind, name: &str, hash: &str) -> String {
    LastReloadedFrom {
        kind: kind.reloader_type().into(),
        name: name.into(),
        namespace: "default".into(),
        hash: hash.into(),
        container_refs: vec!["app".into()],
        observed_at: 1,
    }
    .to_json()
}

#[test]
fn reloaders_annotation_for_the_same_source_and_digest_is_a_no_op() {
    let mut w = workload(WorkloadKind::StatefulSet, &["app"]);
    w.template.annotations.insert(
        LAST_RELOADED_FROM.into(),
        reloader_annotation(SourceKind::Secret, "db", D1),
    );
    assert_eq!(
        AnnotationStrategy.plan(&w, &update(SourceKind::Secret, "db", D1, "app")),
        None
    );
    // Same name and hash, other type: not this source.
    assert!(
        AnnotationStrategy
            .plan(&w, &update(SourceKind::ConfigMap, "db", D1, "app"))
            .is_some()
    );
}

#[test]
fn reloaders_record_of_another_source_is_kept_when_a_new_source_is_written() {
    let mut w = workload(WorkloadKind::Deployment, &["app"]);
    w.template.annotations.insert(
        LAST_RELOADED_FROM.into(),
        reloader_annotation(SourceKind::Secret, "db", D1),
    );
    AnnotationStrategy
        .plan(&w, &update(SourceKind::ConfigMap, "cm", D2, "app"))
        .expect("nothing recorded")
        .apply(&mut w);
    let db = SourceRef::new(SourceKind::Secret, "default", "db");
    assert_eq!(AnnotationStrategy.recorded_digest(&w, &db), Some(Digest::new(D1)));
    assert_eq!(
        AnnotationStrategy.plan(&w, &update(SourceKind::Secret, "db", D1, "app")),
        None
    );
}

#[test]
fn every_source_replay_is_a_no_op_not_just_the_last_one() {
    let mut w = workload(WorkloadKind::DaemonSet, &["app"]);
    let first = update(SourceKind::ConfigMap, "a", D1, "app");
    let second = update(SourceKind::Secret, "b", D2, "app");
    for change in [&first, &second] {
        AnnotationStrategy
            .plan(&w, change)
            .expect("nothing recorded")
            .apply(&mut w);
    }
    let later = |change: &reload_core::Change| reload_core::Change {
        observed_at: change.observed_at + 60,
        ..change.clone()
    };
    assert_eq!(AnnotationStrategy.plan(&w, &later(&first)), None);
    assert_eq!(AnnotationStrategy.plan(&w, &later(&second)), None);
}

#[test]
fn delete_records_the_delete_marker_once() {
    let mut w = workload(WorkloadKind::Deployment, &["app"]);
    let delete = deleted(update(SourceKind::ConfigMap, "cm", D1, "app"));
    let plan = AnnotationStrategy.plan(&w, &delete).expect("nothing recorded");
    assert_eq!(plan.digest, Digest::new(DELETE_MARKER_DIGEST));
    plan.apply(&mut w);
    let written = w
        .template
        .annotations
        .get(LAST_RELOADED_FROM)
        .and_then(|v| LastReloadedFrom::parse(v));
    assert_eq!(written.map(|v| v.hash), Some(DELETE_MARKER_DIGEST.to_owned()));
    assert_eq!(AnnotationStrategy.plan(&w, &delete), None);
    // Re-created with its old content: a reload.
    assert!(
        AnnotationStrategy
            .plan(&w, &update(SourceKind::ConfigMap, "cm", D1, "app"))
            .is_some()
    );
}

#[test]
fn csi_source_named_with_its_digest_is_not_reloaded_again() {
    let mut w = workload(WorkloadKind::Deployment, &["app"]);
    w.template.annotations.insert(
        LAST_RELOADED_FROM.into(),
        reloader_annotation(SourceKind::SecretProviderClass, "vault", D1),
    );
    let change = update(SourceKind::SecretProviderClass, "vault", D1, "app");
    assert_eq!(AnnotationStrategy.plan(&w, &change), None);
}

#[test]
fn only_template_annotations_change() {
    let mut w = super::with_env(workload(WorkloadKind::Deployment, &["app"]), "app", "X", "1");
    w.annotations.insert("owner".into(), "team".into());
    let before = w.clone();
    AnnotationStrategy
        .plan(&w, &update(SourceKind::ConfigMap, "cm", D1, "app"))
        .expect("nothing recorded")
        .apply(&mut w);
    assert_eq!(w.template.containers, before.template.containers);
    assert_eq!(w.annotations, before.annotations);
    let keys: Vec<&str> = w.template.annotations.keys().map(String::as_str).collect();
    assert_eq!(keys, [TRIGGER_ANNOTATION, LAST_RELOADED_FROM]);
}
