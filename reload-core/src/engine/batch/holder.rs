//! The holder Job: a durable copy of a Job's replacement, kept in the API between the DELETE of
//! the Job and the CREATE of its copy, so a process killed in between loses nothing.
//!
//! The holder is a Job (the only kind Reloader's RBAC lets us create next to the Job) named
//! after the Job plus a hash of its uid ([`holder_name`]), labelled only
//! [`HOLDER_LABEL`]` = <the Job's name>` (no user labels, so queue managers and label-selecting
//! tools ignore it), suspended (it never runs pods), with the copy's spec (so it passes the same
//! admission policies as the Job) and the copy's metadata and original `spec.suspend` in the
//! [`HOLDER_ANNOTATION`]. [`copy_from_holder`] rebuilds the copy from a holder read back from
//! the server.

use serde_json::{Value, json};
use sha1::{Digest as _, Sha1};

use super::recreated_job;

/// The label every holder Job carries; its value is the name of the Job it holds a copy of.
pub const HOLDER_LABEL: &str = "reloader.rs/recreates";

/// The annotation of a holder Job with the copy's metadata, original `spec.suspend` and the
/// uid of the Job it replaces, as JSON.
pub const HOLDER_ANNOTATION: &str = "reloader.rs/recreates-copy";

/// The longest Job name the API server accepts (it becomes the `job-name` label value).
const MAX_NAME: usize = 63;

/// Hex digits of the uid hash in a holder's name.
const HASH_LEN: usize = 10;

/// The name of the holder of the Job `name` with uid `uid`: the name cut so the whole is at most
/// 63 characters, `-`, and the first 10 hex digits of the SHA-1 of the uid. Deterministic, so
/// a retry of the same reload finds the holder an earlier attempt created.
///
/// ```
/// use reload_core::engine::batch::holder_name;
/// let name = holder_name(&"j".repeat(63), "0b7c6a0e-uid");
/// assert!(name.len() <= 63);
/// assert_eq!(name, holder_name(&"j".repeat(63), "0b7c6a0e-uid"));
/// ```
pub fn holder_name(name: &str, uid: &str) -> String {
    let hash = hex::encode(Sha1::digest(uid.as_bytes()));
    let hash = hash.get(..HASH_LEN).unwrap_or(&hash);
    let keep = MAX_NAME - HASH_LEN - 1;
    let prefix: String = name.chars().take(keep).collect();
    // A DNS name must end with an alphanumeric character.
    let prefix = prefix.trim_end_matches(['-', '.']);
    if prefix.is_empty() {
        return format!("job-{hash}");
    }
    format!("{prefix}-{hash}")
}

/// The holder of `copy` (a Job as [`recreated_job`] makes it) replacing the Job of uid
/// `original_uid`. `None` when the copy lacks a name, namespace or spec.
pub fn holder_from_copy(copy: &Value, original_uid: &str) -> Option<Value> {
    let metadata = copy.get("metadata")?;
    let name = metadata.get("name")?.as_str()?;
    let namespace = metadata.get("namespace")?.as_str()?;
    let mut spec = copy.get("spec")?.clone();
    let suspend = spec.get("suspend").cloned().unwrap_or(Value::Null);
    spec.as_object_mut()?
        .insert("suspend".to_owned(), Value::Bool(true));
    let record = json!({ "uid": original_uid, "metadata": metadata, "suspend": suspend });
    Some(json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": holder_name(name, original_uid),
            "namespace": namespace,
            "labels": { HOLDER_LABEL: name },
            "annotations": { HOLDER_ANNOTATION: record.to_string() },
        },
        "spec": spec,
    }))
}

/// The record a holder carries (its [`HOLDER_ANNOTATION`], parsed).
fn record(holder: &Value) -> Option<Value> {
    let text = holder
        .pointer("/metadata/annotations")?
        .get(HOLDER_ANNOTATION)?
        .as_str()?;
    serde_json::from_str::<Value>(text).ok().filter(Value::is_object)
}

/// The uid of the Job a holder replaces, if the holder records it.
pub fn held_uid(holder: &Value) -> Option<String> {
    record(holder)?.get("uid")?.as_str().map(str::to_owned)
}

/// The name of the Job a holder holds a copy of (its [`HOLDER_LABEL`]); `None` for a Job that
/// is not a holder.
pub fn held_name(job: &Value) -> Option<&str> {
    job.pointer("/metadata/labels")?.get(HOLDER_LABEL)?.as_str()
}

/// The copy a holder read back from the server stands for: the server's fields stripped as
/// [`recreated_job`] does (uid, resourceVersion, status, selector, controller labels...), the
/// copy's metadata from the [`HOLDER_ANNOTATION`], and the copy's own `spec.suspend` restored.
/// `None` when the annotation is missing or unreadable, or names no Job.
pub fn copy_from_holder(holder: &Value) -> Option<Value> {
    let record = record(holder)?;
    let metadata = record.get("metadata").filter(|m| m.is_object())?.clone();
    metadata.get("name")?.as_str()?;
    let mut copy = recreated_job(holder, &Value::Null, None);
    let root = copy.as_object_mut()?;
    root.insert("metadata".to_owned(), metadata);
    let spec = root.get_mut("spec")?.as_object_mut()?;
    match record.get("suspend") {
        Some(Value::Bool(suspend)) => {
            spec.insert("suspend".to_owned(), Value::Bool(*suspend));
        }
        _ => {
            spec.remove("suspend");
        }
    }
    Some(copy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::batch::JOB_CONTROLLER_LABELS;

    /// What the API server does to a created Job (uid, resourceVersion, selector, pod-template
    /// labels, status, timestamps), as the simulator and a real server do.
    fn as_created(job: &Value, uid: &str) -> Value {
        let mut job = job.clone();
        let name = job["metadata"]["name"].as_str().expect("name").to_owned();
        job["metadata"]["uid"] = json!(uid);
        job["metadata"]["resourceVersion"] = json!("42");
        job["metadata"]["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
        job["metadata"]["generation"] = json!(1);
        job["metadata"]["managedFields"] = json!([{"manager": "kubectl"}]);
        job["spec"]["selector"] = json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}});
        for label in JOB_CONTROLLER_LABELS {
            let value = if label.ends_with("uid") {
                uid
            } else {
                name.as_str()
            };
            job["spec"]["template"]["metadata"]["labels"][*label] = json!(value);
        }
        job["status"] = json!({"active": 0});
        job
    }

    fn copy() -> Value {
        json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {
                "name": "once", "namespace": "ns",
                "labels": {"kept": "yes", "kueue.x-k8s.io/queue-name": "q"},
                "annotations": {"reloader.stakater.com/auto": "true"},
                "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": "u"}],
            },
            "spec": {
                "backoffLimit": 4,
                "template": {
                    "metadata": {"labels": {"app": "batch"}},
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "app", "image": "busybox"}]},
                },
            },
        })
    }

    #[test]
    fn a_copy_survives_the_round_trip_through_a_holder_on_the_server() {
        for suspend in [None, Some(false), Some(true)] {
            let mut copy = copy();
            if let Some(suspend) = suspend {
                copy["spec"]["suspend"] = json!(suspend);
            }
            let holder = holder_from_copy(&copy, "old-uid").expect("a holder");
            let stored = as_created(&holder, "holder-uid");
            assert_eq!(copy_from_holder(&stored), Some(copy), "suspend {suspend:?}");
        }
    }

    #[test]
    fn a_holder_is_suspended_and_carries_only_its_own_label() {
        let holder = holder_from_copy(&copy(), "old-uid").expect("a holder");
        assert_eq!(holder["spec"]["suspend"], json!(true));
        assert_eq!(holder["metadata"]["labels"], json!({HOLDER_LABEL: "once"}));
        assert_eq!(holder["metadata"]["name"], json!(holder_name("once", "old-uid")));
        assert_eq!(holder["metadata"]["namespace"], json!("ns"));
        assert!(holder["metadata"].get("ownerReferences").is_none());
        assert_eq!(holder["spec"]["template"], copy()["spec"]["template"]);
        assert_eq!(held_name(&holder), Some("once"));
        assert_eq!(held_uid(&holder).as_deref(), Some("old-uid"));
        assert_eq!(held_name(&copy()), None, "a user's Job is no holder");
    }

    #[test]
    fn holder_names_fit_63_characters_and_are_deterministic_per_uid() {
        let long = "a".repeat(63);
        let name = holder_name(&long, "uid-1");
        assert_eq!(name.len(), 63);
        assert_eq!(name, holder_name(&long, "uid-1"));
        assert_ne!(name, holder_name(&long, "uid-2"));
        assert!(name.starts_with(&"a".repeat(52)));
        // A cut that would end in '-' or '.' is trimmed to stay a valid DNS name.
        let dashed = format!("{}-b", "c".repeat(51));
        let name = holder_name(&dashed, "uid-1");
        assert!(name.starts_with(&format!("{}-", "c".repeat(51))) && !name.contains("--"));
        assert!(name.len() <= 63);
        assert_eq!(holder_name("once", "uid-1").len(), "once".len() + 11);
    }

    #[test]
    fn a_holder_without_a_readable_record_gives_no_copy() {
        let mut holder = as_created(&holder_from_copy(&copy(), "u").expect("holder"), "h");
        holder["metadata"]["annotations"][HOLDER_ANNOTATION] = json!("not json");
        assert_eq!(copy_from_holder(&holder), None);
        holder["metadata"]["annotations"][HOLDER_ANNOTATION] = json!(r#"{"metadata": {}}"#);
        assert_eq!(copy_from_holder(&holder), None, "no name");
        assert_eq!(copy_from_holder(&json!({"metadata": {}})), None);
        assert_eq!(holder_from_copy(&json!({"metadata": {"name": "x"}}), "u"), None);
    }
}
