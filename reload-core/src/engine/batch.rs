//! CronJob and Job writes as pure JSON transformations (the API calls live in
//! the private `kube_batch` module).
//!
//! Neither kind can take the engine's strategic-merge patch on its pod template: a CronJob's
//! template is never written (Reloader creates a Job from it instead), and a Job's template is
//! immutable (Reloader deletes and recreates the Job). So the engine's patch body is split into
//! its metadata part (patched onto the object itself: baselines and, for CronJobs, the record of
//! the applied digest) and its pod-template part, which is applied here to the Job created from
//! the CronJob's job template or to the copy of the Job that replaces it.
//!
//! Between deleting a Job and creating its copy, the copy is kept in the API as a suspended
//! *holder Job* (the private `holder` module: [`holder_name`], [`holder_from_copy`],
//! [`copy_from_holder`]), so a process killed in between loses nothing: the next engine start
//! rebuilds the copy from the holder.
//!
//! The template part is the subset of strategic merge the engine produces
//! ([`crate::plan::strategic_merge_patch`]): template annotations (a `null` removes), and per
//! container (by name) env entries keyed by name, replaced whole or removed with
//! `"$patch": "delete"`.

use serde_json::{Map, Value, json};

use crate::workload::WorkloadKind;

mod holder;

pub use holder::{
    HOLDER_ANNOTATION, HOLDER_LABEL, copy_from_holder, held_name, held_uid, holder_from_copy, holder_name,
};

/// The annotation the API server's CronJob controller (and `kubectl create job --from`) puts on
/// Jobs created by hand from a CronJob.
pub const INSTANTIATE_ANNOTATION: &str = "cronjob.kubernetes.io/instantiate";

/// Pod-template labels the API server adds to a Job; a recreated Job must not carry them
/// (they name the old Job's uid), as in Reloader.
pub const JOB_CONTROLLER_LABELS: &[&str] = &[
    "controller-uid",
    "batch.kubernetes.io/controller-uid",
    "batch.kubernetes.io/job-name",
    "job-name",
];

/// The engine's patch body split for a kind that cannot be patched on its template.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SplitBody {
    /// The body without `spec`: metadata annotations and the resourceVersion guard.
    pub metadata: Value,
    /// The pod-template part (`{"metadata": …, "spec": …}` of the template), if any.
    pub template: Option<Value>,
}

/// Splits `body` into its metadata part and the pod-template part at `kind`'s template path.
pub fn split_body(body: &Value, kind: &WorkloadKind) -> SplitBody {
    let mut metadata = body.clone();
    let spec = metadata.as_object_mut().and_then(|root| root.remove("spec"));
    let template = spec.and_then(|spec| {
        let mut at = &spec;
        for segment in kind.template_path().iter().skip(1) {
            at = at.get(*segment)?;
        }
        Some(at.clone())
    });
    SplitBody { metadata, template }
}

/// Whether the metadata part carries anything besides the resourceVersion guard.
pub fn has_metadata_edits(metadata: &Value) -> bool {
    metadata["metadata"]["annotations"]
        .as_object()
        .is_some_and(|a| !a.is_empty())
}

/// The object under `key` of `value`, created (or replacing a non-object) if needed; `None`
/// when `value` itself is not an object. Never panics on odd input.
fn child<'a>(value: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    let slot = value
        .as_object_mut()?
        .entry(key)
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    Some(slot)
}

/// Merges an annotation patch (`null` removes) into `object.metadata.annotations`.
pub(super) fn merge_annotations(object: &mut Value, patch: &Value) {
    let Some(patch) = patch.as_object() else {
        return;
    };
    let Some(annotations) = child(object, "metadata")
        .and_then(|m| child(m, "annotations"))
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for (key, value) in patch {
        if value.is_null() {
            annotations.remove(key);
        } else {
            annotations.insert(key.clone(), value.clone());
        }
    }
}

/// Applies one container's env patch entries to its `env` list.
fn patch_env(container: &mut Value, entries: &[Value]) {
    let Some(container) = container.as_object_mut() else {
        return;
    };
    let env = container.entry("env").or_insert_with(|| Value::Array(Vec::new()));
    if !env.is_array() {
        *env = Value::Array(Vec::new());
    }
    let Some(env) = env.as_array_mut() else {
        return;
    };
    for entry in entries {
        let name = &entry["name"];
        if entry["$patch"] == "delete" {
            env.retain(|e| &e["name"] != name);
        } else if let Some(existing) = env.iter_mut().find(|e| &e["name"] == name) {
            existing.clone_from(entry);
        } else {
            env.push(entry.clone());
        }
    }
}

/// Applies the engine's template patch to a pod template (JSON). Containers the patch names
/// but the template lacks are left alone (the engine only plans for containers it saw).
pub fn apply_template_patch(template: &mut Value, patch: &Value) {
    merge_annotations(template, &patch["metadata"]["annotations"]);
    let Some(patched) = patch["spec"]["containers"].as_array() else {
        return;
    };
    let Some(containers) = template
        .pointer_mut("/spec/containers")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for patched in patched {
        if let Some(container) = containers.iter_mut().find(|c| c["name"] == patched["name"]) {
            patch_env(container, patched["env"].as_array().map_or(&[], Vec::as_slice));
        }
    }
}

/// The CronJob metadata annotation naming the last Job the engine created for it (written with
/// the record of the digest that Job was created for). It chains the names of the Jobs created
/// for a CronJob: see [`run_job_name`].
#[doc(alias = "reloader.rs/last-job")]
pub const LAST_JOB_ANNOTATION: &str = "reloader.rs/last-job";

/// Hex characters of the hash in a created Job's name.
const RUN_HASH_LEN: usize = 10;

/// The longest CronJob name (the API server's limit, which leaves room for the suffixes).
const MAX_CRONJOB_NAME: usize = 52;

/// The name of the Job created for one reload of `cronjob`: `<cronjob>-<10 hex>`, the hex from
/// the CronJob's uid, the last Job created for it ([`LAST_JOB_ANNOTATION`]) and the reload's
/// metadata `record` (the annotations it writes: the digests it records). Not from the template
/// patch: it may carry the time the change was observed (`last-reloaded-from`), which a replay
/// does not repeat.
///
/// The Job is created *before* the record is written, so a crash (or a failed record write)
/// between the two replays the same reload on the same CronJob state: same name, and the API
/// server's 409 AlreadyExists says the Job is there. Once the record is written it names this
/// Job, so the next reload, even back to the same data, gets a new name. A reload whose data
/// changed again before its record was written gets its own Job (the first one may already have
/// read the older data). `None` without a CronJob name or uid.
pub fn run_job_name(cronjob: &Value, record: &Value) -> Option<String> {
    use sha1::{Digest as _, Sha1};
    let meta = &cronjob["metadata"];
    let name = meta["name"].as_str()?;
    let uid = meta["uid"].as_str()?;
    let last_job = meta["annotations"][LAST_JOB_ANNOTATION].as_str().unwrap_or("");
    let mut hasher = Sha1::new();
    for part in [uid, last_job, &record.to_string()] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let hex = hex::encode(&hasher.finalize()[..RUN_HASH_LEN / 2]);
    let prefix: String = name.chars().take(MAX_CRONJOB_NAME).collect();
    Some(format!("{prefix}-{hex}"))
}

/// `metadata_patch` (the engine's metadata part) also naming `job` as the CronJob's last Job.
pub fn with_last_job(metadata_patch: &Value, job: &str) -> Value {
    let mut patch = metadata_patch.clone();
    merge_annotations(&mut patch, &json!({ LAST_JOB_ANNOTATION: job }));
    patch
}

/// The Job created when a CronJob's sources change, as Reloader creates it but named `job_name`
/// ([`run_job_name`]; Reloader uses `generateName: <cronjob>-`): in the CronJob's namespace,
/// the job template's labels, its annotations over `cronjob.kubernetes.io/instantiate: manual`
/// (template keys win), one controller owner reference to the CronJob, and the job template's
/// spec with `template_patch` applied.
///
/// `None` when the CronJob lacks a name, namespace, uid or job template spec.
pub fn job_from_cronjob(cronjob: &Value, job_name: &str, template_patch: &Value) -> Option<Value> {
    let meta = &cronjob["metadata"];
    let name = meta["name"].as_str()?;
    let namespace = meta["namespace"].as_str()?;
    let uid = meta["uid"].as_str()?;
    let job_template = &cronjob["spec"]["jobTemplate"];
    let mut spec = job_template.get("spec")?.clone();
    let mut annotations = Map::from_iter([(INSTANTIATE_ANNOTATION.to_owned(), json!("manual"))]);
    if let Some(from_template) = job_template["metadata"]["annotations"].as_object() {
        annotations.extend(from_template.clone());
    }
    let labels = job_template["metadata"]["labels"].clone();
    apply_template_patch(child(&mut spec, "template")?, template_patch);
    let mut metadata = json!({
        "name": job_name,
        "namespace": namespace,
        "annotations": annotations,
        "ownerReferences": [{
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "name": name,
            "uid": uid,
            "controller": true,
            "blockOwnerDeletion": true,
        }],
    });
    if labels.is_object() {
        metadata["labels"] = labels;
    }
    Some(json!({ "apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": spec }))
}

/// The copy of `job` that replaces it: same name, metadata labels, annotations and
/// `manualSelector`; without `resourceVersion`, `uid`, `creationTimestamp`, `status`,
/// `spec.selector` and the server's pod-template labels ([`JOB_CONTROLLER_LABELS`]), as in
/// Reloader; also without `managedFields`, `generation` and `deletionTimestamp`, which a
/// create must not carry. `metadata_patch` (the engine's metadata part) and `template_patch`
/// are applied.
pub fn recreated_job(job: &Value, metadata_patch: &Value, template_patch: Option<&Value>) -> Value {
    let mut copy = job.clone();
    if let Some(meta) = copy.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in [
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "managedFields",
            "generation",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
        ] {
            meta.remove(field);
        }
    }
    if let Some(root) = copy.as_object_mut() {
        root.remove("status");
    }
    if let Some(spec) = copy.get_mut("spec").and_then(Value::as_object_mut) {
        spec.remove("selector");
    }
    if let Some(labels) = copy
        .pointer_mut("/spec/template/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        for label in JOB_CONTROLLER_LABELS {
            labels.remove(*label);
        }
    }
    merge_annotations(&mut copy, &metadata_patch["metadata"]["annotations"]);
    if let (Some(patch), Some(template)) = (
        template_patch,
        child(&mut copy, "spec").and_then(|spec| child(spec, "template")),
    ) {
        apply_template_patch(template, patch);
    }
    copy
}

#[cfg(test)]
mod tests;
