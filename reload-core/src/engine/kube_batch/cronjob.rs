//! CronJob writes: see the parent module.

use k8s_openapi::api::batch::v1::{CronJob, Job};
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::Value;

use crate::workload::{WorkloadKind, WorkloadRef};

use super::super::apply::WriteError;
use super::super::batch::{job_from_cronjob, run_job_name, split_body, with_last_job};
use super::super::index::IndexedWorkload;
use super::super::kube::{cronjob, write_error};
use super::{from_json, invalid, to_json, unreadable};

/// Writes a CronJob: a metadata-only body is a PATCH; a body with template edits creates the
/// reload's Job from the CronJob's job template first, then records the digest on the CronJob
/// (with the Job's name).
pub async fn write_cronjob(
    client: &Client,
    params: &PatchParams,
    id: &WorkloadRef,
    body: &Value,
) -> Result<IndexedWorkload, WriteError> {
    let api: Api<CronJob> = Api::namespaced(client.clone(), &id.namespace);
    let split = split_body(body, &WorkloadKind::CronJob);
    let Some(template) = &split.template else {
        return record(&api, params, id, &split.metadata).await;
    };
    let current = to_json(&api.get(&id.name).await.map_err(write_error)?)?;
    let planned_on = split.metadata["metadata"]["resourceVersion"].as_str();
    if planned_on.is_some() && planned_on != current["metadata"]["resourceVersion"].as_str() {
        return Err(WriteError::new(
            409,
            "the CronJob changed since the engine planned",
        ));
    }
    let job_name = run_job_name(&current, &split.metadata["metadata"]["annotations"])
        .ok_or_else(|| invalid("the CronJob has no uid"))?;
    let job = job_from_cronjob(&current, &job_name, template)
        .ok_or_else(|| invalid("the CronJob has no uid or job template"))?;
    let job: Job = from_json(job, "Job")?;
    match Api::<Job>::namespaced(client.clone(), &id.namespace)
        .create(&PostParams::default(), &job)
        .await
    {
        Ok(_) => {}
        // Created by an earlier attempt of this same reload whose record was not written (a
        // crash, a failed PATCH): the name is this reload's, so the run is there.
        Err(kube::Error::Api(status)) if status.code == 409 => {
            tracing::debug!(cronjob = %id, job = %job_name, "the reload's Job already exists; recording it");
        }
        Err(e) => {
            let mut error = write_error(e);
            error.message = format!(
                "the Job of CronJob {}/{} was not created, so its change is not recorded: {}",
                id.namespace, id.name, error.message
            );
            return Err(error);
        }
    }
    record(&api, params, id, &with_last_job(&split.metadata, &job_name)).await
}

/// PATCHes the metadata part (records, baselines; guarded by its resourceVersion).
async fn record(
    api: &Api<CronJob>,
    params: &PatchParams,
    id: &WorkloadRef,
    metadata: &Value,
) -> Result<IndexedWorkload, WriteError> {
    let patched = api
        .patch(&id.name, params, &Patch::Strategic(metadata))
        .await
        .map_err(write_error)?;
    cronjob(&patched).ok_or_else(unreadable)
}
