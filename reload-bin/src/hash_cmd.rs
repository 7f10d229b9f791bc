//! `reloader hash -f FILE`: the digests the controller records for ConfigMaps, Secrets and
//! CSI `SecretProviderClassPodStatus` objects, computed offline from their YAML or JSON.
//!
//! One line per object: `<40-hex sha1>  <Kind> <namespace>/<name>` (just `<name>` when the
//! object has no namespace), followed by `  hmac-sha256:<hex>` when a hash key is given. The
//! SHA-1 is Reloader's, byte for byte. Input may hold several YAML documents and `kind: List`
//! (or `ConfigMapList`, ...) objects. A Secret's `stringData` is merged into `data` as the API
//! server does on write (`stringData` wins). Values are never printed, not even in errors.
//!
//! Errors name the file, the document (and list item) and the object; the other objects are
//! still printed, and the command exits 1.

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::Path;

use anyhow::Context;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::ConfigMap;
use reload_core::hash::{Hasher, KeyedHasher, ReloaderHasher};
use reload_core::source::SecretProviderClassPodStatus;
use reload_core::{Digest, SourceContent};
use serde::Deserialize;
use serde_json::Value;

use crate::cli::HashArgs;

/// One hashed object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashedObject {
    /// `ConfigMap`, `Secret` or `SecretProviderClassPodStatus`.
    pub kind: &'static str,
    /// `metadata.namespace`; empty when absent.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// Reloader's SHA-1.
    pub digest: Digest,
    /// The keyed digest, when a key was given.
    pub keyed: Option<Digest>,
}

impl fmt::Display for HashedObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}  {} ", self.digest, self.kind)?;
        if !self.namespace.is_empty() {
            write!(f, "{}/", self.namespace)?;
        }
        f.write_str(&self.name)?;
        if let Some(keyed) = &self.keyed {
            write!(f, "  {keyed}")?;
        }
        Ok(())
    }
}

/// An object (or document) that could not be hashed. Its text never holds a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashError {
    /// Where: `FILE document N` (1-based), plus `item M` inside a list.
    pub location: String,
    /// `Kind namespace/name` when known.
    pub object: Option<String>,
    /// What is wrong.
    pub problem: String,
}

impl fmt::Display for HashError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.location)?;
        if let Some(object) = &self.object {
            write!(f, " ({object})")?;
        }
        write!(f, ": {}", self.problem)
    }
}

/// Runs the command: prints a line per object to stdout and an error per failure to stderr.
///
/// # Errors
///
/// When the key cannot be read, or any file or object could not be read or hashed (after
/// printing everything else), so the process exits 1.
pub fn run(args: &HashArgs) -> anyhow::Result<()> {
    let keyed = args.hash_key_file.as_deref().map(read_hash_key).transpose()?;
    let mut failures = 0usize;
    let mut stdin_read = false;
    for file in &args.files {
        let (label, text) = if file == "-" {
            if stdin_read {
                continue;
            }
            stdin_read = true;
            let mut text = String::new();
            let read = std::io::stdin().read_to_string(&mut text).map(|_| text);
            ("<stdin>".to_string(), read)
        } else {
            (file.clone(), std::fs::read_to_string(file))
        };
        // An unreadable file is reported like a bad document: the other files are still hashed.
        let text = match text {
            Ok(text) => text,
            Err(error) => {
                failures += 1;
                eprintln!("error: cannot read {label}: {error}");
                continue;
            }
        };
        for result in hash_text(&label, &text, keyed.as_ref()) {
            match result {
                Ok(object) => println!("{object}"),
                Err(error) => {
                    failures += 1;
                    eprintln!("error: {error}");
                }
            }
        }
    }
    if failures > 0 {
        anyhow::bail!("{failures} object(s) could not be hashed");
    }
    Ok(())
}

/// The keyed hasher for `--hash-key-file`: the file's bytes exactly as stored (a Secret
/// mounted as a file), no newline trimmed, so every reader of the file derives the same key.
///
/// # Errors
///
/// When the file cannot be read or is empty.
pub fn read_hash_key(path: &Path) -> anyhow::Result<KeyedHasher> {
    let key =
        std::fs::read(path).with_context(|| format!("cannot read the hash key file {}", path.display()))?;
    KeyedHasher::new(key).with_context(|| format!("unusable hash key in {}", path.display()))
}

/// Hashes every object of `text` (YAML, or JSON: one or more documents); `label` names the
/// input in errors. Empty documents are skipped.
pub fn hash_text(
    label: &str,
    text: &str,
    keyed: Option<&KeyedHasher>,
) -> Vec<Result<HashedObject, HashError>> {
    let mut results = Vec::new();
    for (index, document) in documents(text).into_iter().enumerate() {
        let location = format!("{label} document {}", index + 1);
        match document {
            Ok(Value::Null) => {}
            Ok(value) => hash_document(&location, &value, keyed, &mut results),
            Err(problem) => results.push(Err(HashError {
                location,
                object: None,
                problem,
            })),
        }
    }
    results
}

/// Splits `text` into documents: a JSON stream when it starts with `{` or `[` (JSON is YAML,
/// but YAML parsers reject some valid JSON, such as tabs), YAML documents otherwise. A syntax
/// error ends the stream: nothing after it can be read reliably.
fn documents(text: &str) -> Vec<Result<Value, String>> {
    let mut documents = Vec::new();
    if text.trim_start().starts_with(['{', '[']) {
        for document in serde_json::Deserializer::from_str(text).into_iter::<Value>() {
            let failed = document.is_err();
            documents.push(document.map_err(|e| format!("not valid JSON: {e}")));
            if failed {
                break;
            }
        }
        return documents;
    }
    for document in serde_yaml::Deserializer::from_str(text) {
        let value = serde_yaml::Value::deserialize(document)
            .map_err(|e| format!("not valid YAML: {e}"))
            .and_then(|yaml| {
                serde_json::to_value(yaml).map_err(|e| format!("not a JSON-compatible document: {e}"))
            });
        let failed = value.is_err();
        documents.push(value);
        if failed {
            break;
        }
    }
    documents
}

fn hash_document(
    location: &str,
    value: &Value,
    keyed: Option<&KeyedHasher>,
    results: &mut Vec<Result<HashedObject, HashError>>,
) {
    let kind = value.get("kind").and_then(Value::as_str).unwrap_or_default();
    if kind == "List" || (kind.ends_with("List") && value.get("items").is_some()) {
        let Some(items) = value.get("items").and_then(Value::as_array) else {
            results.push(Err(HashError {
                location: location.to_string(),
                object: None,
                problem: format!("a {kind} without an `items` array"),
            }));
            return;
        };
        for (index, item) in items.iter().enumerate() {
            let location = format!("{location} item {}", index + 1);
            results.push(hash_object(&location, item, keyed));
        }
    } else {
        results.push(hash_object(location, value, keyed));
    }
}

/// Hashes one object.
fn hash_object(
    location: &str,
    value: &Value,
    keyed: Option<&KeyedHasher>,
) -> Result<HashedObject, HashError> {
    let text = |key: &str| {
        value
            .get("metadata")
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (namespace, name) = (text("namespace"), text("name"));
    let kind = value.get("kind").and_then(Value::as_str).unwrap_or_default();
    let fail = |problem: String| {
        let object = (!kind.is_empty() || !name.is_empty()).then(|| {
            let kind = if kind.is_empty() { "object" } else { kind };
            let name = if name.is_empty() {
                "<unnamed>"
            } else {
                name.as_str()
            };
            if namespace.is_empty() {
                format!("{kind} {name}")
            } else {
                format!("{kind} {namespace}/{name}")
            }
        });
        HashError {
            location: location.to_string(),
            object,
            problem,
        }
    };
    if !value.is_object() {
        return Err(fail("not an object".into()));
    }
    let known = ["ConfigMap", "Secret", "SecretProviderClassPodStatus"];
    let Some(kind) = known.into_iter().find(|k| *k == kind) else {
        let problem = if kind.is_empty() {
            "no `kind`: expected ConfigMap, Secret or SecretProviderClassPodStatus".to_string()
        } else {
            format!("unsupported kind {kind:?}: expected ConfigMap, Secret or SecretProviderClassPodStatus")
        };
        return Err(fail(problem));
    };
    if name.is_empty() {
        return Err(fail("metadata.name is missing".into()));
    }
    let digest = |content: &SourceContent<'_>| {
        (
            ReloaderHasher.digest(content),
            keyed.map(|hasher| hasher.digest(content)),
        )
    };
    let (digest, keyed) = match kind {
        "ConfigMap" => {
            let config_map =
                ConfigMap::deserialize(value).map_err(|e| fail(format!("not a valid ConfigMap: {e}")))?;
            digest(&SourceContent::from_config_map(&config_map))
        }
        "Secret" => {
            let data = secret_data(value).map_err(fail)?;
            digest(&SourceContent::Secret { data: &data })
        }
        _ => {
            let status = SecretProviderClassPodStatus::from_json(value).map_err(|e| fail(e.to_string()))?;
            digest(&status.content())
        }
    };
    Ok(HashedObject {
        kind,
        namespace,
        name,
        digest,
        keyed,
    })
}

/// A Secret's `data` (base64-decoded) with `stringData` merged over it, as the API server
/// stores it. Errors name the field and key, never the value (serde's and base64's messages
/// would quote it, so they are not used).
fn secret_data(secret: &Value) -> Result<BTreeMap<String, ByteString>, String> {
    let map = |field: &str| match secret.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(format!("{field} is not a map")),
    };
    let mut data = BTreeMap::new();
    for (key, value) in map("data")?.into_iter().flatten() {
        let bytes = match value {
            Value::Null => ByteString(Vec::new()),
            Value::String(text) => ByteString::deserialize(Value::String(text.clone()))
                .map_err(|_| format!("data.{key} is not valid base64"))?,
            _ => return Err(format!("data.{key} is not a string")),
        };
        data.insert(key.clone(), bytes);
    }
    for (key, value) in map("stringData")?.into_iter().flatten() {
        let Value::String(text) = value else {
            return Err(format!("stringData.{key} is not a string"));
        };
        data.insert(key.clone(), ByteString(text.clone().into_bytes()));
    }
    Ok(data)
}
