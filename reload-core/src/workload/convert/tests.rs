//! Conversions from Kubernetes objects to the workload model.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use serde_json::{Value, json};

use crate::matcher::AnnotationMatcher;
use crate::{
    Container, Decision, EnvVar, Error, Matcher, NamedSource, ReloadReason, SourceKind, SourceMeta,
    SourceRef, Volume, VolumeSource, Workload, WorkloadKind,
};

/// A pod spec that uses every reference path of `reloader-spec.md` §5.
fn pod_spec() -> Value {
    json!({
        "initContainers": [{
            "name": "init",
            "image": "busybox",
            "envFrom": [{"secretRef": {"name": "init-secret"}}],
            "volumeMounts": [{"name": "projected", "mountPath": "/p"}]
        }],
        "containers": [
            {
                "name": "app",
                "image": "nginx",
                "env": [
                    {"name": "LITERAL", "value": "x"},
                    {"name": "FROM_CM", "valueFrom": {"configMapKeyRef": {"name": "env-cm", "key": "k"}}},
                    {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "env-secret", "key": "k"}}},
                    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
                ],
                "envFrom": [{"configMapRef": {"name": "envfrom-cm"}, "prefix": "P_"}],
                "volumeMounts": [{"name": "config", "mountPath": "/c"}]
            },
            {
                "name": "sidecar",
                "image": "busybox",
                "volumeMounts": [{"name": "creds", "mountPath": "/s"}, {"name": "vault", "mountPath": "/v"}]
            }
        ],
        "volumes": [
            {"name": "config", "configMap": {"name": "vol-cm"}},
            {"name": "creds", "secret": {"secretName": "vol-secret"}},
            {"name": "projected", "projected": {"sources": [
                {"configMap": {"name": "proj-cm"}},
                {"downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
                {"secret": {"name": "proj-secret"}}
            ]}},
            {"name": "vault", "csi": {"driver": "secrets-store.csi.k8s.io",
                                      "volumeAttributes": {"secretProviderClass": "vault-spc"}}},
            {"name": "other-csi", "csi": {"driver": "x"}},
            {"name": "no-name-secret", "secret": {}},
            {"name": "scratch", "emptyDir": {}}
        ]
    })
}

fn template() -> Value {
    json!({
        "metadata": {"annotations": {"reloader.stakater.com/auto": "true"}, "labels": {"app": "web"}},
        "spec": pod_spec()
    })
}

fn metadata() -> Value {
    json!({
        "name": "web",
        "namespace": "default",
        "annotations": {
            "configmap.reloader.stakater.com/reload": "app-.*",
            "kubectl.kubernetes.io/last-applied-configuration": "{\"huge\": true}"
        }
    })
}

fn typed<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("fixture is a valid object")
}

fn expected_template_parts(workload: &Workload) {
    let template = &workload.template;
    assert_eq!(
        template
            .annotations
            .get("reloader.stakater.com/auto")
            .map(String::as_str),
        Some("true")
    );
    assert_eq!(
        template.containers[0],
        Container {
            name: "app".into(),
            env: vec![
                EnvVar {
                    name: "LITERAL".into(),
                    value: Some("x".into()),
                    value_from: None,
                },
                EnvVar {
                    name: "FROM_CM".into(),
                    value: None,
                    value_from: Some(NamedSource::new(SourceKind::ConfigMap, "env-cm")),
                },
                EnvVar {
                    name: "FROM_SECRET".into(),
                    value: None,
                    value_from: Some(NamedSource::new(SourceKind::Secret, "env-secret")),
                },
                EnvVar {
                    name: "POD_NAME".into(),
                    value: None,
                    value_from: None,
                },
            ],
            env_from: vec![NamedSource::new(SourceKind::ConfigMap, "envfrom-cm")],
            volume_mounts: vec!["config".into()],
        }
    );
    assert_eq!(template.containers[1].volume_mounts, ["creds", "vault"]);
    assert_eq!(
        template.init_containers[0].env_from,
        [NamedSource::new(SourceKind::Secret, "init-secret")]
    );
    let volume = |name: &str, source| Volume {
        name: name.into(),
        source,
    };
    assert_eq!(
        template.volumes,
        vec![
            volume("config", VolumeSource::ConfigMap("vol-cm".into())),
            volume("creds", VolumeSource::Secret("vol-secret".into())),
            volume(
                "projected",
                VolumeSource::Projected(vec![
                    NamedSource::new(SourceKind::ConfigMap, "proj-cm"),
                    NamedSource::new(SourceKind::Secret, "proj-secret"),
                ])
            ),
            volume("vault", VolumeSource::Csi("vault-spc".into())),
            volume("other-csi", VolumeSource::Other),
            volume("no-name-secret", VolumeSource::Other),
            volume("scratch", VolumeSource::Other),
        ]
    );
}

fn expected_identity_and_metadata(workload: &Workload, kind: WorkloadKind) {
    assert_eq!(workload.id, crate::WorkloadRef::new(kind, "default", "web"));
    assert_eq!(
        workload.annotations.keys().collect::<Vec<_>>(),
        ["configmap.reloader.stakater.com/reload"],
        "last-applied-configuration is dropped"
    );
}

#[test]
fn deployment_converts_every_reference_path() {
    let object: Deployment = typed(json!({"metadata": metadata(), "spec": {"template": template()}}));
    let workload = Workload::try_from(&object).expect("valid deployment");
    expected_identity_and_metadata(&workload, WorkloadKind::Deployment);
    expected_template_parts(&workload);
}

#[test]
fn daemonset_converts_its_pod_template() {
    let object: DaemonSet = typed(json!({"metadata": metadata(), "spec": {"template": template()}}));
    let workload = Workload::try_from(&object).expect("valid daemonset");
    expected_identity_and_metadata(&workload, WorkloadKind::DaemonSet);
    expected_template_parts(&workload);
}

#[test]
fn statefulset_converts_its_pod_template() {
    let object: StatefulSet = typed(json!({"metadata": metadata(), "spec": {"template": template()}}));
    let workload = Workload::try_from(&object).expect("valid statefulset");
    expected_identity_and_metadata(&workload, WorkloadKind::StatefulSet);
    expected_template_parts(&workload);
}

#[test]
fn job_converts_its_pod_template() {
    let object: Job = typed(json!({"metadata": metadata(), "spec": {"template": template()}}));
    let workload = Workload::try_from(&object).expect("valid job");
    expected_identity_and_metadata(&workload, WorkloadKind::Job);
    expected_template_parts(&workload);
}

#[test]
fn cronjob_converts_the_job_templates_pod_template() {
    let object: CronJob = typed(json!({
        "metadata": metadata(),
        "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template()}}}
    }));
    let workload = Workload::try_from(&object).expect("valid cronjob");
    expected_identity_and_metadata(&workload, WorkloadKind::CronJob);
    expected_template_parts(&workload);
}

#[test]
fn rollout_json_converts_like_a_deployment() {
    let object = json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": metadata(),
        "spec": {"strategy": {"canary": {}}, "template": template()}
    });
    let workload = Workload::from_json(WorkloadKind::Rollout, &object).expect("valid rollout");
    expected_identity_and_metadata(&workload, WorkloadKind::Rollout);
    expected_template_parts(&workload);
}

#[test]
fn cronjob_json_reads_the_job_template_path() {
    let object = json!({
        "metadata": metadata(),
        "spec": {"jobTemplate": {"spec": {"template": template()}}}
    });
    let workload = Workload::from_json(WorkloadKind::CronJob, &object).expect("valid cronjob");
    expected_template_parts(&workload);
}

fn read_problem(result: crate::Result<Workload>) -> String {
    match result {
        Err(error @ Error::ReadObject { .. }) => error.to_string(),
        other => panic!("expected a read error, got {other:?}"),
    }
}

#[test]
fn deployment_without_spec_is_a_read_error_naming_it() {
    let object: Deployment = typed(json!({"metadata": metadata()}));
    let text = read_problem(Workload::try_from(&object));
    assert_eq!(
        text,
        "cannot read Deployment 'web' in namespace 'default': spec is missing"
    );
}

#[test]
fn template_without_pod_spec_is_a_read_error() {
    let object: StatefulSet = typed(json!({"metadata": metadata(), "spec": {"template": {"metadata": {}}}}));
    let text = read_problem(Workload::try_from(&object));
    assert!(
        text.contains("StatefulSet 'web'") && text.contains("no spec"),
        "{text}"
    );
}

#[test]
fn cronjob_without_job_spec_is_a_read_error() {
    let object: CronJob =
        typed(json!({"metadata": metadata(), "spec": {"schedule": "@daily", "jobTemplate": {}}}));
    let text = read_problem(Workload::try_from(&object));
    assert!(text.contains("jobTemplate.spec is missing"), "{text}");
}

#[test]
fn object_without_name_or_namespace_is_a_read_error() {
    let object: Deployment = typed(json!({"metadata": {"name": "web"}, "spec": {"template": template()}}));
    let text = read_problem(Workload::try_from(&object));
    assert!(text.contains("metadata.namespace"), "{text}");
}

#[test]
fn rollout_with_workload_ref_instead_of_template_is_a_read_error() {
    let object = json!({
        "metadata": metadata(),
        "spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}}
    });
    let text = read_problem(Workload::from_json(WorkloadKind::Rollout, &object));
    assert!(
        text.contains("Rollout 'web'") && text.contains("spec.template is missing"),
        "{text}"
    );
}

#[test]
fn json_of_the_wrong_shape_is_a_read_error_never_a_panic() {
    let broken = [
        json!(null),
        json!([1, 2]),
        json!({"metadata": "nope", "spec": {"template": template()}}),
        json!({"metadata": metadata(), "spec": {"template": {"spec": {"containers": "nope"}}}}),
        json!({"metadata": metadata(), "spec": {"template": null}}),
        json!({"metadata": metadata(), "spec": 7}),
    ];
    for object in broken {
        let kind = WorkloadKind::Custom("Widget".into());
        assert!(
            matches!(Workload::from_json(kind, &object), Err(Error::ReadObject { .. })),
            "{object}"
        );
    }
}

#[test]
fn converted_deployment_is_matched_through_each_reference_path() {
    let object: Deployment = typed(json!({
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"template": template()}
    }));
    let workload = Workload::try_from(&object).expect("valid deployment");
    let matcher = AnnotationMatcher::default();
    let table = [
        (SourceKind::ConfigMap, "vol-cm", Some("app")),
        (SourceKind::Secret, "vol-secret", Some("sidecar")),
        (SourceKind::ConfigMap, "proj-cm", Some("app")), // mounted by init only → containers[0]
        (SourceKind::Secret, "proj-secret", Some("app")),
        (SourceKind::SecretProviderClass, "vault-spc", Some("sidecar")),
        (SourceKind::ConfigMap, "env-cm", Some("app")),
        (SourceKind::Secret, "env-secret", Some("app")),
        (SourceKind::ConfigMap, "envfrom-cm", Some("app")),
        (SourceKind::Secret, "init-secret", Some("app")),
        (SourceKind::ConfigMap, "unused", None),
    ];
    for (kind, name, container) in table {
        let source = SourceMeta::new(SourceRef::new(kind, "default", name));
        let decision = matcher.decide(&workload, &source).decision;
        let expected = container.map_or(Decision::Skip(crate::SkipReason::NotReferenced), |c| {
            Decision::Reload {
                reason: ReloadReason::AutoAnnotation,
                container: c.into(),
            }
        });
        assert_eq!(decision, expected, "{kind} {name}");
    }
}

fn arbitrary_json() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-z]{0,6}".prop_map(Value::from),
    ];
    let keys = prop::sample::select(vec![
        "metadata",
        "name",
        "namespace",
        "annotations",
        "spec",
        "template",
        "jobTemplate",
        "containers",
        "volumes",
        "env",
        "status",
        "objects",
        "secretProviderClassName",
        "id",
        "version",
    ]);
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(keys.clone(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

proptest::proptest! {
    #[test]
    fn reading_arbitrary_json_never_panics(object in arbitrary_json()) {
        for kind in [WorkloadKind::Rollout, WorkloadKind::CronJob] {
            if let Ok(workload) = Workload::from_json(kind, &object) {
                // Whatever it accepts, the identity is the object's own.
                proptest::prop_assert_eq!(Some(workload.id.name.as_str()), object["metadata"]["name"].as_str());
                proptest::prop_assert_eq!(
                    Some(workload.id.namespace.as_str()),
                    object["metadata"]["namespace"].as_str()
                );
            }
        }
        let _ = crate::source::SecretProviderClassPodStatus::from_json(&object);
    }
}

#[test]
fn json_with_the_template_at_a_custom_pointer_reads_it_and_a_missing_one_names_the_pointer() {
    let kind = WorkloadKind::Custom("Pipeline".into());
    let object = json!({"metadata": metadata(), "spec": {"runner": {"podTemplate": template()}}});
    let workload = Workload::from_json_at(kind.clone(), &object, "/spec/runner/podTemplate").expect("read");
    assert_eq!(
        workload,
        Workload::from_json(
            kind.clone(),
            &json!({"metadata": metadata(), "spec": {"template": template()}})
        )
        .expect("read")
    );
    match Workload::from_json_at(kind, &object, "/spec/template") {
        Err(Error::ReadObject { problem, .. }) => assert!(problem.contains("/spec/template"), "{problem}"),
        other => panic!("expected a read error, got {other:?}"),
    }
}
