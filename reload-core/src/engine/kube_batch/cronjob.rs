//! CronJob writes: see the parent module.

use k8s_openapi::api::batch::v1::{CronJob, Job};
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::Value;

use crate::workload::{WorkloadKind, WorkloadRef};

use super::super::apply::WriteError;
use super::super::batch::{job_from_cronjob, split_body};
use super::super::index::IndexedWorkload;
use super::super::kube::{cronjob, write_error};
use super::{from_json, invalid, to_json, unreadable};

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
