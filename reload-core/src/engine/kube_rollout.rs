//! The kube edge for Argo Rollouts: a [`CustomKind`] named `Rollout` (watched as
//! `DynamicObject`s, the kind is a CRD), plus what is special about it: the `spec.workloadRef`
//! report, the discovery check at start-up, and the `restart` mode write around the pure
//! transformations of [`super::rollout`].

use kube::Client;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::Value;

use crate::workload::{WorkloadKind, WorkloadRef};

use super::apply::WriteError;
use super::custom_kind::CustomKind;
use super::index::IndexedWorkload;
use super::kube::write_error;
use super::rollout::restart_at;

/// The Rollout kind (`argoproj.io/v1alpha1`, plural `rollouts`).
pub fn rollout_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Rollout"),
        "rollouts",
    )
}

/// Rollouts as a custom kind: pod template at `spec.template`, named `WorkloadKind::Rollout`.
pub fn rollout_kind() -> CustomKind {
    CustomKind::new(rollout_resource(), "/spec/template").named(WorkloadKind::Rollout)
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
    match rollout_kind().index(object)? {
        Err(crate::Error::UnsupportedWorkload { workload, .. })
            if object.data["spec"].get("workloadRef").is_some() =>
        {
            Some(Err(crate::Error::UnsupportedWorkload {
                workload,
                reason: "the Rollout uses spec.workloadRef and has no inline pod template; \
                         reload the referenced Deployment instead"
                    .to_owned(),
            }))
        }
        other => Some(other),
    }
}

/// Writes a Rollout: in `restart` mode (the body sets `spec.restartAt`) the body as a JSON
/// merge patch; otherwise as every custom kind ([`CustomKind::write`]: the template edits under
/// `spec.template`, guarded by the resourceVersion read when containers are edited).
pub async fn write_rollout(
    client: &Client,
    params: &PatchParams,
    id: &WorkloadRef,
    body: &Value,
) -> Result<IndexedWorkload, WriteError> {
    let kind = rollout_kind();
    if restart_at(body).is_none() {
        return kind.write(client, params, id, body).await;
    }
    let api = kube::Api::<DynamicObject>::namespaced_with(client.clone(), &id.namespace, kind.resource());
    let patched = api
        .patch(&id.name, params, &Patch::Merge(body))
        .await
        .map_err(write_error)?;
    match rollout(&patched) {
        Some(Ok(indexed)) => Ok(indexed),
        _ => Err(WriteError::new(
            422,
            format!("the server returned {id} without a pod template"),
        )),
    }
}
