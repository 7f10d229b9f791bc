//! Unit and property tests of the hashers and the content constructors.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use proptest::prelude::*;

use super::*;
use crate::source::SecretProviderClassPodStatus;

fn strings(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
    entries
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

fn bytes(entries: &[(&str, &[u8])]) -> BTreeMap<String, ByteString> {
    entries
        .iter()
        .map(|(k, v)| ((*k).to_string(), ByteString(v.to_vec())))
        .collect()
}

fn config_map_digest(hasher: &dyn Hasher, data: &[(&str, &str)], binary: &[(&str, &[u8])]) -> String {
    let (data, binary_data) = (strings(data), bytes(binary));
    hasher
        .digest(&SourceContent::ConfigMap {
            data: &data,
            binary_data: &binary_data,
        })
        .as_str()
        .to_string()
}

fn secret_digest(hasher: &dyn Hasher, data: &[(&str, &[u8])]) -> String {
    let data = bytes(data);
    hasher
        .digest(&SourceContent::Secret { data: &data })
        .as_str()
        .to_string()
}

fn keyed() -> KeyedHasher {
    KeyedHasher::new(b"a test key of reasonable length!").expect("non-empty key")
}

// --- §4 test vectors, one test each -------------------------------------------------------

#[test]
fn raw_string_vector_matches_upstream_sha_test() {
    assert_eq!(
        ReloaderHasher::digest_bytes(b"www.stakater.com").as_str(),
        "abd4ed82fb04548388a6cf3c339fd9dc84d275df"
    );
}

#[test]
fn raw_empty_string_vector_matches_upstream_sha_test() {
    assert_eq!(
        ReloaderHasher::digest_bytes(b"").as_str(),
        "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    );
}

#[test]
fn empty_config_map_and_empty_secret_hash_to_sha1_of_nothing() {
    assert_eq!(
        config_map_digest(&ReloaderHasher, &[], &[]),
        "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    );
    assert_eq!(
        secret_digest(&ReloaderHasher, &[]),
        "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    );
}

#[test]
fn config_map_with_google_url_matches_vector() {
    assert_eq!(
        config_map_digest(&ReloaderHasher, &[("test.url", "www.google.com")], &[]),
        "2834cb2f26ce41acf3a5c4c63b1815df75bae06e"
    );
}

#[test]
fn config_map_with_stakater_url_matches_vector() {
    assert_eq!(
        config_map_digest(&ReloaderHasher, &[("test.url", "www.stakater.com")], &[]),
        "3c9a892aeaedc759abc3df9884a37b8be5680382"
    );
}

#[test]
fn config_map_with_test_entry_matches_vector() {
    assert_eq!(
        config_map_digest(&ReloaderHasher, &[("test", "test")], &[]),
        "b3cefbcce711f8574b0e66c41fc1dcf06eb5b6db"
    );
}

#[test]
fn config_map_data_and_binary_data_sort_into_one_list() {
    let data = strings(&[("test", "test")]);
    let binary_data = bytes(&[("bintest", b"test")]);
    let content = SourceContent::ConfigMap {
        data: &data,
        binary_data: &binary_data,
    };
    assert_eq!(ReloaderHasher::serialise(&content), b"bintest=dGVzdA==;test=test");
    assert_eq!(
        ReloaderHasher.digest(&content).as_str(),
        "0d58150de76a895b24f4ca213f590766160c4349"
    );
}

#[test]
fn config_map_binary_data_alone_is_hashed_as_base64() {
    assert_eq!(
        config_map_digest(&ReloaderHasher, &[], &[("bintest", b"test")]),
        "f327fede9d5cda17ab984fabce9eddeee1611a84"
    );
}

#[test]
fn config_map_entries_sort_bytewise_as_whole_strings() {
    let data = strings(&[("b", "2"), ("a", "1"), ("a.b", "x"), ("A", "up")]);
    let binary_data = BTreeMap::new();
    let content = SourceContent::ConfigMap {
        data: &data,
        binary_data: &binary_data,
    };
    assert_eq!(ReloaderHasher::serialise(&content), b"A=up;a.b=x;a=1;b=2");
    assert_eq!(
        ReloaderHasher.digest(&content).as_str(),
        "28999e00d0a5bc9f06dd040c1bb59f5cc600806c"
    );
}

#[test]
fn secret_is_hashed_from_decoded_bytes() {
    assert_eq!(
        secret_digest(
            &ReloaderHasher,
            &[("username", b"admin"), ("password", b"s3cr3t")]
        ),
        "c6cceb2f1c84498af4f4cda76071f8bc2afd425b"
    );
}

#[test]
fn secret_bytes_that_are_not_utf8_are_hashed_raw() {
    assert_eq!(
        secret_digest(&ReloaderHasher, &[("key", &[0xff, 0xfe])]),
        "308df62b23fa31ea7473ca4fd138280271f8675d"
    );
}

#[test]
fn pod_status_hash_includes_objects_and_class_name() {
    let objects = vec![("parameter1".to_string(), "v1".to_string())];
    let content = SourceContent::SecretProviderClassPodStatus {
        class_name: "my-spc",
        objects: Some(&objects),
    };
    assert_eq!(
        ReloaderHasher::serialise(&content),
        b"SecretProviderClassName=my-spc;parameter1=v1"
    );
    assert_eq!(
        ReloaderHasher.digest(&content).as_str(),
        "eaf5523e4ff6005490a1bf250d6efdcf9b1b9b9c"
    );
}

#[test]
fn delete_marker_digest_matches_vector() {
    assert_eq!(
        delete_marker_digest().as_str(),
        "aae45badef99284e4dae01d6046154ea9d99532f"
    );
}

// --- CSI absent objects ------------------------------------------------------------------

#[test]
fn pod_status_without_objects_hashes_like_an_empty_list_for_the_new_object() {
    let empty: Vec<(String, String)> = Vec::new();
    let absent = SourceContent::SecretProviderClassPodStatus {
        class_name: "my-spc",
        objects: None,
    };
    let explicit = SourceContent::SecretProviderClassPodStatus {
        class_name: "my-spc",
        objects: Some(&empty),
    };
    assert_eq!(ReloaderHasher.digest(&absent), ReloaderHasher.digest(&explicit));
    assert_eq!(
        ReloaderHasher.digest(&absent),
        ReloaderHasher::digest_bytes(b"SecretProviderClassName=my-spc")
    );
}

#[test]
fn previous_digest_of_pod_status_without_objects_is_empty_so_the_update_counts_as_a_change() {
    let empty: Vec<(String, String)> = Vec::new();
    let absent = SourceContent::SecretProviderClassPodStatus {
        class_name: "my-spc",
        objects: None,
    };
    let explicit = SourceContent::SecretProviderClassPodStatus {
        class_name: "my-spc",
        objects: Some(&empty),
    };
    assert_eq!(ReloaderHasher.previous_digest(&absent).as_str(), "");
    assert_eq!(
        ReloaderHasher.previous_digest(&explicit),
        ReloaderHasher.digest(&explicit)
    );
}

// --- the documented collision -------------------------------------------------------------

#[test]
fn reloader_hasher_collides_on_embedded_separators_but_keyed_hasher_does_not() {
    let one = [("a", "b;c=d")];
    let two = [("a", "b"), ("c", "d")];
    assert_eq!(
        config_map_digest(&ReloaderHasher, &one, &[]),
        config_map_digest(&ReloaderHasher, &two, &[]),
        "Reloader's k=v;k=v serialisation is ambiguous (kept for compatibility)"
    );
    assert_ne!(
        config_map_digest(&keyed(), &one, &[]),
        config_map_digest(&keyed(), &two, &[])
    );
}

// --- keyed hasher -------------------------------------------------------------------------

#[test]
fn keyed_digest_is_prefixed_hex_and_stable_for_a_key() {
    let first = config_map_digest(&keyed(), &[("a", "b")], &[]);
    let second = config_map_digest(&keyed(), &[("a", "b")], &[]);
    assert_eq!(first, second);
    let hex = first.strip_prefix(KEYED_DIGEST_PREFIX).expect("prefixed");
    assert_eq!(hex.len(), 64);
    assert!(
        hex.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
}

#[test]
fn keyed_digest_depends_on_the_key() {
    let other = KeyedHasher::new(b"another key").expect("non-empty key");
    assert_ne!(
        config_map_digest(&keyed(), &[("a", "b")], &[]),
        config_map_digest(&other, &[("a", "b")], &[])
    );
}

#[test]
fn keyed_hasher_rejects_an_empty_key() {
    assert!(matches!(KeyedHasher::new(b""), Err(crate::Error::DigestKey(_))));
}

#[test]
fn keyed_hasher_debug_output_does_not_show_the_key() {
    let shown = format!(
        "{:?}",
        KeyedHasher::new(b"hunter2-secret-key").expect("non-empty key")
    );
    assert!(!shown.contains("hunter2"));
    assert!(shown.contains("redacted"));
}

#[test]
fn keyed_digest_tells_data_from_binary_data_and_secrets() {
    let as_data = config_map_digest(&keyed(), &[("k", "v")], &[]);
    let as_binary = config_map_digest(&keyed(), &[], &[("k", b"v")]);
    let as_secret = secret_digest(&keyed(), &[("k", b"v")]);
    assert_ne!(as_data, as_binary);
    assert_ne!(as_data, as_secret);
    assert_ne!(as_binary, as_secret);
}

#[test]
fn keyed_digest_of_pod_status_ignores_object_order() {
    let forward = vec![
        ("a".to_string(), "1".to_string()),
        ("b".to_string(), "2".to_string()),
    ];
    let backward: Vec<_> = forward.iter().rev().cloned().collect();
    let digest = |objects: &[(String, String)]| {
        keyed().digest(&SourceContent::SecretProviderClassPodStatus {
            class_name: "spc",
            objects: Some(objects),
        })
    };
    assert_eq!(digest(&forward), digest(&backward));
}

/// Pins the keyed encoding: the values were computed independently (Python `hmac` over the
/// documented length-prefixed encoding). A change here changes every keyed digest and rolls
/// every workload managed in keyed mode, so it must never happen by accident.
#[test]
fn keyed_digests_are_pinned_by_golden_values() {
    let hasher = KeyedHasher::new(b"golden-key").expect("non-empty key");
    assert_eq!(
        config_map_digest(&hasher, &[("x", "1"), ("a", "b;c=d")], &[("bin", &[0x00, 0xff])]),
        "hmac-sha256:3faf8e3efd5feb79aa12def9ed4fcfa393a7a8c30324e25f1f127b86d9377e09"
    );
    assert_eq!(
        secret_digest(&hasher, &[("password", b"s3cr3t")]),
        "hmac-sha256:5b9bc9457cd6c44c7ce367d80ce6355054c08d876537e6d607fe1f400ebd4425"
    );
    let objects = vec![
        ("b".to_string(), "v1".to_string()),
        ("a".to_string(), "v2".to_string()),
    ];
    assert_eq!(
        hasher
            .digest(&SourceContent::SecretProviderClassPodStatus {
                class_name: "my-spc",
                objects: Some(&objects),
            })
            .as_str(),
        "hmac-sha256:6e3382e1880ac902d81f0f3bcb95084eed8cfedd6be97a9ff9140f6f5e6744cf"
    );
}

// --- constructors from Kubernetes objects -------------------------------------------------

#[test]
fn content_from_config_map_reads_data_and_binary_data() {
    let cm = ConfigMap {
        data: Some(strings(&[("test", "test")])),
        binary_data: Some(bytes(&[("bintest", b"test")])),
        ..ConfigMap::default()
    };
    assert_eq!(
        ReloaderHasher
            .digest(&SourceContent::from_config_map(&cm))
            .as_str(),
        "0d58150de76a895b24f4ca213f590766160c4349"
    );
}

#[test]
fn content_from_secret_reads_decoded_data_and_not_string_data() {
    let secret = Secret {
        data: Some(bytes(&[("username", b"admin"), ("password", b"s3cr3t")])),
        string_data: Some(strings(&[("ignored", "value")])),
        ..Secret::default()
    };
    assert_eq!(
        ReloaderHasher
            .digest(&SourceContent::from_secret(&secret))
            .as_str(),
        "c6cceb2f1c84498af4f4cda76071f8bc2afd425b"
    );
}

#[test]
fn content_from_pod_status_json_matches_vector() {
    let status = SecretProviderClassPodStatus::from_json(&serde_json::json!({
        "apiVersion": "secrets-store.csi.x-k8s.io/v1",
        "kind": "SecretProviderClassPodStatus",
        "metadata": {"name": "pod-my-spc", "namespace": "default"},
        "status": {
            "podName": "pod",
            "mounted": true,
            "secretProviderClassName": "my-spc",
            "objects": [{"id": "parameter1", "version": "v1"}]
        }
    }))
    .expect("valid pod status");
    assert_eq!(
        status.source_ref(),
        crate::SourceRef::new(crate::SourceKind::SecretProviderClass, "default", "my-spc")
    );
    assert_eq!(
        ReloaderHasher.digest(&status.content()).as_str(),
        "eaf5523e4ff6005490a1bf250d6efdcf9b1b9b9c"
    );
}

#[test]
fn pod_status_json_with_null_objects_reads_as_absent() {
    let status = SecretProviderClassPodStatus::from_json(&serde_json::json!({
        "metadata": {"name": "p", "namespace": "ns"},
        "status": {"secretProviderClassName": "spc", "objects": null}
    }))
    .expect("valid pod status");
    assert_eq!(status.objects, None);
}

#[test]
fn pod_status_json_without_class_name_is_a_read_error_naming_the_object() {
    let error = SecretProviderClassPodStatus::from_json(&serde_json::json!({
        "metadata": {"name": "p", "namespace": "ns"},
        "status": {"objects": []}
    }))
    .expect_err("class name is required");
    let text = error.to_string();
    assert_eq!(error.kind(), "read_object");
    assert!(
        text.contains("SecretProviderClassPodStatus 'p' in namespace 'ns'"),
        "{text}"
    );
    assert!(text.contains("secretProviderClassName"), "{text}");
}

#[test]
fn pod_status_json_of_the_wrong_shape_is_a_read_error() {
    for value in [
        serde_json::json!("a string"),
        serde_json::json!({"metadata": {"name": "p", "namespace": "ns"}, "status": {"objects": "no"}}),
        serde_json::json!({"metadata": {"name": "p", "namespace": "ns"}}),
        serde_json::json!({"status": {"secretProviderClassName": "spc"}}),
    ] {
        assert!(
            matches!(
                SecretProviderClassPodStatus::from_json(&value),
                Err(crate::Error::ReadObject { .. })
            ),
            "{value}"
        );
    }
}

#[test]
fn source_meta_from_metadata_keeps_only_the_named_annotations() {
    let metadata = k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        name: Some("s".into()),
        namespace: Some("ns".into()),
        annotations: Some(strings(&[
            ("reloader.stakater.com/match", "true"),
            (
                "kubectl.kubernetes.io/last-applied-configuration",
                "{\"data\":\"secret\"}",
            ),
        ])),
        labels: Some(strings(&[("app", "x")])),
        ..Default::default()
    };
    let meta = crate::SourceMeta::from_metadata(
        crate::SourceKind::Secret,
        &metadata,
        &["reloader.stakater.com/match", "reloader.stakater.com/ignore"],
    );
    assert_eq!(
        meta.id,
        Some(crate::SourceRef::new(crate::SourceKind::Secret, "ns", "s"))
    );
    assert_eq!(
        meta.annotations,
        strings(&[("reloader.stakater.com/match", "true")])
    );
    assert_eq!(meta.labels, strings(&[("app", "x")]));
}

// --- properties ---------------------------------------------------------------------------

fn small_key() -> impl Strategy<Value = String> {
    "[a-c.=;]{0,3}"
}

fn entries() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    prop::collection::vec((small_key(), prop::collection::vec(any::<u8>(), 0..6)), 0..6)
}

/// Flips one byte of one key or value (keeping keys distinct); `None` if that is impossible.
fn mutate(
    map: &BTreeMap<String, ByteString>,
    index: usize,
    in_key: bool,
    byte: usize,
    flip: u8,
) -> Option<BTreeMap<String, ByteString>> {
    let (key, value) = map.iter().nth(index % map.len().max(1))?;
    let mut out = map.clone();
    if in_key {
        let mut bytes = key.clone().into_bytes();
        let at = byte % bytes.len().max(1);
        // Stay within ASCII letters so the key remains valid UTF-8.
        *bytes.get_mut(at)? = b'a' + ((bytes.get(at)?.wrapping_add(flip % 25 + 1)) % 26);
        let new_key = String::from_utf8(bytes).ok()?;
        if map.contains_key(&new_key) {
            return None;
        }
        let value = out.remove(key)?;
        out.insert(new_key, value);
    } else {
        let mut bytes = value.0.clone();
        if bytes.is_empty() {
            bytes.push(flip);
        } else {
            let at = byte % bytes.len();
            bytes[at] ^= flip.max(1);
        }
        out.insert(key.clone(), ByteString(bytes));
    }
    Some(out)
}

proptest! {
    #[test]
    fn both_hashers_are_deterministic_and_ignore_insertion_order(entries in entries()) {
        let mut distinct: Vec<(String, Vec<u8>)> = Vec::new();
        for (k, v) in entries {
            if !distinct.iter().any(|(seen, _)| *seen == k) {
                distinct.push((k, v));
            }
        }
        let forward: BTreeMap<String, ByteString> =
            distinct.iter().map(|(k, v)| (k.clone(), ByteString(v.clone()))).collect();
        let backward: BTreeMap<String, ByteString> =
            distinct.iter().rev().map(|(k, v)| (k.clone(), ByteString(v.clone()))).collect();
        for hasher in [&ReloaderHasher as &dyn Hasher, &keyed()] {
            let a = hasher.digest(&SourceContent::Secret { data: &forward });
            let b = hasher.digest(&SourceContent::Secret { data: &forward });
            let c = hasher.digest(&SourceContent::Secret { data: &backward });
            prop_assert_eq!(&a, &b);
            prop_assert_eq!(&a, &c);
        }
    }

    #[test]
    fn pod_status_digest_ignores_object_order(
        objects in prop::collection::vec(("[a-c]{1,3}", "v[0-9]"), 0..5),
    ) {
        let reversed: Vec<(String, String)> = objects.iter().rev().cloned().collect();
        for hasher in [&ReloaderHasher as &dyn Hasher, &keyed()] {
            let a = hasher.digest(&SourceContent::SecretProviderClassPodStatus { class_name: "spc", objects: Some(&objects) });
            let b = hasher.digest(&SourceContent::SecretProviderClassPodStatus { class_name: "spc", objects: Some(&reversed) });
            prop_assert_eq!(a, b);
        }
    }

    #[test]
    fn keyed_digest_changes_when_any_single_key_or_value_byte_changes(
        entries in entries(),
        index in any::<usize>(),
        in_key in any::<bool>(),
        byte in any::<usize>(),
        flip in 1u8..,
    ) {
        let map: BTreeMap<String, ByteString> =
            entries.into_iter().map(|(k, v)| (k, ByteString(v))).collect();
        if let Some(changed) = mutate(&map, index, in_key, byte, flip) {
            prop_assume!(changed != map);
            let hasher = keyed();
            prop_assert_ne!(
                hasher.digest(&SourceContent::Secret { data: &map }),
                hasher.digest(&SourceContent::Secret { data: &changed })
            );
        }
    }

    #[test]
    fn reloader_digest_changes_with_any_single_byte_unless_the_serialisation_collides(
        entries in entries(),
        index in any::<usize>(),
        in_key in any::<bool>(),
        byte in any::<usize>(),
        flip in 1u8..,
    ) {
        let map: BTreeMap<String, ByteString> =
            entries.into_iter().map(|(k, v)| (k, ByteString(v))).collect();
        if let Some(changed) = mutate(&map, index, in_key, byte, flip) {
            prop_assume!(changed != map);
            let (before, after) = (SourceContent::Secret { data: &map }, SourceContent::Secret { data: &changed });
            // The only way to get the same digest is the documented ambiguity of `k=v;k=v`
            // (same serialised bytes); SHA-1 itself does not collide on such inputs.
            let same_bytes = ReloaderHasher::serialise(&before) == ReloaderHasher::serialise(&after);
            prop_assert_eq!(ReloaderHasher.digest(&before) == ReloaderHasher.digest(&after), same_bytes);
        }
    }

    #[test]
    fn config_map_digest_is_the_sha1_of_the_sorted_joined_entries(
        data in prop::collection::btree_map("[a-z.]{1,4}", "[ -~]{0,5}", 0..5),
    ) {
        let mut expected: Vec<String> = data.iter().map(|(k, v)| format!("{k}={v}")).collect();
        expected.sort();
        let binary_data = BTreeMap::new();
        prop_assert_eq!(
            ReloaderHasher.digest(&SourceContent::ConfigMap { data: &data, binary_data: &binary_data }),
            ReloaderHasher::digest_bytes(expected.join(";").as_bytes())
        );
    }
}
