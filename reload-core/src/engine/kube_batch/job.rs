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
use super::super::batch::{HOLDER_LABEL, holder_from_copy, recreated_job, split_body};
use super::super::index::IndexedWorkload;
use super::super::kube::{job, write_error};
use super::{from_json, to_json, unreadable};

/// A holder Job in the API: its name and uid (the precondition of its delete).
#[derive(Debug, Clone)]
pub(super) struct Holder {
    pub(super) name: String,
    pub(super) uid: Option<String>,
}

/// A copy deleted but not yet created again, and its holder when it has one.
struct Pending {
    copy: Job,
    holder: Option<Holder>,
}

/// Job copies deleted but not yet created again, by identity.
#[derive(Default)]
pub struct PendingRecreates {
    jobs: Mutex<HashMap<WorkloadRef, Pending>>,
}

impl PendingRecreates {
    fn take(&self, id: &WorkloadRef) -> Option<Pending> {
        self.jobs.lock().ok()?.remove(id)
    }

    fn keep(&self, id: &WorkloadRef, pending: Pending) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.insert(id.clone(), pending);
        }
    }
}

/// A delete of exactly the object of `uid` (and `resource_version`, if given), in the
/// background.
pub(super) fn delete_params(uid: Option<String>, resource_version: Option<String>) -> DeleteParams {
    DeleteParams {
        propagation_policy: Some(PropagationPolicy::Background),
        preconditions: Some(Preconditions {
            resource_version,
            uid,
        }),
        ..DeleteParams::default()
    }
}

/// Deletes a holder whose copy is created (or no longer needed); gone already is fine. A
/// failure is logged and returned: the holder is left to the next start's recovery, which
/// deletes it because the Job exists.
pub(super) async fn release(api: &Api<Job>, id: &WorkloadRef, holder: &Holder) -> Result<(), WriteError> {
    match api
        .delete(&holder.name, &delete_params(holder.uid.clone(), None))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(error) => {
            let error = write_error(error);
            tracing::warn!(job = %id, holder = %holder.name, %error,
                "could not delete the holder Job; it is deleted at the next start");
            Err(error)
        }
    }
}

/// Creates the holder of `copy` before the Job of `current` is deleted. `Ok(None)`: no
/// holder (the copy is then kept in memory only, as before holders existed), logged at warn;
/// a retryable error is returned (nothing was deleted yet: the engine retries the reload).
async fn hold(
    api: &Api<Job>,
    id: &WorkloadRef,
    current: &Job,
    copy: &Value,
) -> Result<Option<Holder>, WriteError> {
    let without = |why: &dyn std::fmt::Display| {
        tracing::warn!(job = %id, reason = %why,
            "no holder Job for this reload: the Job's copy lives only in memory until it is created");
        Ok(None)
    };
    let Some(uid) = current.metadata.uid.as_deref() else {
        return without(&"the Job has no uid");
    };
    let Some(holder) = holder_from_copy(copy, uid) else {
        return without(&"the copy has no name, namespace or spec");
    };
    let holder: Job = match from_json(holder, "holder Job") {
        Ok(holder) => holder,
        Err(error) => return without(&error),
    };
    let name = holder.metadata.name.clone().unwrap_or_default();
    for attempt in 0..2 {
        match api.create(&PostParams::default(), &holder).await {
            Ok(created) => {
                return Ok(Some(Holder {
                    name,
                    uid: created.metadata.uid,
                }));
            }
            // An earlier attempt at this Job (same uid, same name) left its holder, maybe for
            // an older patch: replace it, so a crash recreates the copy planned now.
            Err(kube::Error::Api(status)) if status.code == 409 && attempt == 0 => {
                let Some(existing) = api.get_opt(&name).await.map_err(write_error)? else {
                    continue; // Deleted meanwhile: create it again.
                };
                let ours = existing
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(HOLDER_LABEL))
                    == Some(&id.name);
                if !ours {
                    return without(&format!("a Job named {name} exists and is not its holder"));
                }
                let uid = existing.metadata.uid;
                if let Err(error) = api.delete(&name, &delete_params(uid, None)).await {
                    return without(&error);
                }
            }
            Err(error) => {
                let error = write_error(error);
                if error.is_retryable() {
                    return Err(error);
                }
                return without(&error);
            }
        }
    }
    without(&"its earlier holder could not be replaced")
}

/// Retries the create of a pending copy in the background until it is created or a Job of
/// that name exists again; a retry of the engine that holds the copy meanwhile is skipped.
fn retry_in_background(api: Api<Job>, pending: Arc<PendingRecreates>, id: WorkloadRef) {
    tokio::spawn(async move {
        let mut wait = Duration::from_millis(200);
        loop {
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(30));
            let Some(item) = pending.take(&id) else {
                // Created by the engine's own retry, or taken by it right now.
                if pending_is_gone(&api, &id).await {
                    return;
                }
                continue;
            };
            match api.create(&PostParams::default(), &item.copy).await {
                Ok(_) => {
                    tracing::info!(job = %id, "recreated the Job after the API recovered");
                    if let Some(holder) = &item.holder {
                        let _ = release(&api, &id, holder).await;
                    }
                    return;
                }
                Err(kube::Error::Api(status)) if status.code == 409 => {
                    release_unless_terminating(&api, &id, item.holder.as_ref()).await;
                    return;
                }
                Err(error) => {
                    tracing::warn!(job = %id, %error, "Job still not recreated; retrying");
                    pending.keep(&id, item);
                }
            }
        }
    });
}

/// Whether a Job of `id`'s name exists (the copy is no longer needed).
async fn pending_is_gone(api: &Api<Job>, id: &WorkloadRef) -> bool {
    !matches!(api.get_opt(&id.name).await, Ok(None))
}

/// After a create answered 409 (a Job of that name exists): deletes the holder, unless that
/// Job is the deleted one still terminating (finalizers), whose copy is still needed.
async fn release_unless_terminating(api: &Api<Job>, id: &WorkloadRef, holder: Option<&Holder>) {
    let Some(holder) = holder else {
        return;
    };
    if let Ok(Some(existing)) = api.get_opt(&id.name).await
        && existing.metadata.deletion_timestamp.is_none()
    {
        let _ = release(api, id, holder).await;
    }
}

/// Writes a Job: a metadata-only body is a PATCH; a body with template edits deletes the Job
/// and creates the patched copy under the same name, with a holder Job keeping the copy in
/// the API in between.
pub async fn write_job(
    client: &Client,
    params: &PatchParams,
    pending: &Arc<PendingRecreates>,
    id: &WorkloadRef,
    body: &Value,
) -> Result<IndexedWorkload, WriteError> {
    let api: Api<Job> = Api::namespaced(client.clone(), &id.namespace);
    if let Some(item) = pending.take(id) {
        return create_copy(&api, pending, id, item).await;
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
    let copy = recreated_job(&to_json(&current)?, &split.metadata, Some(template));
    let holder = hold(&api, id, &current, &copy).await?;
    let copy: Job = from_json(copy, "Job copy")?;
    let delete = delete_params(
        current.metadata.uid.clone(),
        current.metadata.resource_version.clone(),
    );
    if let Err(error) = api.delete(&id.name, &delete).await {
        if let Some(holder) = &holder {
            let _ = release(&api, id, holder).await;
        }
        return Err(write_error(error));
    }
    create_copy(&api, pending, id, Pending { copy, holder }).await
}

async fn create_copy(
    api: &Api<Job>,
    pending: &Arc<PendingRecreates>,
    id: &WorkloadRef,
    item: Pending,
) -> Result<IndexedWorkload, WriteError> {
    match api.create(&PostParams::default(), &item.copy).await {
        Ok(created) => {
            if let Some(holder) = &item.holder {
                let _ = release(api, id, holder).await;
            }
            job(&created).ok_or_else(unreadable)
        }
        // A Job of that name exists again (ours, from an earlier attempt whose response was
        // lost, or the old one still being deleted): nothing of the spec is lost, re-plan.
        Err(kube::Error::Api(status)) if status.code == 409 => {
            release_unless_terminating(api, id, item.holder.as_ref()).await;
            Err(WriteError::new(409, "a Job of that name exists; re-planning"))
        }
        Err(e) => {
            let mut error = write_error(e);
            let retrying = error.is_retryable();
            error.message = format!(
                "Job {}/{} was deleted and could not be recreated ({}): {}",
                id.namespace,
                id.name,
                match (retrying, item.holder.is_some()) {
                    (true, _) => "its spec is kept and the create retried in the background",
                    (false, true) => "its spec is kept in its holder Job, recreated at the next start",
                    (false, false) => "its spec is kept for the next reload of it",
                },
                error.message
            );
            pending.keep(id, item);
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
