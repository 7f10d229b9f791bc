//! The matcher against a separately written reference model of Reloader's rules.
//!
//! The model is a direct transcription of Go's `ShouldReload` and `getContainerUsingResource`
//! (index loops, literal keys, a fresh `Regex` per entry, no cache), so a shared mistake would
//! have to be made twice in two different styles.

use std::collections::BTreeMap;

use proptest::prelude::*;
use regex::Regex;

use super::*;
use crate::decision::MatchProblem;
use crate::workload::PodTemplate;

const SPC_AUTO: &str = "secretproviderclass.reloader.stakater.com/auto";
const SPC_RELOAD: &str = "secretproviderclass.reloader.stakater.com/reload";
const SPC_EXCLUDE: &str = "secretproviderclasses.exclude.reloader.stakater.com/reload";

struct ModelConfig {
    auto_reload_all: bool,
    ignored: Vec<WorkloadKind>,
}

/// Go's `getContainerUsingResource`, returning a container index (`None` = no container).
fn model_container(t: &PodTemplate, kind: SourceKind, name: &str, auto_reload: bool) -> Option<usize> {
    let mut volume_name = "";
    'volumes: for v in &t.volumes {
        let hit = match (&v.source, kind) {
            (VolumeSource::ConfigMap(n), SourceKind::ConfigMap)
            | (VolumeSource::Secret(n), SourceKind::Secret)
            | (VolumeSource::Csi(n), SourceKind::SecretProviderClass) => n == name,
            (VolumeSource::Projected(sources), _) => {
                let mut hit = false;
                for s in sources {
                    if s.kind == kind && s.name == name {
                        hit = true;
                    }
                }
                hit
            }
            _ => false,
        };
        if hit {
            volume_name = &v.name;
            break 'volumes;
        }
    }
    let first = if t.containers.is_empty() { None } else { Some(0) };
    if !volume_name.is_empty() {
        for (i, c) in t.containers.iter().enumerate() {
            if c.volume_mounts.iter().any(|m| m == volume_name) {
                return Some(i);
            }
        }
        for c in &t.init_containers {
            if c.volume_mounts.iter().any(|m| m == volume_name) {
                return first;
            }
        }
    }
    let env_ref = |c: &Container| {
        kind != SourceKind::SecretProviderClass
            && (c.env.iter().any(|e| {
                e.value_from
                    .as_ref()
                    .is_some_and(|s| s.kind == kind && s.name == name)
            }) || c.env_from.iter().any(|s| s.kind == kind && s.name == name))
    };
    for (i, c) in t.containers.iter().enumerate() {
        if env_ref(c) {
            return Some(i);
        }
    }
    for c in &t.init_containers {
        if env_ref(c) {
            return first;
        }
    }
    if auto_reload { None } else { first }
}

/// Go's `ShouldReload` plus the container step; returns the decision and the invalid entries.
fn model(config: &ModelConfig, w: &Workload, s: &SourceMeta) -> (Decision, Vec<String>) {
    let done = |reason| (Decision::Skip(reason), Vec::new());
    let Some(id) = &s.id else {
        return done(SkipReason::OtherNamespace);
    };
    if id.namespace != w.id.namespace {
        return done(SkipReason::OtherNamespace);
    }
    if config.ignored.contains(&w.id.kind) {
        return done(SkipReason::IgnoredWorkloadKind);
    }
    if s.annotations.get(IGNORE).map(String::as_str) == Some("true") {
        return done(SkipReason::SourceIgnored);
    }
    let (reload_key, typed_key, exclude_key) = match id.kind {
        SourceKind::ConfigMap => (CM_RELOAD, CM_AUTO, CM_EXCLUDE),
        SourceKind::Secret => (SECRET_RELOAD, SECRET_AUTO, SECRET_EXCLUDE),
        SourceKind::SecretProviderClass => (SPC_RELOAD, SPC_AUTO, SPC_EXCLUDE),
    };
    let meta = &w.annotations;
    let found = meta.contains_key(reload_key)
        || meta.contains_key(AUTO)
        || meta.contains_key(typed_key)
        || meta.contains_key(SEARCH);
    let annotations = if found { meta } else { &w.template.annotations };
    let get = |key: &str| annotations.get(key).cloned().unwrap_or_default();
    let (reload_value, search, auto, typed) = (get(reload_key), get(SEARCH), get(AUTO), get(typed_key));

    if let Some(excluded) = meta.get(exclude_key)
        && !excluded.is_empty()
        && excluded.split(',').any(|e| e.trim() == id.name)
    {
        return done(SkipReason::Excluded);
    }

    let mut invalid = Vec::new();
    let mut rule: Option<(ReloadReason, bool)> = None;
    for value in reload_value.split(',') {
        let value = value.trim();
        match Regex::new(&format!("^{value}$")) {
            Err(_) => invalid.push(value.to_string()),
            Ok(re) => {
                if rule.is_none() && re.is_match(&id.name) {
                    rule = Some((
                        ReloadReason::Named {
                            pattern: value.to_string(),
                        },
                        false,
                    ));
                }
            }
        }
    }
    let go_true = |v: &str| ["1", "t", "T", "TRUE", "true", "True"].contains(&v);
    if rule.is_none() && search == "true" && s.annotations.get(MATCH).map(String::as_str) == Some("true") {
        rule = Some((ReloadReason::SearchMatch, true));
    }
    if rule.is_none() {
        if go_true(&auto) {
            rule = Some((ReloadReason::AutoAnnotation, true));
        } else if go_true(&typed) {
            rule = Some((ReloadReason::TypedAutoAnnotation, true));
        } else if auto.is_empty() && typed.is_empty() && config.auto_reload_all {
            rule = Some((ReloadReason::AutoReloadAll, true));
        }
    }
    let Some((reason, auto_reload)) = rule else {
        return (Decision::Skip(SkipReason::NotOptedIn), invalid);
    };
    let decision = match model_container(&w.template, id.kind, &id.name, auto_reload) {
        Some(i) => Decision::Reload {
            reason,
            container: w.template.containers[i].name.clone(),
        },
        None => {
            // Tell "no container at all" from "nothing references it", as the matcher does.
            if !auto_reload || model_reference(&w.template, id.kind, &id.name) {
                Decision::Skip(SkipReason::NoContainer)
            } else {
                Decision::Skip(SkipReason::NotReferenced)
            }
        }
    };
    (decision, invalid)
}

/// Whether a volume (mounted by someone) or env reference leads to the source at all, even
/// when there is no regular container to write to.
fn model_reference(t: &PodTemplate, kind: SourceKind, name: &str) -> bool {
    let mut with_regular = t.clone();
    with_regular.containers.push(Container {
        name: "__probe".into(),
        ..Container::default()
    });
    model_container(&with_regular, kind, name, true).is_some()
}

const NAMES: [&str; 4] = ["cfg", "db", "app-config", "vault"];

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(NAMES.to_vec()).prop_map(String::from)
}

fn kind() -> impl Strategy<Value = SourceKind> {
    prop::sample::select(SourceKind::ALL.to_vec())
}

fn annotations() -> impl Strategy<Value = BTreeMap<String, String>> {
    let keys = [
        AUTO,
        CM_AUTO,
        SECRET_AUTO,
        SPC_AUTO,
        CM_RELOAD,
        SECRET_RELOAD,
        SPC_RELOAD,
        SEARCH,
        CM_EXCLUDE,
        SECRET_EXCLUDE,
        SPC_EXCLUDE,
    ];
    let values = prop::sample::select(vec![
        "true",
        "false",
        "True",
        "1",
        "yes",
        "",
        "cfg",
        "db, cfg",
        "app-.*",
        "bad[,db",
        "foo|cfg",
        ".*",
        " vault ",
        "(",
        "app-config,vault",
    ]);
    prop::collection::btree_map(prop::sample::select(keys.to_vec()), values, 0..4).prop_map(|m| {
        m.into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    })
}

fn named_source() -> impl Strategy<Value = NamedSource> {
    (
        prop::sample::select(vec![SourceKind::ConfigMap, SourceKind::Secret]),
        name(),
    )
        .prop_map(|(kind, name)| NamedSource::new(kind, name))
}

fn volume_source() -> impl Strategy<Value = VolumeSource> {
    prop_oneof![
        name().prop_map(VolumeSource::ConfigMap),
        name().prop_map(VolumeSource::Secret),
        name().prop_map(VolumeSource::Csi),
        prop::collection::vec(named_source(), 0..3).prop_map(VolumeSource::Projected),
        Just(VolumeSource::Other),
    ]
}

fn containers(prefix: &'static str, max: usize) -> impl Strategy<Value = Vec<Container>> {
    let container = (
        prop::option::of(named_source()),
        prop::collection::vec(named_source(), 0..2),
        prop::collection::vec(prop::sample::select(vec!["v0", "v1", "v2"]), 0..2),
    );
    prop::collection::vec(container, 0..=max).prop_map(move |cs| {
        cs.into_iter()
            .enumerate()
            .map(|(i, (value_from, env_from, mounts))| Container {
                name: format!("{prefix}{i}"),
                env: value_from
                    .map(|source| EnvVar {
                        name: "X".into(),
                        value: None,
                        value_from: Some(source),
                    })
                    .into_iter()
                    .collect(),
                env_from,
                volume_mounts: mounts.into_iter().map(String::from).collect(),
            })
            .collect()
    })
}

fn template() -> impl Strategy<Value = PodTemplate> {
    (
        annotations(),
        containers("c", 3),
        containers("i", 2),
        prop::collection::vec(volume_source(), 0..3),
    )
        .prop_map(
            |(annotations, containers, init_containers, sources)| PodTemplate {
                annotations,
                containers,
                init_containers,
                volumes: sources
                    .into_iter()
                    .enumerate()
                    .map(|(i, source)| Volume {
                        name: format!("v{i}"),
                        source,
                    })
                    .collect(),
            },
        )
}

fn workload() -> impl Strategy<Value = Workload> {
    (
        prop::sample::select(vec![
            WorkloadKind::Deployment,
            WorkloadKind::Job,
            WorkloadKind::CronJob,
        ]),
        annotations(),
        template(),
    )
        .prop_map(|(kind, annotations, template)| Workload {
            id: WorkloadRef::new(kind, "default", "web"),
            annotations,
            template,
        })
}

fn source_meta() -> impl Strategy<Value = SourceMeta> {
    (
        kind(),
        name(),
        prop::sample::select(vec!["default", "default", "default", "other"]),
        prop::option::of(prop::sample::select(vec!["true", "True"])),
        prop::option::of(prop::sample::select(vec!["true", "false"])),
    )
        .prop_map(|(kind, name, namespace, ignore, matched)| {
            let mut meta = SourceMeta::new(SourceRef::new(kind, namespace, name));
            if let Some(v) = ignore {
                meta = meta.with_annotation(IGNORE, v);
            }
            if let Some(v) = matched {
                meta = meta.with_annotation(MATCH, v);
            }
            meta
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn annotation_matcher_agrees_with_the_reference_model(
        workload in workload(),
        source in source_meta(),
        auto_reload_all in any::<bool>(),
        ignored in prop::sample::subsequence(vec![WorkloadKind::Job, WorkloadKind::CronJob], 0..=2),
    ) {
        let config = MatcherConfig::default()
            .auto_reload_all(auto_reload_all)
            .ignored_workload_kinds(ignored.clone());
        let outcome = AnnotationMatcher::new(config).decide(&workload, &source);
        let (expected, invalid) = model(&ModelConfig { auto_reload_all, ignored }, &workload, &source);
        prop_assert_eq!(&outcome.decision, &expected);
        let reported: Vec<String> = outcome
            .problems
            .iter()
            .filter_map(|p| match p {
                MatchProblem::InvalidRegex { entry, .. } => Some(entry.clone()),
                _ => None,
            })
            .collect();
        prop_assert_eq!(reported, invalid);
    }

    #[test]
    fn unrelated_annotations_never_change_the_decision(
        workload in workload(),
        source in source_meta(),
        key in "[a-z]{1,8}\\.example\\.com/[a-z]{1,8}",
        value in any::<String>(),
    ) {
        let matcher = AnnotationMatcher::default();
        let before = matcher.decide(&workload, &source);
        let mut touched = workload.clone();
        touched.annotations.insert(key.clone(), value.clone());
        touched.template.annotations.insert(key, value);
        prop_assert_eq!(matcher.decide(&touched, &source), before);
    }
}
