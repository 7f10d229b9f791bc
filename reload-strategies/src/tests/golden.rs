//! Golden tests: the formats written to workloads. Changing any of them restarts every managed
//! workload on upgrade (or breaks compatibility with Reloader), so they are pinned here.

use reload_core::trigger::TRIGGER_ANNOTATION;
use reload_core::{ReloadStrategy, SourceKind, WorkloadKind};
use serde_json::json;

use super::{D1, update, workload};
use crate::{AnnotationStrategy, EnvVarStrategy, LAST_RELOADED_FROM, LastReloadedFrom, env_var_name};

/// The spec's example (`reloader-spec.md` §3.2).
const SPEC_EXAMPLE: &str = r#"{"type":"CONFIGMAP","name":"my-cm","namespace":"default","hash":"3c9a892aeaedc759abc3df9884a37b8be5680382","containerRefs":["app"],"observedAt":1714557600}"#;

#[test]
fn last_reloaded_from_is_byte_identical_to_reloaders_for_the_spec_example() {
    let change = update(
        SourceKind::ConfigMap,
        "my-cm",
        "3c9a892aeaedc759abc3df9884a37b8be5680382",
        "app",
    );
    let plan = AnnotationStrategy
        .plan(&workload(WorkloadKind::Deployment, &["app"]), &change)
        .expect("nothing recorded yet");
    let value = plan.edits.iter().find_map(|edit| match edit {
        reload_core::Edit::SetTemplateAnnotation { key, value } if key == LAST_RELOADED_FROM => Some(value),
        _ => None,
    });
    assert_eq!(LAST_RELOADED_FROM, "reloader.stakater.com/last-reloaded-from");
    assert_eq!(value.map(String::as_str), Some(SPEC_EXAMPLE));
}

#[test]
fn last_reloaded_from_escapes_html_characters_like_go() {
    let value = LastReloadedFrom {
        kind: "SECRET".into(),
        name: "a<b>&c\u{2028}".into(),
        namespace: "ns".into(),
        hash: "h".into(),
        container_refs: vec!["app".into()],
        observed_at: -1,
    };
    assert_eq!(
        value.to_json(),
        r#"{"type":"SECRET","name":"a\u003cb\u003e\u0026c\u2028","namespace":"ns","hash":"h","containerRefs":["app"],"observedAt":-1}"#
    );
    assert_eq!(LastReloadedFrom::parse(&value.to_json()), Some(value));
}

#[test]
fn env_var_names_are_pinned() {
    assert_eq!(
        env_var_name(SourceKind::ConfigMap, "my-config"),
        "STAKATER_MY_CONFIG_CONFIGMAP"
    );
    assert_eq!(
        env_var_name(SourceKind::Secret, "my-secret"),
        "STAKATER_MY_SECRET_SECRET"
    );
    assert_eq!(
        env_var_name(SourceKind::SecretProviderClass, "my-spc"),
        "STAKATER_MY_SPC_SECRETPROVIDERCLASS"
    );
}

#[test]
fn trigger_state_value_is_pinned_for_a_fixed_input() {
    let mut w = workload(WorkloadKind::Deployment, &["app"]);
    for change in [
        update(
            SourceKind::Secret,
            "db",
            "c6cceb2f1c84498af4f4cda76071f8bc2afd425b",
            "app",
        ),
        update(SourceKind::ConfigMap, "my-cm", D1, "app"),
    ] {
        AnnotationStrategy
            .plan(&w, &change)
            .expect("nothing recorded yet")
            .apply(&mut w);
    }
    assert_eq!(TRIGGER_ANNOTATION, "reloader.rs/digests");
    assert_eq!(
        w.template.annotations.get(TRIGGER_ANNOTATION).map(String::as_str),
        Some(
            r#"{"configmap/my-cm":"2834cb2f26ce41acf3a5c4c63b1815df75bae06e","secret/db":"c6cceb2f1c84498af4f4cda76071f8bc2afd425b"}"#
        )
    );
}

#[test]
fn env_var_patch_bodies_are_reloaders_for_deployment_and_cronjob() {
    let change = update(SourceKind::ConfigMap, "my-config", D1, "app");
    let env = json!([{ "name": "STAKATER_MY_CONFIG_CONFIGMAP", "value": D1 }]);
    let containers = json!([{ "name": "app", "env": env }]);
    for (kind, expected) in [
        (
            WorkloadKind::Deployment,
            json!({"spec": {"template": {"spec": {"containers": containers}}}}),
        ),
        (
            WorkloadKind::CronJob,
            json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": containers}}}}}}),
        ),
    ] {
        let w = super::with_configmap_volume(workload(kind.clone(), &["app"]), "my-config");
        let plan = EnvVarStrategy.plan(&w, &change).expect("nothing recorded yet");
        assert_eq!(plan.strategic_merge_patch(&kind), expected, "{kind}");
    }
}

#[test]
fn annotation_patch_bodies_are_pinned_for_deployment_and_cronjob() {
    let change = update(
        SourceKind::ConfigMap,
        "my-cm",
        "3c9a892aeaedc759abc3df9884a37b8be5680382",
        "app",
    );
    let annotations = json!({
        "reloader.stakater.com/last-reloaded-from": SPEC_EXAMPLE,
        "reloader.rs/digests": r#"{"configmap/my-cm":"3c9a892aeaedc759abc3df9884a37b8be5680382"}"#,
    });
    for (kind, expected) in [
        (
            WorkloadKind::Deployment,
            json!({"spec": {"template": {"metadata": {"annotations": annotations}}}}),
        ),
        (
            WorkloadKind::CronJob,
            json!({"spec": {"jobTemplate": {"spec": {"template": {"metadata": {"annotations": annotations}}}}}}),
        ),
    ] {
        let plan = AnnotationStrategy
            .plan(&workload(kind.clone(), &["app"]), &change)
            .expect("nothing recorded yet");
        assert_eq!(plan.strategic_merge_patch(&kind), expected, "{kind}");
    }
}

#[test]
fn colliding_env_var_patch_body_also_carries_the_trigger_state() {
    let w = super::with_configmap_volume(
        super::with_configmap_volume(workload(WorkloadKind::Deployment, &["app"]), "my.app"),
        "my-app",
    );
    let plan = EnvVarStrategy
        .plan(&w, &update(SourceKind::ConfigMap, "my-app", D1, "app"))
        .expect("nothing recorded yet");
    assert_eq!(
        plan.strategic_merge_patch(&WorkloadKind::Deployment),
        json!({"spec": {"template": {
            "metadata": {"annotations": {"reloader.rs/digests": format!(r#"{{"configmap/my-app":"{D1}"}}"#)}},
            "spec": {"containers": [{"name": "app", "env": [{"name": "STAKATER_MY_APP_CONFIGMAP", "value": D1}]}]},
        }}})
    );
}

#[test]
fn env_var_delete_patch_body_removes_the_entry_and_records_the_marker() {
    let w = super::with_env(
        super::with_configmap_volume(workload(WorkloadKind::Deployment, &["app"]), "my-config"),
        "app",
        "STAKATER_MY_CONFIG_CONFIGMAP",
        D1,
    );
    let delete = super::deleted(update(SourceKind::ConfigMap, "my-config", D1, "app"));
    let plan = EnvVarStrategy.plan(&w, &delete).expect("variable present");
    assert_eq!(
        plan.strategic_merge_patch(&WorkloadKind::Deployment),
        json!({"spec": {"template": {
            "metadata": {"annotations": {
                "reloader.rs/digests": r#"{"configmap/my-config":"aae45badef99284e4dae01d6046154ea9d99532f"}"#,
            }},
            "spec": {"containers": [{"name": "app", "env": [
                {"name": "STAKATER_MY_CONFIG_CONFIGMAP", "$patch": "delete"},
            ]}]},
        }}})
    );
}

#[test]
fn delete_marker_digest_is_the_sha1_of_reloaders_marker_string() {
    assert_eq!(
        crate::DELETE_MARKER_DIGEST,
        reload_core::hash::delete_marker_digest().as_str()
    );
}
