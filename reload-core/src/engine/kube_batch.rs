//! The kube edge for CronJobs and Jobs: the API calls around the pure transformations of
//! [`super::batch`].
//!
//! **CronJob** (Reloader's behaviour): the metadata part of the engine's body (the record of
//! the applied digest in `reloader.rs/baseline`, guarded by `metadata.resourceVersion`) is
//! patched onto the CronJob first, then ONE Job is created from the job template of the
//! patched CronJob. The record comes first so that a replay or an engine restart never creates
//! a second Job for the same change (a stale resourceVersion makes the record fail with 409 and
//! the engine re-plans). If the create then fails for good, that change gets no off-schedule
//! run: the failure is reported (`Failed`), and the CronJob's next scheduled run starts pods
//! that read the current ConfigMap/Secret anyway.
//!
//! **Job**: GET the Job, DELETE it (propagation `Background`, precondition on its
//! resourceVersion so only the state the engine planned on is deleted), CREATE the stripped
//! copy with the same name. Once deleted, the copy is kept in memory until a create succeeds:
//! every later write of that Job (the engine's retries of a retryable error) retries the
//! create instead of reading a Job that no longer exists; a final failure is reported as
//! `Failed` with a message saying the Job was deleted and not recreated.

use std::collections::HashMap;
use std::sync::Mutex;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use kube::Client;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions, PropagationPolicy};
use serde_json::Value;

use crate::workload::{WorkloadKind, WorkloadRef};

use super::apply::WriteError;
use super::batch::{job_from_cronjob, recreated_job, split_body};
use super::index::IndexedWorkload;
use super::kube::{cronjob, job, write_error};

/// Job copies deleted but not yet created again, by identity.
#[derive(Default)]
pub struct PendingRecreates {
    jobs: Mutex<HashMap<WorkloadRef, Job>>,
}

impl PendingRecreates {
    fn take(&self, id: &WorkloadRef) -> Option<Job> {
        self.jobs.lock().ok()?.remove(id)
    }

    fn keep(&self, id: &WorkloadRef, job: Job) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.insert(id.clone(), job);
        }
    }
}

fn invalid(message: impl Into<String>) -> WriteError {
    WriteError::new(422, message)
}

fn from_json<T: serde::de::DeserializeOwned>(value: Value, what: &str) -> Result<T, WriteError> {
    serde_json::from_value(value).map_err(|e| invalid(format!("cannot build the {what}: {e}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Value, WriteError> {
    serde_json::to_value(value).map_err(|e| invalid(format!("cannot read the object: {e}")))
}

fn unreadable() -> WriteError {
    invalid("the server returned a workload without a pod template")
}

/// Writes a CronJob: a metadata-only body is a PATCH; a body with template edits records the
/// digest on the CronJob, then creates one Job from its job template.
pub async fn write_cronjob(
    client: &Client,
    params: &PatchParams,
    id: &WorkloadRef,
    body: &Value,
) -> Result<IndexedWorkload, WriteError> {
    let api: Api<CronJob> = Api::namespaced(client.clone(), &id.namespace);
    let split = split_body(body, &WorkloadKind::CronJob);
    let patched = api
        .patch(&id.name, params, &Patch::Strategic(&split.metadata))
        .await
        .map_err(write_error)?;
    if let Some(template) = &split.template {
        let job = job_from_cronjob(&to_json(&patched)?, template)
            .ok_or_else(|| invalid("the CronJob has no uid or job template"))?;
        let job: Job = from_json(job, "Job")?;
        Api::<Job>::namespaced(client.clone(), &id.namespace)
            .create(&PostParams::default(), &job)
            .await
            .map_err(|e| {
                let mut error = write_error(e);
                error.message = format!(
                    "the change is recorded on CronJob {}/{} but its Job was not created: {}",
                    id.namespace, id.name, error.message
                );
                // Not retryable: a retry would find the digest recorded and create nothing.
                error.retry_after = None;
                if error.is_retryable() {
                    error.code = 424;
                }
                error
            })?;
    }
    cronjob(&patched).ok_or_else(unreadable)
}

/// Writes a Job: a metadata-only body is a PATCH; a body with template edits deletes the Job
/// and creates the patched copy under the same name.
pub async fn write_job(
    client: &Client,
    params: &PatchParams,
    pending: &PendingRecreates,
    id: &WorkloadRef,
    body: &Value,
) -> Result<IndexedWorkload, WriteError> {
    let api: Api<Job> = Api::namespaced(client.clone(), &id.namespace);
    if let Some(copy) = pending.take(id) {
        return create_copy(&api, pending, id, copy).await;
    }
    let split = split_body(body, &WorkloadKind::Job);
    let Some(template) = &split.template else {
        let patched = api
            .patch(&id.name, params, &Patch::Strategic(&split.metadata))
            .await
            .map_err(write_error)?;
        return job(&patched).ok_or_else(unreadable);
    };
    let current = api.get(&id.name).await.map_err(write_error)?;
    let planned_on = split.metadata["metadata"]["resourceVersion"].as_str();
    if planned_on.is_some() && planned_on != current.metadata.resource_version.as_deref() {
        return Err(WriteError::new(409, "the Job changed since the engine planned"));
    }
    let copy: Job = from_json(
        recreated_job(&to_json(&current)?, &split.metadata, Some(template)),
        "Job copy",
    )?;
    let delete = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Background),
        preconditions: Some(Preconditions {
            resource_version: current.metadata.resource_version.clone(),
            uid: current.metadata.uid.clone(),
        }),
        ..DeleteParams::default()
    };
    api.delete(&id.name, &delete).await.map_err(write_error)?;
    create_copy(&api, pending, id, copy).await
}

async fn create_copy(
    api: &Api<Job>,
    pending: &PendingRecreates,
    id: &WorkloadRef,
    copy: Job,
) -> Result<IndexedWorkload, WriteError> {
    match api.create(&PostParams::default(), &copy).await {
        Ok(created) => job(&created).ok_or_else(unreadable),
        // A Job of that name exists again (ours, from an earlier attempt whose response was
        // lost, or the old one still being deleted): nothing of the spec is lost, re-plan.
        Err(kube::Error::Api(status)) if status.code == 409 => {
            Err(WriteError::new(409, "a Job of that name exists; re-planning"))
        }
        Err(e) => {
            let mut error = write_error(e);
            error.message = format!(
                "Job {}/{} was deleted and could not be recreated (its spec is kept for the \
                 next attempt): {}",
                id.namespace, id.name, error.message
            );
            pending.keep(id, copy);
            Err(error)
        }
    }
}
