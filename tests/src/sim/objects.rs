//! Pure object bookkeeping: what the real API server does to an object on create and update
//! (names, uid, timestamps, generation, Secret `stringData`, Job defaults and immutability).

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use rand::Rng as _;
use serde_json::{Map, Value, json};

use super::error::{ApiError, ApiResult};
use super::kinds::ResourceKind;

/// `metadata.name` of an object (empty when absent).
pub fn name_of(obj: &Value) -> &str {
    obj["metadata"]["name"].as_str().unwrap_or_default()
}

/// `metadata.namespace` of an object (empty when absent).
pub fn namespace_of(obj: &Value) -> &str {
    obj["metadata"]["namespace"].as_str().unwrap_or_default()
}

/// `metadata.labels` as a map (non-string values are ignored).
pub fn labels_of(obj: &Value) -> BTreeMap<String, String> {
    obj["metadata"]["labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// `metadata.resourceVersion` parsed as a number, if present and numeric.
pub fn resource_version_of(obj: &Value) -> Option<&str> {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .filter(|s| !s.is_empty())
}

/// The current time as RFC 3339 (second precision, UTC), as Kubernetes writes timestamps.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format_rfc3339(secs)
}

/// Formats seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_rfc3339(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A random RFC 4122 version-4 UUID.
pub fn random_uid() -> String {
    let b: [u8; 16] = rand::rng().random();
    let h = hex_lower(&b);
    format!(
        "{}-{}-4{}-{:x}{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        (b[8] & 0x3) | 0x8,
        &h[17..20],
        &h[20..32]
    )
}

fn hex_lower(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The 5-character random suffix the real server appends to `generateName`.
pub fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    (0..5)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

fn is_dns_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        })
}

fn metadata_mut(obj: &mut Value) -> ApiResult<&mut Map<String, Value>> {
    if !obj.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request was not a JSON object",
        ));
    }
    let meta = obj
        .as_object_mut()
        .map(|o| o.entry("metadata").or_insert_with(|| json!({})));
    match meta {
        Some(Value::Object(m)) => Ok(m),
        _ => Err(ApiError::bad_request("metadata must be an object")),
    }
}

/// Checks the body's `apiVersion`/`kind` (when given) against the URL's kind, then sets them.
fn set_type_meta(kind: &ResourceKind, obj: &mut Value) -> ApiResult<()> {
    let api_version = kind.api_version();
    if let Some(v) = obj.get("apiVersion").and_then(Value::as_str)
        && v != api_version
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({v}) does not match the expected API version ({api_version})"
        )));
    }
    if let Some(k) = obj.get("kind").and_then(Value::as_str)
        && k != kind.kind
    {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({k}) does not match the expected kind ({})",
            kind.kind
        )));
    }
    obj["apiVersion"] = json!(api_version);
    obj["kind"] = json!(kind.kind);
    Ok(())
}

/// Moves a Secret's `stringData` into `data` (base64), as the real server does on every write.
pub fn fold_string_data(kind: &ResourceKind, obj: &mut Value) {
    if !kind.group.is_empty() || kind.plural != "secrets" {
        return;
    }
    let Some(o) = obj.as_object_mut() else { return };
    let Some(Value::Object(string_data)) = o.remove("stringData") else {
        return;
    };
    let data = o.entry("data").or_insert_with(|| json!({}));
    if !data.is_object() {
        *data = json!({});
    }
    for (k, v) in string_data {
        let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
        data[&k] = json!(base64::engine::general_purpose::STANDARD.encode(text));
    }
}

/// Prepares a new object for storage: names, uid, timestamps, generation, defaults, validation.
/// `namespace` is the namespace from the URL (`None` for cluster-scoped kinds).
pub fn prepare_create(kind: &ResourceKind, namespace: Option<&str>, mut obj: Value) -> ApiResult<Value> {
    set_type_meta(kind, &mut obj)?;
    let meta = metadata_mut(&mut obj)?;
    match (namespace, meta.get("namespace").and_then(Value::as_str)) {
        (Some(ns), Some(body_ns)) if !body_ns.is_empty() && body_ns != ns => {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        (Some(ns), _) => {
            meta.insert("namespace".into(), json!(ns));
        }
        (None, _) => {
            meta.remove("namespace");
        }
    }
    let name = meta
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let name = if name.is_empty() {
        match meta.get("generateName").and_then(Value::as_str) {
            Some(prefix) if !prefix.is_empty() => format!("{prefix}{}", random_suffix()),
            _ => {
                return Err(ApiError::invalid(
                    kind,
                    "",
                    "metadata.name",
                    "name or generateName is required",
                ));
            }
        }
    } else {
        name
    };
    if !is_dns_subdomain(&name) {
        return Err(ApiError::invalid(
            kind,
            &name,
            "metadata.name",
            &format!(
                "\"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \
                 '-' or '.', and must start and end with an alphanumeric character"
            ),
        ));
    }
    meta.insert("name".into(), json!(name));
    let uid = random_uid();
    meta.insert("uid".into(), json!(uid));
    meta.insert("creationTimestamp".into(), json!(now_rfc3339()));
    for transient in [
        "resourceVersion",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
    ] {
        meta.remove(transient);
    }
    if kind.tracks_generation {
        meta.insert("generation".into(), json!(1));
    } else {
        meta.remove("generation");
    }
    fold_string_data(kind, &mut obj);
    if kind.plural == "namespaces" {
        obj["status"] = json!({ "phase": "Active" });
    }
    if is_secret(kind) && obj.get("type").is_none_or(Value::is_null) {
        obj["type"] = json!("Opaque");
    }
    if kind.group == "batch" && kind.plural == "jobs" {
        default_job(&mut obj, &uid);
    }
    validate(kind, &name, &obj)?;
    Ok(obj)
}

/// Job defaulting done by the real server: controller-uid/job-name labels on the pod template
/// and a generated selector (unless `spec.manualSelector` is true).
fn default_job(obj: &mut Value, uid: &str) {
    if obj["spec"]["manualSelector"].as_bool() == Some(true) || !obj["spec"].is_object() {
        return;
    }
    let name = name_of(obj).to_string();
    let template = &mut obj["spec"]["template"];
    if !template.is_object() {
        return;
    }
    if !template["metadata"].is_object() {
        template["metadata"] = json!({});
    }
    if !template["metadata"]["labels"].is_object() {
        template["metadata"]["labels"] = json!({});
    }
    let labels = &mut template["metadata"]["labels"];
    labels["controller-uid"] = json!(uid);
    labels["batch.kubernetes.io/controller-uid"] = json!(uid);
    labels["job-name"] = json!(name);
    labels["batch.kubernetes.io/job-name"] = json!(name);
    obj["spec"]["selector"] = json!({ "matchLabels": { "batch.kubernetes.io/controller-uid": uid } });
}

fn is_secret(kind: &ResourceKind) -> bool {
    kind.group.is_empty() && kind.plural == "secrets"
}

fn validate(kind: &ResourceKind, name: &str, obj: &Value) -> ApiResult<()> {
    super::validation::rbac(kind, name, obj)?;
    if is_secret(kind)
        && let Some(data) = obj["data"].as_object()
    {
        for (key, value) in data {
            let decodes = value
                .as_str()
                .is_some_and(|v| base64::engine::general_purpose::STANDARD.decode(v).is_ok());
            if !decodes {
                return Err(ApiError::bad_request(format!(
                    "Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data in data.{key}"
                )));
            }
        }
    }
    if kind.has_pod_template_selector() {
        let Some(match_labels) = obj["spec"]["selector"]["matchLabels"].as_object() else {
            return Err(ApiError::invalid(
                kind,
                name,
                "spec.selector",
                "null: field is required",
            ));
        };
        let template_labels = &obj["spec"]["template"]["metadata"]["labels"];
        if match_labels.iter().any(|(k, v)| &template_labels[k] != v) {
            return Err(ApiError::invalid(
                kind,
                name,
                "spec.template.metadata.labels",
                "`selector` does not match template `labels`",
            ));
        }
    }
    Ok(())
}

/// Prepares a replacement for `old` (an update or the result of a patch): keeps the identity
/// fields, keeps `status` on kinds with a status subresource (or keeps everything but `status`
/// when `status_only`), bumps `generation` when `spec` changed, enforces immutable fields.
pub fn prepare_update(
    kind: &ResourceKind,
    old: &Value,
    mut new: Value,
    status_only: bool,
) -> ApiResult<Value> {
    set_type_meta(kind, &mut new)?;
    let name = name_of(old).to_string();
    let body_name = name_of(&new);
    if !body_name.is_empty() && body_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    if status_only {
        let mut merged = old.clone();
        merged["status"] = new.get("status").cloned().unwrap_or(Value::Null);
        if let Some(rv) = new["metadata"].get("resourceVersion") {
            merged["metadata"]["resourceVersion"] = rv.clone();
        }
        new = merged;
    } else if kind.status_subresource {
        match old.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(o) = new.as_object_mut() {
                    o.remove("status");
                }
            }
        }
    }
    let meta = metadata_mut(&mut new)?;
    for keep in [
        "name",
        "namespace",
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "generation",
    ] {
        match old["metadata"].get(keep) {
            Some(v) => meta.insert(keep.into(), v.clone()),
            None => meta.remove(keep),
        };
    }
    fold_string_data(kind, &mut new);
    if kind.tracks_generation && old.get("spec") != new.get("spec") {
        let generation = old["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
        new["metadata"]["generation"] = json!(generation);
    }
    if kind.group.is_empty()
        && matches!(kind.plural, "configmaps" | "secrets")
        && old["immutable"].as_bool() == Some(true)
    {
        for field in ["data", "binaryData", "immutable"] {
            if old.get(field) != new.get(field) {
                return Err(ApiError::invalid(
                    kind,
                    &name,
                    field,
                    "field is immutable when `immutable` is set",
                ));
            }
        }
    }
    if kind.group == "batch" && kind.plural == "jobs" {
        for field in ["template", "selector"] {
            if old["spec"].get(field) != new["spec"].get(field) {
                return Err(ApiError::invalid(
                    kind,
                    &name,
                    &format!("spec.{field}"),
                    "field is immutable",
                ));
            }
        }
    }
    if kind.plural == "namespaces" && kind.group.is_empty() && new.get("status").is_none() {
        new["status"] = old["status"].clone();
    }
    validate(kind, &name, &new)?;
    Ok(new)
}

/// Whether two stored versions differ in anything but `metadata.resourceVersion`.
pub fn differs(old: &Value, new: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(m) = v["metadata"].as_object_mut() {
            m.remove("resourceVersion");
        }
        v
    };
    strip(old) != strip(new)
}

/// Whether an object has any finalizers.
pub fn has_finalizers(obj: &Value) -> bool {
    obj["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| !f.is_empty())
}

/// Whether an object is being deleted (has `deletionTimestamp`).
pub fn is_terminating(obj: &Value) -> bool {
    obj["metadata"]
        .get("deletionTimestamp")
        .is_some_and(|v| !v.is_null())
}

#[cfg(test)]
#[path = "objects_tests.rs"]
mod tests;
