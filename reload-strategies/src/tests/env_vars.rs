//! Behaviour of the env-vars strategy.

use reload_core::trigger::{self, TRIGGER_ANNOTATION};
use reload_core::{
    Digest, Edit, MatchProblem, NamedSource, ReloadStrategy, SourceKind, SourceRef, WorkloadKind,
};

use super::{D1, D2, deleted, update, with_configmap_volume, with_env, with_env_from, workload};
use crate::{DELETE_MARKER_DIGEST, EnvVarCollision, EnvVarStrategy, collisions};

const VAR: &str = "STAKATER_MY_CONFIG_CONFIGMAP";

fn referenced_workload() -> reload_core::Workload {
    with_configmap_volume(
        workload(WorkloadKind::Deployment, &["app", "sidecar"]),
        "my-config",
    )
}

#[test]
fn new_variable_is_appended_to_the_chosen_container_only() {
    let mut w = with_env(referenced_workload(), "app", "LOG", "debug");
    let before_sidecar = w.template.containers[1].clone();
    EnvVarStrategy
        .plan(&w, &update(SourceKind::ConfigMap, "my-config", D1, "app"))
        .expect("nothing recorded")
        .apply(&mut w);
    let names: Vec<&str> = w.template.containers[0]
        .env
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(names, ["LOG", VAR]);
    assert_eq!(w.template.containers[1], before_sidecar);
    assert!(w.template.annotations.is_empty(), "no trigger state needed");
}

#[test]
fn variable_written_by_reloader_with_the_same_digest_is_a_no_op() {
    let w = with_env(referenced_workload(), "app", VAR, D1);
    let change = update(SourceKind::ConfigMap, "my-config", D1, "app");
    assert_eq!(EnvVarStrategy.plan(&w, &change), None);
    let source = SourceRef::new(SourceKind::ConfigMap, "default", "my-config");
    assert_eq!(EnvVarStrategy.recorded_digest(&w, &source), Some(Digest::new(D1)));
}

#[test]
fn variable_with_another_digest_is_replaced_in_place() {
    let w = with_env(referenced_workload(), "app", VAR, D1);
    let plan = EnvVarStrategy
        .plan(&w, &update(SourceKind::ConfigMap, "my-config", D2, "app"))
        .expect("digest changed");
    assert_eq!(
        plan.edits,
        vec![Edit::SetEnv {
            container: "app".into(),
            name: VAR.into(),
            value: D2.into(),
        }]
    );
}

#[test]
fn delete_removes_the_variable_records_the_marker_and_a_second_delete_does_nothing() {
    let mut w = with_env(referenced_workload(), "app", VAR, D1);
    let delete = deleted(update(SourceKind::ConfigMap, "my-config", D1, "app"));
    let plan = EnvVarStrategy.plan(&w, &delete).expect("variable present");
    assert_eq!(
        plan.edits,
        vec![
            Edit::RemoveEnv {
                container: "app".into(),
                name: VAR.into(),
            },
            Edit::SetTemplateAnnotation {
                key: TRIGGER_ANNOTATION.into(),
                value: format!(r#"{{"configmap/my-config":"{DELETE_MARKER_DIGEST}"}}"#),
            },
        ]
    );
    plan.apply(&mut w);
    assert!(w.template.containers[0].env.is_empty());
    assert_eq!(EnvVarStrategy.plan(&w, &delete), None);
    // Re-created with its old content: a reload.
    assert!(
        EnvVarStrategy
            .plan(&w, &update(SourceKind::ConfigMap, "my-config", D1, "app"))
            .is_some()
    );
}

#[test]
fn delete_without_the_variable_does_nothing() {
    let delete = deleted(update(SourceKind::ConfigMap, "my-config", D1, "app"));
    assert_eq!(EnvVarStrategy.plan(&referenced_workload(), &delete), None);
}

#[test]
fn change_naming_a_missing_container_is_not_planned() {
    let change = update(SourceKind::ConfigMap, "my-config", D1, "no-such-container");
    assert_eq!(EnvVarStrategy.plan(&referenced_workload(), &change), None);
}

fn colliding_workload() -> reload_core::Workload {
    let w = with_configmap_volume(workload(WorkloadKind::Deployment, &["app"]), "my.app");
    with_env_from(w, "app", SourceKind::ConfigMap, "my-app")
}

#[test]
fn collisions_list_the_sources_sharing_a_variable() {
    assert_eq!(
        collisions(&colliding_workload()),
        vec![EnvVarCollision {
            env_var: "STAKATER_MY_APP_CONFIGMAP".into(),
            sources: vec![
                NamedSource::new(SourceKind::ConfigMap, "my.app"),
                NamedSource::new(SourceKind::ConfigMap, "my-app"),
            ],
        }]
    );
    assert_eq!(collisions(&referenced_workload()), vec![]);
}

#[test]
fn a_collision_is_reported_as_a_problem_naming_the_variable_and_both_sources() {
    let w = colliding_workload();
    let dotted = SourceRef::new(SourceKind::ConfigMap, "ns", "my.app");
    let problems = EnvVarStrategy.problems(&w, &[dotted]);
    assert_eq!(
        problems,
        vec![MatchProblem::EnvVarCollision {
            env_var: "STAKATER_MY_APP_CONFIGMAP".into(),
            sources: vec!["ConfigMap 'my.app'".into(), "ConfigMap 'my-app'".into()],
        }]
    );
    let message = problems[0].to_string();
    assert!(
        message.contains(
            "ConfigMap 'my.app' and ConfigMap 'my-app' share the env var STAKATER_MY_APP_CONFIGMAP"
        ),
        "{message}"
    );
}

#[test]
fn a_collision_is_not_reported_for_sources_outside_it_nor_by_the_annotation_strategy() {
    let w = with_env_from(colliding_workload(), "app", SourceKind::Secret, "other");
    let other = SourceRef::new(SourceKind::Secret, "ns", "other");
    assert_eq!(EnvVarStrategy.problems(&w, &[other]), vec![]);
    assert_eq!(EnvVarStrategy.problems(&referenced_workload(), &[]), vec![]);
    let dashed = SourceRef::new(SourceKind::ConfigMap, "ns", "my-app");
    assert_eq!(crate::AnnotationStrategy.problems(&w, &[dashed]), vec![]);
}

#[test]
fn colliding_sources_keep_their_own_digests_so_replays_are_no_ops() {
    let mut w = colliding_workload();
    let dotted = update(SourceKind::ConfigMap, "my.app", D1, "app");
    let dashed = update(SourceKind::ConfigMap, "my-app", D2, "app");
    for change in [&dotted, &dashed] {
        EnvVarStrategy
            .plan(&w, change)
            .expect("nothing recorded")
            .apply(&mut w);
    }
    // Reloader would flip-flop here: the one variable holds D2, the dotted source has D1.
    assert_eq!(EnvVarStrategy.plan(&w, &dotted), None);
    assert_eq!(EnvVarStrategy.plan(&w, &dashed), None);
    assert_eq!(
        w.template.annotations.get(TRIGGER_ANNOTATION).map(String::as_str),
        Some(format!(r#"{{"configmap/my-app":"{D2}","configmap/my.app":"{D1}"}}"#).as_str())
    );
}

#[test]
fn colliding_variable_written_by_reloader_is_not_trusted() {
    let w = with_env(colliding_workload(), "app", "STAKATER_MY_APP_CONFIGMAP", D1);
    let source = SourceRef::new(SourceKind::ConfigMap, "default", "my.app");
    assert_eq!(EnvVarStrategy.recorded_digest(&w, &source), None);
    assert!(
        EnvVarStrategy
            .plan(&w, &update(SourceKind::ConfigMap, "my.app", D1, "app"))
            .is_some()
    );
}

#[test]
fn unreferenced_source_is_recorded_in_the_trigger_state() {
    let w = workload(WorkloadKind::Deployment, &["app"]);
    let plan = EnvVarStrategy
        .plan(&w, &update(SourceKind::Secret, "named-only", D1, "app"))
        .expect("nothing recorded");
    assert!(plan.edits.contains(&Edit::SetTemplateAnnotation {
        key: TRIGGER_ANNOTATION.into(),
        value: format!(r#"{{"secret/named-only":"{D1}"}}"#),
    }));
}

#[test]
fn overwriting_a_shared_variable_keeps_the_other_sources_digest() {
    // `my-config` is referenced and recorded by its variable; the unreferenced `my.config`
    // maps to the same variable.
    let mut w = with_env(referenced_workload(), "app", VAR, D1);
    EnvVarStrategy
        .plan(&w, &update(SourceKind::ConfigMap, "my.config", D2, "app"))
        .expect("nothing recorded")
        .apply(&mut w);
    let referenced = SourceRef::new(SourceKind::ConfigMap, "default", "my-config");
    assert_eq!(
        EnvVarStrategy.recorded_digest(&w, &referenced),
        Some(Digest::new(D1))
    );
}

#[test]
fn variable_on_an_earlier_container_with_another_value_adds_trigger_state() {
    let mut w = with_env(referenced_workload(), "app", VAR, D1);
    let change = update(SourceKind::ConfigMap, "my-config", D2, "sidecar");
    EnvVarStrategy
        .plan(&w, &change)
        .expect("digest changed")
        .apply(&mut w);
    assert_eq!(EnvVarStrategy.plan(&w, &change), None);
    assert_eq!(w.template.containers[0].env[0].value.as_deref(), Some(D1));
}

#[test]
fn unparsable_trigger_state_is_ignored_and_replaced_when_written() {
    let mut w = colliding_workload();
    w.template
        .annotations
        .insert(TRIGGER_ANNOTATION.into(), "{not json".into());
    let source = SourceRef::new(SourceKind::ConfigMap, "default", "my.app");
    assert_eq!(EnvVarStrategy.recorded_digest(&w, &source), None);
    EnvVarStrategy
        .plan(&w, &update(SourceKind::ConfigMap, "my.app", D1, "app"))
        .expect("nothing recorded")
        .apply(&mut w);
    assert_eq!(trigger::problem(&w.template.annotations), None);
    assert_eq!(EnvVarStrategy.recorded_digest(&w, &source), Some(Digest::new(D1)));
}
