//! proptest generators for workloads, sources and changes.
//!
//! Names come from a tiny pool so that the interesting coincidences happen often: sources
//! whose env var names collide (`a.b` and `a-b`), changes that replay a digest the workload
//! already records, `STAKATER_*` variables and `last-reloaded-from` annotations left by
//! Reloader, and unparsable trigger state.

use std::collections::BTreeMap;

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::json;

use crate::hash::Digest;
use crate::plan::{Change, ChangeKind};
use crate::source::{SourceKind, SourceRef};
use crate::trigger::{self, TRIGGER_ANNOTATION, TriggerState};
use crate::workload::{
    Container, EnvVar, NamedSource, PodTemplate, Volume, VolumeSource, Workload, WorkloadKind, WorkloadRef,
};

/// The namespace of every generated workload and source.
pub const NAMESPACE: &str = "default";

/// Reloader's `last-reloaded-from` pod-template annotation, as the generators write it.
const LAST_RELOADED_FROM: &str = "reloader.stakater.com/last-reloaded-from";

/// A few fixed digests, so that generated changes often replay a recorded digest.
const DIGEST_POOL: [&str; 3] = [
    "2834cb2f26ce41acf3a5c4c63b1815df75bae06e",
    "3c9a892aeaedc759abc3df9884a37b8be5680382",
    "b3cefbcce711f8574b0e66c41fc1dcf06eb5b6db",
];

/// Source names, few enough that changes often hit recorded sources; `a-b`, `a.b` and `a--b`
/// share one env var name.
const SOURCE_NAMES: [&str; 5] = ["a", "b", "a-b", "a.b", "a--b"];

/// A source name from a small pool in which env var names collide (`a-b`, `a.b`, `a--b`).
pub fn source_name() -> impl Strategy<Value = String> {
    select(SOURCE_NAMES.to_vec()).prop_map(str::to_owned)
}

/// Any source kind.
pub fn source_kind() -> impl Strategy<Value = SourceKind> {
    select(SourceKind::ALL.to_vec())
}

/// A ConfigMap or Secret reference (the kinds env `valueFrom`/`envFrom` can name).
pub fn env_source() -> impl Strategy<Value = NamedSource> {
    (
        select(vec![SourceKind::ConfigMap, SourceKind::Secret]),
        source_name(),
    )
        .prop_map(|(kind, name)| NamedSource::new(kind, name))
}

/// A source of any kind in [`NAMESPACE`].
pub fn source_ref() -> impl Strategy<Value = SourceRef> {
    (source_kind(), source_name()).prop_map(|(kind, name)| SourceRef::new(kind, NAMESPACE, name))
}

/// A digest: often one of three fixed values, otherwise 40 random hex digits.
pub fn digest() -> impl Strategy<Value = Digest> {
    prop_oneof![
        select(DIGEST_POOL.to_vec()).prop_map(Digest::new),
        "[0-9a-f]{40}".prop_map(Digest::new),
    ]
}

/// A digest from the small fixed pool only (for histories where replays must be frequent).
pub fn pooled_digest() -> impl Strategy<Value = Digest> {
    select(DIGEST_POOL.to_vec()).prop_map(Digest::new)
}

/// An env entry: a plain literal, a `valueFrom` reference, or (when `recorded`) a
/// `STAKATER_*` variable as Reloader writes them.
fn env_var(recorded: bool) -> BoxedStrategy<EnvVar> {
    let literal = ("[A-Z]{1,3}", option::of("[a-z0-9]{0,4}")).prop_map(|(name, value)| EnvVar {
        name,
        value,
        value_from: None,
    });
    let reference = ("[A-Z]{1,3}", env_source()).prop_map(|(name, source)| EnvVar {
        name,
        value: None,
        value_from: Some(source),
    });
    if !recorded {
        return prop_oneof![literal, reference].boxed();
    }
    let stakater = (
        "STAKATER_(A|B|A_B)_(CONFIGMAP|SECRET|SECRETPROVIDERCLASS)",
        option::of(digest().prop_map(|d| d.as_str().to_owned())),
    )
        .prop_map(|(name, value)| EnvVar {
            name,
            value,
            value_from: None,
        });
    prop_oneof![literal, reference, stakater].boxed()
}

/// A container named `name`.
fn container(name: String, recorded: bool) -> impl Strategy<Value = Container> {
    (
        vec(env_var(recorded), 0..4),
        vec(env_source(), 0..2),
        vec(select(vec!["v0", "v1", "v2"]), 0..3),
    )
        .prop_map(move |(env, env_from, mounts)| Container {
            name: name.clone(),
            env,
            env_from,
            volume_mounts: mounts.into_iter().map(str::to_owned).collect(),
        })
}

/// A volume backed by a ConfigMap, Secret, projected sources, CSI or something else.
fn volume_source() -> impl Strategy<Value = VolumeSource> {
    prop_oneof![
        source_name().prop_map(VolumeSource::ConfigMap),
        source_name().prop_map(VolumeSource::Secret),
        vec(env_source(), 1..3).prop_map(VolumeSource::Projected),
        source_name().prop_map(VolumeSource::Csi),
        Just(VolumeSource::Other),
    ]
}

/// A pod-template annotation: an unrelated one, or (when `recorded`) our trigger state (valid
/// or garbage) or a Reloader `last-reloaded-from`.
fn template_annotation(recorded: bool) -> BoxedStrategy<(String, String)> {
    let unrelated = ("[a-z]{1,4}(/[a-z]{1,3})?", "[a-z0-9]{0,4}");
    if !recorded {
        return unrelated.boxed();
    }
    let state = vec((source_kind(), source_name(), digest()), 0..3).prop_map(|entries| {
        let mut state = TriggerState::new();
        for (kind, name, digest) in entries {
            state.insert(kind, &name, digest);
        }
        (TRIGGER_ANNOTATION.to_owned(), trigger::render(&state))
    });
    let garbage = "[{a-z\"]{0,4}".prop_map(|value| (TRIGGER_ANNOTATION.to_owned(), value));
    let last_reloaded_from = (source_kind(), source_name(), digest()).prop_map(|(kind, name, digest)| {
        let value = json!({
            "type": kind.reloader_type(), "name": name, "namespace": NAMESPACE,
            "hash": digest.as_str(), "containerRefs": ["c0"], "observedAt": 1_714_557_600,
        });
        (LAST_RELOADED_FROM.to_owned(), value.to_string())
    });
    prop_oneof![unrelated, state, garbage, last_reloaded_from].boxed()
}

/// A workload with 1–3 regular containers (`c0`, `c1`, ...), up to one init container, up to
/// three volumes (`v0`, ...), references of every kind, and recorded trigger state of every
/// convention (ours, Reloader's env vars and `last-reloaded-from`, and unparsable state).
pub fn workload() -> BoxedStrategy<Workload> {
    workload_with(true)
}

/// Like [`workload`], but with no recorded trigger state of any convention: no `STAKATER_*`
/// variables, no `last-reloaded-from`, no `reloader.rs/digests`. Every strategy must see such a
/// workload the same way (nothing recorded).
pub fn fresh_workload() -> BoxedStrategy<Workload> {
    workload_with(false)
}

fn workload_with(recorded: bool) -> BoxedStrategy<Workload> {
    let kind = select(vec![
        WorkloadKind::Deployment,
        WorkloadKind::DaemonSet,
        WorkloadKind::StatefulSet,
        WorkloadKind::CronJob,
        WorkloadKind::Job,
    ]);
    let containers = (1usize..=3).prop_flat_map(move |count| {
        (0..count)
            .map(|i| container(format!("c{i}"), recorded))
            .collect::<Vec<_>>()
    });
    let init_containers = (0usize..=1).prop_flat_map(move |count| {
        (0..count)
            .map(|i| container(format!("i{i}"), recorded))
            .collect::<Vec<_>>()
    });
    let volumes = vec(volume_source(), 0..=3).prop_map(|sources| {
        sources
            .into_iter()
            .enumerate()
            .map(|(i, source)| Volume {
                name: format!("v{i}"),
                source,
            })
            .collect::<Vec<_>>()
    });
    let annotations = vec(template_annotation(recorded), 0..4).prop_map(BTreeMap::from_iter);
    let own_annotations = vec(("[a-z]{1,4}", "[a-z]{0,3}"), 0..2).prop_map(BTreeMap::from_iter);
    (
        kind,
        "[a-z]{1,6}",
        own_annotations,
        annotations,
        containers,
        init_containers,
        volumes,
    )
        .prop_map(
            |(kind, name, own_annotations, annotations, containers, init_containers, volumes)| {
                let mut workload = Workload::new(WorkloadRef::new(kind, NAMESPACE, name));
                workload.annotations = own_annotations;
                workload.template = PodTemplate {
                    annotations,
                    containers,
                    init_containers,
                    volumes,
                };
                workload
            },
        )
        .boxed()
}

/// A source the workload references (when it has any) or any other source: named-regex
/// reloads concern unreferenced sources too.
pub fn source_for(workload: &Workload) -> BoxedStrategy<SourceRef> {
    let referenced: Vec<SourceRef> = workload
        .template
        .references()
        .into_iter()
        .map(|source| SourceRef::new(source.kind, &workload.id.namespace, source.name))
        .collect();
    if referenced.is_empty() {
        source_ref().boxed()
    } else {
        prop_oneof![select(referenced), source_ref()].boxed()
    }
}

/// A regular container name of `workload` (`c0` when it has none).
pub fn container_of(workload: &Workload) -> BoxedStrategy<String> {
    let names: Vec<String> = workload
        .template
        .containers
        .iter()
        .map(|c| c.name.clone())
        .collect();
    if names.is_empty() {
        Just(String::from("c0")).boxed()
    } else {
        select(names).boxed()
    }
}

/// An update (or create) of a source of `workload` (see [`source_for`]), involving any of its
/// regular containers.
pub fn update_for(workload: &Workload) -> BoxedStrategy<Change> {
    (
        source_for(workload),
        digest(),
        select(vec![ChangeKind::Updated, ChangeKind::Created]),
        container_of(workload),
        0i64..4_000_000_000,
    )
        .prop_map(|(source, digest, kind, container, observed_at)| Change {
            source,
            digest,
            kind,
            container,
            observed_at,
        })
        .boxed()
}

/// A delete of a source of `workload`, involving any of its regular containers.
pub fn delete_for(workload: &Workload) -> BoxedStrategy<Change> {
    update_for(workload)
        .prop_map(|change| Change {
            kind: ChangeKind::Deleted,
            ..change
        })
        .boxed()
}

/// The container Reloader would choose for `source` (`reloader-spec.md` §5.3, as far as the
/// compact model allows): the first regular container mounting the first volume backed by the
/// source, else the first regular container referencing it from env, else the first container.
pub fn chosen_container(workload: &Workload, source: &SourceRef) -> Option<String> {
    let template = &workload.template;
    let named = |candidate: &NamedSource| candidate.kind == source.kind && candidate.name == source.name;
    let volume = template.volumes.iter().find(|volume| match &volume.source {
        VolumeSource::ConfigMap(name) => source.kind == SourceKind::ConfigMap && *name == source.name,
        VolumeSource::Secret(name) => source.kind == SourceKind::Secret && *name == source.name,
        VolumeSource::Csi(name) => source.kind == SourceKind::SecretProviderClass && *name == source.name,
        VolumeSource::Projected(sources) => sources.iter().any(named),
        VolumeSource::Other => false,
    });
    let mounting = volume.and_then(|volume| {
        template
            .containers
            .iter()
            .find(|c| c.volume_mounts.contains(&volume.name))
    });
    let referencing = || {
        template.containers.iter().find(|c| {
            c.env.iter().any(|e| e.value_from.as_ref().is_some_and(named)) || c.env_from.iter().any(named)
        })
    };
    mounting
        .or_else(referencing)
        .or(template.containers.first())
        .map(|c| c.name.clone())
}

/// A change whose container is the one Reloader would choose (see [`chosen_container`]), with
/// a digest from a small pool; `Updated`, `Created` or (when `deletes`) `Deleted`.
pub fn consistent_change_for(workload: &Workload, deletes: bool) -> BoxedStrategy<Change> {
    let kinds = if deletes {
        vec![ChangeKind::Updated, ChangeKind::Created, ChangeKind::Deleted]
    } else {
        vec![ChangeKind::Updated, ChangeKind::Created]
    };
    let workload = workload.clone();
    (
        source_for(&workload),
        pooled_digest(),
        select(kinds),
        0i64..4_000_000_000,
    )
        .prop_map(move |(source, digest, kind, observed_at)| Change {
            container: chosen_container(&workload, &source).unwrap_or_default(),
            source,
            digest,
            kind,
            observed_at,
        })
        .boxed()
}
