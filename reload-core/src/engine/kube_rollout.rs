//! The kube edge for Argo Rollouts: the watch (as `DynamicObject`s, the kind is a CRD), the
//! discovery check at start-up, and the writes around the pure transformations of
//! [`super::rollout`].

use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams};
use serde_json::Value;

use crate::workload::{Workload, WorkloadKind, WorkloadRef};

use super::apply::WriteError;
use super::batch::split_body;
use super::index::IndexedWorkload;
use super::kube::write_error;
use super::rollout::{restart_at, updated_rollout};

/// The Rollout kind (`argoproj.io/v1alpha1`, plural `rollouts`).
pub fn rollout_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Rollout"),
        "rollouts",
    )
}

/// Whether the API server serves `resource` (its group-version lists the plural). `Err` says
/// why not, for the one start-up report; any failure counts as "not served".
pub async fn check_served(client: &Client, resource: &ApiResource) -> Result<(), String> {
    match client.list_api_group_resources(&resource.api_version).await {
        Ok(list) if list.resources.iter().any(|r| r.name == resource.plural) => Ok(()),
        Ok(_) => Err(format!(
            "{} does not serve {}",
            resource.api_version, resource.plural
        )),
        Err(error) => Err(format!("{} is not served ({error})", resource.api_version)),
    }
}

/// The indexed form of a Rollout; `Err` for a Rollout that cannot be reloaded (no inline pod
/// template, e.g. `spec.workloadRef`), `None` for an object without name or namespace.
pub fn rollout(object: &DynamicObject) -> Option<crate::Result<IndexedWorkload>> {
    let meta = &object.metadata;
    let id = WorkloadRef::new(WorkloadKind::Rollout, meta.namespace.clone()?, meta.name.clone()?);
    let value = serde_json::to_value(object).ok()?;
    let workload = match Workload::from_json(WorkloadKind::Rollout, &value) {
        Ok(workload) => workload,
        Err(error) => {
            let reason = if value["spec"].get("workloadRef").is_some() {
                "the Rollout uses spec.workloadRef and has no inline pod template; \
                 reload the referenced Deployment instead"
                    .to_owned()
            } else {
                error.to_string()
            };
            return Some(Err(crate::Error::UnsupportedWorkload { workload: id, reason }));
        }
    };
    Some(Ok(IndexedWorkload {
        workload,
        uid: meta.uid.clone(),
        resource_version: meta.resource_version.clone(),
        created_ms: meta.creation_timestamp.as_ref().map(|t| t.0.as_millisecond()),
        paused: false,
    }))
}

fn unreadable(id: &WorkloadRef) -> WriteError {
    WriteError::new(422, format!("the server returned {id} without a pod template"))
}

fn api(client: &Client, id: &WorkloadRef) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), &id.namespace, &rollout_resource())
}

fn indexed(object: &DynamicObject, id: &WorkloadRef) -> Result<IndexedWorkload, WriteError> {
    match rollout(object) {
        Some(Ok(indexed)) => Ok(indexed),
        _ => Err(unreadable(id)),
    }
}

/// GETs a Rollout.
pub async fn get_rollout(client: &Client, id: &WorkloadRef) -> Result<IndexedWorkload, WriteError> {
    let object = api(client, id).get(&id.name).await.map_err(write_error)?;
    indexed(&object, id)
}

/// Writes a Rollout: a restart patch (`spec.restartAt`) or a metadata-only body as a JSON merge
/// patch; a body with template edits as GET, apply, PUT under the resourceVersion read (409 when
/// it changed since the engine planned, so the engine re-plans).
pub async fn write_rollout(
    client: &Client,
    params: &PatchParams,
    id: &WorkloadRef,
    body: &Value,
) -> Result<IndexedWorkload, WriteError> {
    let api = api(client, id);
    let split = split_body(body, &WorkloadKind::Rollout);
    if restart_at(body).is_some() || split.template.is_none() {
        let patched = api
            .patch(&id.name, params, &Patch::Merge(body))
            .await
            .map_err(write_error)?;
        return indexed(&patched, id);
    }
    let current = api.get(&id.name).await.map_err(write_error)?;
    let planned_on = split.metadata["metadata"]["resourceVersion"].as_str();
    if planned_on.is_some() && planned_on != current.metadata.resource_version.as_deref() {
        return Err(WriteError::new(
            409,
            "the Rollout changed since the engine planned",
        ));
    }
    let current = serde_json::to_value(&current)
        .map_err(|e| WriteError::new(422, format!("cannot read the Rollout: {e}")))?;
    let updated: DynamicObject = serde_json::from_value(updated_rollout(&current, &split))
        .map_err(|e| WriteError::new(422, format!("cannot build the Rollout: {e}")))?;
    let post = PostParams {
        field_manager: params.field_manager.clone(),
        ..PostParams::default()
    };
    let replaced = api
        .replace(&id.name, &post, &updated)
        .await
        .map_err(write_error)?;
    indexed(&replaced, id)
}
