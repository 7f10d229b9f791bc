use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::ObjectMeta;

use super::*;

/// A stand-in hasher: the total byte length of the content (enough to tell contents apart).
fn length_hasher(content: &SourceContent<'_>) -> Digest {
    let len: usize = match content {
        SourceContent::ConfigMap { data, binary_data } => {
            data.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
                + binary_data
                    .iter()
                    .map(|(k, v)| k.len() + v.0.len())
                    .sum::<usize>()
        }
        SourceContent::Secret { data } => data.iter().map(|(k, v)| k.len() + v.0.len()).sum(),
        SourceContent::SecretProviderClassPodStatus { class_name, .. } => class_name.len(),
    };
    Digest::new(format!("len-{len}"))
}

fn record(name: &str, digest: &str) -> SourceRecord {
    SourceRecord {
        id: SourceRef::new(SourceKind::ConfigMap, "ns", name),
        uid: Some(format!("uid-{name}")),
        resource_version: Some("1".into()),
        digest: Digest::new(digest),
        annotations: BTreeMap::new(),
        labels: BTreeMap::new(),
    }
}

fn big_secret(name: &str, bytes: usize) -> Secret {
    let mut annotations = BTreeMap::new();
    annotations.insert(
        "kubectl.kubernetes.io/last-applied-configuration".to_owned(),
        "x".repeat(bytes),
    );
    annotations.insert("reloader.stakater.com/match".to_owned(), "true".to_owned());
    Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("ns".into()),
            uid: Some(format!("uid-{name}")),
            resource_version: Some("7".into()),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([(
            "key".to_owned(),
            ByteString(vec![b'z'; bytes]),
        )])),
        ..Secret::default()
    }
}

fn keep() -> Vec<String> {
    vec![
        "reloader.stakater.com/match".to_owned(),
        "reloader.stakater.com/ignore".to_owned(),
    ]
}

#[test]
fn secret_record_keeps_only_the_matcher_annotations_and_the_digest() {
    let hasher = length_hasher;
    let record = SourceRecord::from_secret(&big_secret("s", 1000), &hasher, &keep()).expect("named");
    assert_eq!(record.digest, Digest::new("len-1003"));
    assert_eq!(
        record.annotations.keys().collect::<Vec<_>>(),
        vec!["reloader.stakater.com/match"]
    );
    assert_eq!(record.uid.as_deref(), Some("uid-s"));
}

#[test]
fn store_of_many_large_secrets_holds_only_per_object_overhead() {
    let hasher = length_hasher;
    let mut store = SourceStore::new();
    store.resync_started(0);
    for i in 0..200 {
        let secret = big_secret(&format!("secret-{i}"), 100_000);
        let record = SourceRecord::from_secret(&secret, &hasher, &keep()).expect("named");
        store.resync_item(0, record);
    }
    assert!(store.resync_done(0, 0).is_empty());
    assert_eq!(store.len(), 200);
    // 200 Secrets of 100 kB data + 100 kB last-applied annotation: 40 MB of input; the store
    // keeps well under 300 bytes each.
    assert!(
        store.heap_bytes() < 200 * 300,
        "store holds {} bytes",
        store.heap_bytes()
    );
}

#[test]
fn initial_list_seeds_the_store_without_deltas() {
    let mut store = SourceStore::new();
    store.resync_started(0);
    store.resync_item(0, record("a", "1"));
    store.resync_item(0, record("b", "1"));
    assert!(store.resync_done(0, 10).is_empty());
    assert!(store.is_synced(0));
    assert_eq!(store.len(), 2);
    assert_eq!(store.last_change(&record("a", "1").id), None);
}

#[test]
fn relist_reports_what_the_watch_missed_as_changes() {
    let mut store = SourceStore::new();
    store.resync_started(0);
    store.resync_item(0, record("same", "1"));
    store.resync_item(0, record("changed", "1"));
    store.resync_item(0, record("gone", "1"));
    store.resync_done(0, 10);

    store.resync_started(0);
    store.resync_item(0, record("same", "1"));
    store.resync_item(0, record("changed", "2"));
    store.resync_item(0, record("new", "1"));
    let mut deltas = store.resync_done(0, 20);
    deltas.sort_by_key(|d| format!("{d:?}"));
    assert_eq!(deltas.len(), 3);
    assert!(deltas.contains(&SourceDelta::Updated(record("changed", "2").id)));
    assert!(deltas.contains(&SourceDelta::Created(record("new", "1").id)));
    assert!(deltas.contains(&SourceDelta::Deleted(record("gone", "1"))));
    assert_eq!(
        store.last_change(&record("changed", "2").id),
        Some(&LastChange {
            previous: Some(Digest::new("1")),
            at_ms: 20,
            resource_version: Some("1".into()),
        })
    );
}

#[test]
fn relist_of_one_namespace_watch_leaves_other_watches_alone() {
    let mut store = SourceStore::new();
    store.resync_started(0);
    store.resync_item(0, record("a", "1"));
    store.resync_done(0, 0);
    store.resync_started(1);
    store.resync_item(1, record("b", "1"));
    store.resync_done(1, 0);

    store.resync_started(1);
    assert!(
        store
            .resync_done(1, 5)
            .iter()
            .any(|d| matches!(d, SourceDelta::Deleted(_)))
    );
    assert!(store.get(&record("a", "1").id).is_some());
}

#[test]
fn metadata_only_update_is_unchanged_and_data_update_records_the_previous_digest() {
    let mut store = SourceStore::new();
    store.apply(0, record("a", "1"), 1);
    assert_eq!(
        store.apply(0, record("a", "1"), 2),
        SourceDelta::Unchanged(record("a", "1").id)
    );
    assert_eq!(
        store.apply(0, record("a", "2"), 3),
        SourceDelta::Updated(record("a", "2").id)
    );
    assert_eq!(
        store
            .last_change(&record("a", "2").id)
            .map(|c| c.previous.clone()),
        Some(Some(Digest::new("1")))
    );
}

#[test]
fn recreate_under_a_new_uid_is_a_create() {
    let mut store = SourceStore::new();
    store.apply(0, record("a", "1"), 1);
    let mut recreated = record("a", "1");
    recreated.uid = Some("other".into());
    assert_eq!(
        store.apply(0, recreated, 2),
        SourceDelta::Created(record("a", "1").id)
    );
}

#[test]
fn sources_of_one_namespace_and_kind_are_a_range() {
    let mut store = SourceStore::new();
    store.apply(0, record("a", "1"), 1);
    store.apply(0, record("b", "1"), 1);
    let mut other = record("c", "1");
    other.id.namespace = "other".into();
    store.apply(0, other, 1);
    let mut secret = record("d", "1");
    secret.id.kind = SourceKind::Secret;
    store.apply(0, secret, 1);
    let names: Vec<&str> = store
        .in_namespace(SourceKind::ConfigMap, "ns")
        .map(|r| r.id.name.as_str())
        .collect();
    assert_eq!(names, vec!["a", "b"]);
}

#[test]
fn a_first_list_in_any_order_is_merged_beside_other_watches_and_the_last_copy_of_a_source_wins() {
    let mut store = SourceStore::new();
    store.resync_started(0);
    store.resync_item(0, record("m", "watch-0"));
    assert!(store.resync_done(0, 0).is_empty());
    store.resync_started(1);
    for (name, digest) in [("z", "1"), ("a", "1"), ("k", "old"), ("k", "new")] {
        let mut r = record(name, digest);
        r.id = SourceRef::new(SourceKind::Secret, "ns", name);
        store.resync_item(1, r);
    }
    assert!(store.resync_done(1, 0).is_empty());
    assert_eq!(store.len(), 4);
    let secrets: Vec<&str> = store
        .in_namespace(SourceKind::Secret, "ns")
        .map(|r| r.id.name.as_str())
        .collect();
    assert_eq!(secrets, vec!["a", "k", "z"]);
    let k = SourceRef::new(SourceKind::Secret, "ns", "k");
    assert_eq!(store.get(&k).map(|r| r.digest.as_str()), Some("new"));
    assert_eq!(
        store
            .get(&SourceRef::new(SourceKind::ConfigMap, "ns", "m"))
            .map(|r| r.digest.as_str()),
        Some("watch-0")
    );
}
