//! Job writes: see the parent module.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use kube::Client;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions, PropagationPolicy};
use serde_json::Value;

use crate::workload::{WorkloadKind, WorkloadRef};

use super::super::apply::WriteError;
use super::super::batch::{recreated_job, split_body};
use super::super::index::IndexedWorkload;
use super::super::kube::{job, write_error};
use super::{from_json, to_json, unreadable};

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
