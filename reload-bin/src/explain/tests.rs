use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::ObjectMeta;
use reload_core::hash::ReloaderHasher;
use reload_core::matcher::{AnnotationMatcher, MatcherConfig};
use reload_core::{WorkloadKind, WorkloadRef};
use reload_strategies::EnvVarStrategy;
use serde_json::{Value, json};

use super::*;

const NS: &str = "team";

#[expect(clippy::needless_pass_by_value, reason = "fixtures take json! literals")]
fn deployment(metadata_annotations: Value, template_annotations: Value) -> Workload {
    let object = json!({
        "metadata": {"name": "web", "namespace": NS, "annotations": metadata_annotations},
        "spec": {"template": {
            "metadata": {"annotations": template_annotations},
            "spec": {
                "containers": [{
                    "name": "app",
                    "env": [{"name": "LEVEL", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "level"}}}],
                    "volumeMounts": [{"name": "creds", "mountPath": "/creds"}]
                }],
                "initContainers": [{"name": "init", "envFrom": [{"configMapRef": {"name": "cm"}}]}],
                "volumes": [{"name": "creds", "secret": {"secretName": "db"}}]
            }
        }}
    });
    Workload::from_json(WorkloadKind::Deployment, &object).expect("a valid deployment")
}

fn keep() -> Vec<String> {
    vec![
        "reloader.stakater.com/ignore".to_owned(),
        "reloader.stakater.com/match".to_owned(),
    ]
}

fn configmap(name: &str, value: &str, annotations: &[(&str, &str)]) -> SourceFacts {
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(NS.into()),
            annotations: Some(
                annotations
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([("level".to_owned(), value.to_owned())])),
        ..ConfigMap::default()
    };
    let record = SourceRecord::from_configmap(&cm, &ReloaderHasher, &keep()).expect("named");
    SourceFacts {
        id: record.id.clone(),
        found: Some(FoundSource {
            record,
            secret_type: None,
            selected_by_labels: true,
        }),
    }
}

fn secret(name: &str, password: &str, type_: &str) -> SourceFacts {
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(NS.into()),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([(
            "password".to_owned(),
            ByteString(password.as_bytes().to_vec()),
        )])),
        type_: Some(type_.into()),
        ..Secret::default()
    };
    let record = SourceRecord::from_secret(&secret, &ReloaderHasher, &keep()).expect("named");
    SourceFacts {
        id: record.id.clone(),
        found: Some(FoundSource {
            record,
            secret_type: Some(type_.into()),
            selected_by_labels: true,
        }),
    }
}

struct Fixture {
    config: EngineConfig,
    matcher: AnnotationMatcher,
    keys: AnnotationKeys,
    scope: Result<(), String>,
}

impl Fixture {
    fn new() -> Self {
        Fixture {
            config: EngineConfig::default(),
            matcher: AnnotationMatcher::new(MatcherConfig::default()),
            keys: AnnotationKeys::default(),
            scope: Ok(()),
        }
    }

    fn explain(&self, workload: &Workload, sources: &[SourceFacts]) -> Explanation {
        let context = Context {
            config: &self.config,
            matcher: &self.matcher,
            strategy: &EnvVarStrategy,
            keys: &self.keys,
            namespace_scope: self.scope.clone(),
        };
        explain(workload, sources, &context)
    }
}

fn auto() -> Value {
    json!({"reloader.stakater.com/auto": "true"})
}

#[test]
fn every_reference_path_is_listed_with_its_container() {
    let workload = deployment(auto(), json!({}));
    let sources = [configmap("cm", "debug", &[]), secret("db", "s3cret", "Opaque")];
    let e = Fixture::new().explain(&workload, &sources);
    assert_eq!(
        e.sources[0].paths,
        vec!["env LEVEL (container app)", "envFrom (init container init)"]
    );
    assert_eq!(e.sources[1].paths, vec!["volume creds (mounted by app)"]);
    assert_eq!(
        (e.sources[0].kind.as_str(), e.sources[1].kind.as_str()),
        ("ConfigMap", "Secret")
    );
}

#[test]
fn an_auto_workload_would_reload_for_each_referenced_source_and_has_no_record_yet() {
    let workload = deployment(auto(), json!({}));
    let e = Fixture::new().explain(&workload, &[configmap("cm", "debug", &[])]);
    let cm = &e.sources[0];
    assert!(cm.would_reload, "{cm:?}");
    assert!(cm.reason.contains("auto annotation"), "{}", cm.reason);
    assert_eq!(cm.digest_state, DigestState::NoRecord);
    assert_eq!(cm.recorded_digest, None);
    assert!(cm.current_digest.as_ref().is_some_and(|d| d.len() == 40));
}

#[test]
fn a_baseline_equal_to_the_current_digest_is_in_sync_and_a_different_one_is_stale() {
    let facts = configmap("cm", "debug", &[]);
    let current = facts
        .found
        .as_ref()
        .expect("found")
        .record
        .digest
        .as_str()
        .to_owned();
    let baseline = |digest: &str| {
        let mut annotations = auto();
        annotations["reloader.rs/baseline"] = json!(format!("{{\"configmap/cm\":\"{digest}\"}}"));
        deployment(annotations, json!({}))
    };
    let fixture = Fixture::new();
    let in_sync = fixture.explain(&baseline(&current), std::slice::from_ref(&facts));
    assert_eq!(in_sync.sources[0].digest_state, DigestState::InSync);
    assert_eq!(
        in_sync.sources[0].recorded_in.as_deref(),
        Some("metadata baseline")
    );
    let old = "0".repeat(40);
    let stale = fixture.explain(&baseline(&old), &[facts]);
    assert_eq!(stale.sources[0].digest_state, DigestState::Stale);
    assert_eq!(stale.sources[0].recorded_digest.as_deref(), Some(old.as_str()));
}

#[test]
fn template_annotations_are_shadowed_when_the_metadata_carries_one() {
    let workload = deployment(
        json!({"reloader.stakater.com/auto": "false"}),
        json!({"reloader.stakater.com/auto": "true"}),
    );
    let e = Fixture::new().explain(&workload, &[configmap("cm", "debug", &[])]);
    let template = e
        .annotations
        .iter()
        .find(|a| a.location == Location::Template)
        .expect("the template annotation is listed");
    assert!(!template.applies);
    assert!(template.note.as_deref().is_some_and(|n| n.contains("shadowed")));
    let metadata = e
        .annotations
        .iter()
        .find(|a| a.location == Location::Metadata)
        .expect("the metadata annotation is listed");
    assert!(metadata.applies);
    assert!(!e.sources[0].would_reload);
    assert!(
        e.sources[0].reason.contains("not matched"),
        "{}",
        e.sources[0].reason
    );
}

#[test]
fn template_annotations_apply_when_the_metadata_has_none() {
    let workload = deployment(json!({}), auto());
    let e = Fixture::new().explain(&workload, &[configmap("cm", "debug", &[])]);
    assert_eq!(e.annotations.len(), 1);
    assert!(e.annotations[0].applies);
    assert_eq!(e.annotations[0].location, Location::Template);
    assert!(e.sources[0].would_reload);
}

#[test]
fn an_ignored_source_would_not_reload() {
    let workload = deployment(auto(), json!({}));
    let e = Fixture::new().explain(
        &workload,
        &[configmap(
            "cm",
            "debug",
            &[("reloader.stakater.com/ignore", "true")],
        )],
    );
    assert!(!e.sources[0].would_reload);
    assert!(
        e.sources[0].reason.contains("ignore annotation"),
        "{}",
        e.sources[0].reason
    );
}

#[test]
fn an_excluded_secret_type_and_an_unwatched_kind_say_so() {
    let workload = deployment(auto(), json!({}));
    let mut fixture = Fixture::new();
    let e = fixture.explain(&workload, &[secret("db", "x", "helm.sh/release.v1")]);
    assert!(!e.sources[0].would_reload);
    assert!(
        e.sources[0].reason.contains("excluded Secret type"),
        "{}",
        e.sources[0].reason
    );

    fixture.config = EngineConfig::default().watch_configmaps(false);
    let e = fixture.explain(&workload, &[configmap("cm", "debug", &[])]);
    assert!(!e.sources[0].would_reload);
    assert!(
        e.sources[0].reason.contains("excluded type"),
        "{}",
        e.sources[0].reason
    );
}

#[test]
fn a_namespace_out_of_scope_is_reported_on_the_workload_and_each_source() {
    let workload = deployment(auto(), json!({}));
    let mut fixture = Fixture::new();
    fixture.scope = Err("listed in --namespaces-to-ignore".into());
    let e = fixture.explain(&workload, &[configmap("cm", "debug", &[])]);
    assert!(!e.namespace_in_scope);
    assert!(!e.sources[0].would_reload);
    assert!(
        e.sources[0].reason.contains("namespace out of scope"),
        "{}",
        e.sources[0].reason
    );
}

#[test]
fn a_missing_source_is_reported_missing() {
    let workload = deployment(auto(), json!({}));
    let facts = SourceFacts {
        id: SourceRef::new(SourceKind::Secret, NS, "db"),
        found: None,
    };
    let e = Fixture::new().explain(&workload, &[facts]);
    assert_eq!(e.sources[0].digest_state, DigestState::Missing);
    assert_eq!(e.sources[0].reason, "the source does not exist");
}

#[test]
fn neither_output_contains_a_secret_value() {
    let workload = deployment(auto(), json!({}));
    let e = Fixture::new().explain(&workload, &[secret("db", "hunter2-value", "Opaque")]);
    let json = serde_json::to_string(&e).expect("serialisable");
    let text = text(&e);
    for output in [&json, &text] {
        assert!(!output.contains("hunter2"), "{output}");
        assert!(!output.contains("aHVudGVyMi12YWx1ZQ"), "{output}");
    }
    assert!(text.contains("Secret db: WOULD RELOAD"), "{text}");
    assert_eq!(
        e.kind,
        WorkloadRef::new(WorkloadKind::Deployment, NS, "web")
            .kind
            .to_string()
    );
}

#[test]
fn targets_parse_like_kubectl_and_bad_ones_are_refused() {
    assert_eq!(
        fetch::parse_target("deploy/web").expect("valid"),
        (WorkloadKind::Deployment, "web".to_owned())
    );
    assert_eq!(
        fetch::parse_target("StatefulSet/db").expect("valid").0,
        WorkloadKind::StatefulSet
    );
    assert!(fetch::parse_target("web").is_err());
    assert!(fetch::parse_target("pod/web").is_err());
    assert!(fetch::parse_target("deployment/").is_err());
}

/// The label selector is evaluated with one metadata LIST per referenced kind, not per source.
#[tokio::test]
async fn the_resource_label_selector_costs_one_list_per_referenced_kind() {
    use clap::Parser as _;
    use k8s_openapi::api::core::v1::Namespace;
    use kube::Api;
    use kube::api::PostParams;
    use reload_core::{SourceKind, SourceRef};
    use reload_tests::sim::Simulator;

    let sim = Simulator::start().await.expect("simulator starts");
    let client = sim.client().expect("client");
    let object = |name: &str, labelled: bool| {
        json!({"metadata": {"name": name, "namespace": NS,
            "labels": if labelled { json!({"team": "x"}) } else { json!({}) }}})
    };
    Api::<Namespace>::all(client.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": NS}})).expect("ns"),
        )
        .await
        .expect("namespace created");
    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), NS);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
    for (name, labelled) in [("c1", true), ("c2", false), ("c3", true)] {
        let cm: ConfigMap = serde_json::from_value(object(name, labelled)).expect("configmap");
        configmaps
            .create(&PostParams::default(), &cm)
            .await
            .expect("configmap created");
    }
    for (name, labelled) in [("s1", true), ("s2", false)] {
        let secret: Secret = serde_json::from_value(object(name, labelled)).expect("secret");
        secrets
            .create(&PostParams::default(), &secret)
            .await
            .expect("secret created");
    }
    let cli =
        crate::cli::Cli::try_parse_from(["reloader", "--resource-label-selector=team=x"]).expect("valid");
    let settings = crate::cli::settings::resolve(&cli.run, &|_| None).expect("valid settings");
    let referenced: Vec<SourceRef> = ["c1", "c2", "c3"]
        .iter()
        .map(|n| SourceRef::new(SourceKind::ConfigMap, NS, *n))
        .chain(
            ["s1", "s2"]
                .iter()
                .map(|n| SourceRef::new(SourceKind::Secret, NS, *n)),
        )
        .collect();
    sim.reset_stats();
    let (cms, secs) = fetch::label_selected(&client, &settings, NS, &referenced)
        .await
        .expect("lists answer")
        .expect("a selector is set");
    assert_eq!(cms, ["c1".to_owned(), "c3".to_owned()].into_iter().collect());
    assert_eq!(secs, std::iter::once("s1".to_owned()).collect());
    let stats = sim.stats();
    assert_eq!(stats.count("list", "configmaps"), 1);
    assert_eq!(stats.count("list", "secrets"), 1);
    assert_eq!(
        stats.count("get", "configmaps") + stats.count("get", "secrets"),
        0
    );
}

/// A `SecretProviderClass` is explained from its newest pod status (the digest the engine
/// holds), with the class's `ignore` annotation; with no pod status it is reported missing.
#[tokio::test]
async fn a_csi_class_is_digested_from_its_newest_pod_status_and_missing_without_one() {
    use reload_core::hash::Hasher as _;
    use reload_core::source::SourceContent;
    use reload_core::{SourceKind, SourceRef};
    use reload_tests::sim::Simulator;

    let sim = Simulator::start().await.expect("simulator starts");
    let client = sim.client().expect("client");
    let status = |name: &str, version: &str| {
        json!({"apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClassPodStatus",
            "metadata": {"name": name, "namespace": NS},
            "status": {"podName": name, "mounted": true, "secretProviderClassName": "vault-db",
                       "targetPath": "/mnt", "objects": [{"id": "secret/db", "version": version}]}})
    };
    let digest = |version: &str| {
        let objects = [("secret/db".to_owned(), version.to_owned())];
        ReloaderHasher.digest(&SourceContent::SecretProviderClassPodStatus {
            class_name: "vault-db",
            objects: Some(&objects),
        })
    };
    sim.seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}))
        .expect("namespace seeded");
    let class = SourceRef::new(SourceKind::SecretProviderClass, NS, "vault-db");
    let missing = fetch::source(&client, None, &ReloaderHasher, &keep(), class.clone())
        .await
        .expect("lists answer");
    assert!(missing.found.is_none(), "no pod status: missing");

    sim.seed(
        json!({"apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClass",
        "metadata": {"name": "vault-db", "namespace": NS,
                     "annotations": {"reloader.stakater.com/ignore": "true", "other": "x"}},
        "spec": {"provider": "vault"}}),
    )
    .expect("class seeded");
    sim.seed(status("web-0", "v1")).expect("first pod status seeded");
    sim.seed(status("web-1", "v2")).expect("newer pod status seeded");
    let facts = fetch::source(&client, None, &ReloaderHasher, &keep(), class)
        .await
        .expect("lists answer");
    let found = facts.found.expect("the class is found through its pod statuses");
    assert_eq!(
        found.record.digest,
        digest("v2"),
        "the newest pod status's digest"
    );
    assert_ne!(found.record.digest, digest("v1"));
    assert_eq!(
        found
            .record
            .annotations
            .get("reloader.stakater.com/ignore")
            .map(String::as_str),
        Some("true"),
        "the class's kept annotation"
    );
    assert!(
        !found.record.annotations.contains_key("other"),
        "only kept annotations"
    );
}
