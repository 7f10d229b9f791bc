use reload_core::hash::KeyedHasher;

use super::{HashError, HashedObject, hash_text};

const TEST_TEST: &str = "b3cefbcce711f8574b0e66c41fc1dcf06eb5b6db";
const CREDENTIALS: &str = "c6cceb2f1c84498af4f4cda76071f8bc2afd425b";

fn digests(results: &[Result<HashedObject, HashError>]) -> Vec<String> {
    results
        .iter()
        .map(|r| match r {
            Ok(object) => object.digest.to_string(),
            Err(error) => format!("error: {error}"),
        })
        .collect()
}

#[test]
fn every_yaml_document_is_hashed_and_empty_documents_are_skipped() {
    let text = "---\nkind: ConfigMap\nmetadata: {name: a}\ndata: {test: test}\n---\n---\n\
                kind: Secret\nmetadata: {name: b, namespace: ns}\ndata: {username: YWRtaW4=, password: czNjcjN0}\n";
    let results = hash_text("in.yaml", text, None);
    assert_eq!(digests(&results), [TEST_TEST, CREDENTIALS]);
}

#[test]
fn a_line_is_the_digest_then_kind_and_namespaced_name() {
    let results = hash_text(
        "in.yaml",
        "kind: ConfigMap\nmetadata: {name: a, namespace: ns}\ndata: {test: test}\n",
        None,
    );
    let line = results[0].as_ref().expect("hashed").to_string();
    assert_eq!(line, format!("{TEST_TEST}  ConfigMap ns/a"));
}

#[test]
fn string_data_is_merged_over_data_as_the_api_server_does() {
    let text = "kind: Secret\nmetadata: {name: s}\ndata: {username: YWRtaW4=, password: b2xk}\nstringData: {password: s3cr3t}\n";
    assert_eq!(digests(&hash_text("in.yaml", text, None)), [CREDENTIALS]);
}

#[test]
fn a_concatenated_json_stream_and_typed_lists_are_read() {
    let text = r#"{"kind": "ConfigMapList", "items": [{"kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"test": "test"}}]}
	{"kind": "Secret", "metadata": {"name": "b"}, "stringData": {"username": "admin", "password": "s3cr3t"}}"#;
    assert_eq!(
        digests(&hash_text("in.json", text, None)),
        [TEST_TEST, CREDENTIALS]
    );
}

#[test]
fn errors_name_the_document_the_list_item_and_the_object() {
    let text = "kind: List\nitems:\n- kind: ConfigMap\n  metadata: {name: ok}\n  data: {test: test}\n\
                - kind: Deployment\n  metadata: {name: web, namespace: ns}\n---\n\
                kind: ConfigMap\nmetadata: {namespace: ns}\n---\nkind: List\nitems: 3\n---\n- 1\n---\nmetadata: {name: x}\n";
    let results = hash_text("in.yaml", text, None);
    assert_eq!(
        digests(&results),
        [
            TEST_TEST.to_string(),
            "error: in.yaml document 1 item 2 (Deployment ns/web): unsupported kind \"Deployment\": \
             expected ConfigMap, Secret or SecretProviderClassPodStatus"
                .to_string(),
            "error: in.yaml document 2 (ConfigMap ns/<unnamed>): metadata.name is missing".to_string(),
            "error: in.yaml document 3: a List without an `items` array".to_string(),
            "error: in.yaml document 4: not an object".to_string(),
            "error: in.yaml document 5 (object x): no `kind`: expected ConfigMap, Secret or \
             SecretProviderClassPodStatus"
                .to_string(),
        ]
    );
}

#[test]
fn secret_errors_name_the_key_but_never_the_value() {
    for (data, problem) in [
        (
            "data: {password: 'hunter2!'}",
            "data.password is not valid base64",
        ),
        ("data: {password: 1234567}", "data.password is not a string"),
        (
            "stringData: {password: 7654321}",
            "stringData.password is not a string",
        ),
        ("data: 'hunter2'", "data is not a map"),
    ] {
        let text = format!("kind: Secret\nmetadata: {{name: s, namespace: ns}}\n{data}\n");
        let results = hash_text("in.yaml", &text, None);
        let error = results[0].as_ref().expect_err("rejected").to_string();
        assert_eq!(error, format!("in.yaml document 1 (Secret ns/s): {problem}"));
        for secret in ["hunter2", "1234567", "7654321"] {
            assert!(!error.contains(secret), "{error}");
        }
    }
}

#[test]
fn a_yaml_syntax_error_is_reported_after_the_documents_before_it() {
    let text = "kind: ConfigMap\nmetadata: {name: a}\ndata: {test: test}\n---\nkind: [unclosed\n";
    let results = hash_text("in.yaml", text, None);
    assert_eq!(digests(&results)[0], TEST_TEST);
    let error = results[1].as_ref().expect_err("syntax error").to_string();
    assert!(error.starts_with("in.yaml document 2: not valid YAML"), "{error}");
}

#[test]
fn a_malformed_pod_status_is_rejected_with_the_reason() {
    let text =
        "kind: SecretProviderClassPodStatus\nmetadata: {name: p, namespace: ns}\nstatus: {objects: []}\n";
    let error = hash_text("in.yaml", text, None)
        .remove(0)
        .expect_err("no class name")
        .to_string();
    assert!(
        error.contains("status.secretProviderClassName is missing"),
        "{error}"
    );
}

#[test]
fn the_keyed_digest_follows_and_depends_on_the_key() {
    let text = "kind: ConfigMap\nmetadata: {name: a}\ndata: {test: test}\n";
    let one = KeyedHasher::new(b"key one").expect("key");
    let two = KeyedHasher::new(b"key two").expect("key");
    let with_one = hash_text("in.yaml", text, Some(&one)).remove(0).expect("hashed");
    let with_two = hash_text("in.yaml", text, Some(&two)).remove(0).expect("hashed");
    assert_eq!(with_one.digest.as_str(), TEST_TEST);
    let (keyed_one, keyed_two) = (
        with_one.keyed.clone().expect("keyed"),
        with_two.keyed.expect("keyed"),
    );
    assert!(keyed_one.as_str().starts_with("hmac-sha256:"));
    assert_ne!(keyed_one, keyed_two);
    assert_eq!(
        with_one.to_string(),
        format!("{TEST_TEST}  ConfigMap a  {keyed_one}")
    );
}
