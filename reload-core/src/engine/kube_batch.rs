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
//! `Failed` with a message saying the Job was deleted and not recreated. Because the deleted Job
//! leaves the index (no further trigger would come), a create failing with a retryable error
//! (429, 5xx, transport) is reported `Failed` at once and handed to one background retry
//! (backoff from 200 ms doubling to 30 s) that runs until the API accepts it or a Job of that
//! name exists again: the spec is never lost while the process lives.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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

/// Retries the create of a pending copy in the background until it is created or a Job of
/// that name exists again; a retry of the engine that holds the copy meanwhile is skipped.
fn retry_in_background(api: Api<Job>, pending: Arc<PendingRecreates>, id: WorkloadRef) {
    tokio::spawn(async move {
        let mut wait = Duration::from_millis(200);
        loop {
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(30));
            let Some(copy) = pending.take(&id) else {
                // Created by the engine's own retry, or taken by it right now.
                if pending_is_gone(&api, &id).await {
                    return;
                }
                continue;
            };
            match api.create(&PostParams::default(), &copy).await {
                Ok(_) => {
                    tracing::info!(job = %id, "recreated the Job after the API recovered");
                    return;
                }
                Err(kube::Error::Api(status)) if status.code == 409 => return,
                Err(error) => {
                    tracing::warn!(job = %id, %error, "Job still not recreated; retrying");
                    pending.keep(&id, copy);
                }
            }
        }
    });
}

/// Whether a Job of `id`'s name exists (the copy is no longer needed).
async fn pending_is_gone(api: &Api<Job>, id: &WorkloadRef) -> bool {
    !matches!(api.get_opt(&id.name).await, Ok(None))
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
    pending: &Arc<PendingRecreates>,
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
    pending: &Arc<PendingRecreates>,
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
            let retrying = error.is_retryable();
            error.message = format!(
                "Job {}/{} was deleted and could not be recreated ({}): {}",
                id.namespace,
                id.name,
                if retrying {
                    "its spec is kept and the create retried in the background"
                } else {
                    "its spec is kept for the next reload of it"
                },
                error.message
            );
            pending.keep(id, copy);
            if retrying {
                // One owner of the copy from now on: the background retry. The engine reports
                // the failure at once instead of racing it with retries of its own.
                retry_in_background(api.clone(), pending.clone(), id.clone());
                error.code = 424;
                error.retry_after = None;
            }
            Err(error)
        }
    }
}
