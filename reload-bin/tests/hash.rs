//! `reloader hash` as a process: the spec's test vectors (reloader-spec.md §4), stdin, the
//! keyed digest, and errors that name the document without failing the others.

use std::io::Write;
use std::process::{Command, Output, Stdio};

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/hash-vectors.yaml");

fn reloader(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_reloader"))
        .args(args)
        .env_remove("RELOADER_HASH_KEY_FILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the reloader binary runs");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(stdin.as_bytes())
        .expect("stdin is written");
    child.wait_with_output().expect("the reloader binary exits")
}

/// `(name, expected digest)` from the fixture's `metadata: {name: N, ...}   # DIGEST` lines.
fn expected_vectors() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(VECTORS).expect("fixture is readable");
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("metadata: {name: ")?;
            let (name, rest) = rest.split_once(',')?;
            let (_, digest) = rest.split_once('#')?;
            Some((name.to_string(), digest.trim().to_string()))
        })
        .collect()
}

#[test]
fn hash_prints_the_spec_test_vectors_as_the_first_token() {
    let out = reloader(&["hash", "-f", VECTORS], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 output");
    let lines: Vec<&str> = stdout.lines().collect();
    let expected = expected_vectors();
    assert_eq!(expected.len(), 11, "the fixture lists every vector");
    assert_eq!(lines.len(), expected.len(), "{stdout}");
    for (line, (name, digest)) in lines.iter().zip(&expected) {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(tokens.len(), 3, "{line}");
        assert_eq!(tokens[0], digest, "digest of {name}");
        assert_eq!(tokens[2], format!("vectors/{name}"));
    }
    assert!(lines[0].ends_with("  ConfigMap vectors/google"));
    assert!(lines[7].contains("  Secret vectors/credentials"));
    assert!(lines[10].contains("  SecretProviderClassPodStatus vectors/pod-a-vectors-my-spc"));
}

#[test]
fn hash_reads_standard_input_and_json_lists() {
    let list = r#"{"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "ns"}, "data": {"test": "test"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "b"}, "stringData": {"username": "admin", "password": "s3cr3t"}}
    ]}"#;
    let out = reloader(&["hash", "-f", "-"], list);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "b3cefbcce711f8574b0e66c41fc1dcf06eb5b6db  ConfigMap ns/a\n\
         c6cceb2f1c84498af4f4cda76071f8bc2afd425b  Secret b\n"
    );
}

#[test]
fn hash_with_a_key_file_appends_the_keyed_digest() {
    let dir = std::env::temp_dir().join(format!("reloader-hash-key-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let key = dir.join("hash-key");
    std::fs::write(&key, b"operator key").expect("key written");
    let key_arg = key.to_str().expect("UTF-8 path");
    let out = reloader(&["hash", "--hash-key-file", key_arg, "-f", VECTORS], "");
    std::fs::remove_dir_all(&dir).expect("temp dir removed");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 output");
    let first = stdout.lines().next().expect("a line per object");
    let tokens: Vec<&str> = first.split_whitespace().collect();
    assert_eq!(tokens[0], "2834cb2f26ce41acf3a5c4c63b1815df75bae06e");
    assert_eq!(tokens.len(), 4, "{first}");
    let keyed = tokens[3].strip_prefix("hmac-sha256:").expect("keyed digest last");
    assert_eq!(keyed.len(), 64);
    assert!(keyed.bytes().all(|b| b.is_ascii_hexdigit()));
}

#[test]
fn hash_reports_bad_documents_exits_1_and_still_prints_the_others() {
    let input = "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: ns}\n---\n\
                 apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: ns}\ndata: {password: 'hunter2!'}\n---\n\
                 apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok, namespace: ns}\ndata: {test: test}\n";
    let out = reloader(&["hash", "-f", "-"], input);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "b3cefbcce711f8574b0e66c41fc1dcf06eb5b6db  ConfigMap ns/ok\n"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("<stdin> document 1 (Pod ns/web): unsupported kind \"Pod\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("<stdin> document 2 (Secret ns/db): data.password is not valid base64"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "a Secret value leaked: {stderr}");
}

#[test]
fn hash_reports_an_unreadable_file_and_still_hashes_the_others() {
    let out = reloader(&["hash", "-f", "/nonexistent/cm.yaml", "-f", VECTORS], "");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 11);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error: cannot read /nonexistent/cm.yaml"),
        "{stderr}"
    );
}
