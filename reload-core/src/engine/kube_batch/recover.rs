//! Finishing Job reloads a killed process left half done: every holder Job (see
//! [`super::super::batch::HOLDER_LABEL`]) still in the API is a reload that did not reach its
//! last step. Its copy is created if the Job's name is free, then the holder is deleted.

use k8s_openapi::api::batch::v1::Job;
use kube::Client;
use kube::api::{Api, ListParams, PostParams};

use crate::workload::{WorkloadKind, WorkloadRef};

use super::super::apply::WriteError;
use super::super::batch::{HOLDER_LABEL, copy_from_holder, held_name};
use super::super::config::Namespaces;
use super::super::kube::write_error;
use super::super::observer::Recovery;
use super::job::{Holder, release};
use super::{from_json, to_json};

/// The Job APIs to list holders with: cluster-wide unless the engine watches a fixed list of
/// namespaces (a namespace selector's namespaces change, and holders are ours wherever they
/// are).
fn apis(client: &Client, namespaces: &Namespaces) -> Vec<Api<Job>> {
    match namespaces {
        Namespaces::List(list) => list
            .iter()
            .map(|ns| Api::namespaced(client.clone(), ns))
            .collect(),
        _ => vec![Api::all(client.clone())],
    }
}

/// Finishes every holder Job in `namespaces`, reporting one [`Recovery`] per holder (and per
/// failed LIST).
pub async fn recover_jobs(client: &Client, namespaces: &Namespaces) -> Vec<Recovery> {
    let mut out = Vec::new();
    let params = ListParams::default().labels(HOLDER_LABEL);
    for api in apis(client, namespaces) {
        match api.list(&params).await {
            Ok(list) => {
                for holder in list.items {
                    out.push(finish(client, &holder).await);
                }
            }
            Err(error) => out.push(Recovery::Failed {
                job: None,
                error: write_error(error),
            }),
        }
    }
    out
}

/// Finishes one holder: the Job is created from it if missing, then the holder is deleted.
async fn finish(client: &Client, holder: &Job) -> Recovery {
    let namespace = holder.metadata.namespace.clone().unwrap_or_default();
    let holder_name = holder.metadata.name.clone().unwrap_or_default();
    let value = match to_json(holder) {
        Ok(value) => value,
        Err(error) => return failed(&namespace, &holder_name, error),
    };
    let held = held_name(&value).unwrap_or(&holder_name).to_owned();
    let id = WorkloadRef::new(WorkloadKind::Job, namespace.clone(), held);
    let Some(copy) = copy_from_holder(&value) else {
        let error = WriteError::new(
            422,
            format!("holder Job {holder_name} has no readable copy; kept"),
        );
        return Recovery::Failed { job: Some(id), error };
    };
    let api: Api<Job> = Api::namespaced(client.clone(), &namespace);
    let handle = Holder {
        name: holder_name.clone(),
        uid: holder.metadata.uid.clone(),
    };
    match api.get_opt(&id.name).await {
        Err(error) => {
            return Recovery::Failed {
                job: Some(id),
                error: write_error(error),
            };
        }
        Ok(Some(existing)) if existing.metadata.deletion_timestamp.is_some() => {
            let error = WriteError::new(
                409,
                "the Job is still being deleted; its holder is kept for the next start",
            );
            return Recovery::Failed { job: Some(id), error };
        }
        Ok(Some(_)) => return removed(&api, id, &handle).await,
        Ok(None) => {}
    }
    let copy: Job = match from_json(copy, "Job copy") {
        Ok(copy) => copy,
        Err(error) => return Recovery::Failed { job: Some(id), error },
    };
    match api.create(&PostParams::default(), &copy).await {
        Ok(_) => {
            // The Job is back; a holder left by a failed delete is removed at the next start.
            let _ = release(&api, &id, &handle).await;
            Recovery::Recreated { job: id }
        }
        Err(kube::Error::Api(status)) if status.code == 409 => removed(&api, id, &handle).await,
        Err(error) => Recovery::Failed {
            job: Some(id),
            error: write_error(error),
        },
    }
}

/// The Job exists: deletes the holder.
async fn removed(api: &Api<Job>, id: WorkloadRef, holder: &Holder) -> Recovery {
    match release(api, &id, holder).await {
        Ok(()) => Recovery::HolderRemoved { job: id },
        Err(error) => Recovery::Failed { job: Some(id), error },
    }
}

fn failed(namespace: &str, name: &str, error: WriteError) -> Recovery {
    Recovery::Failed {
        job: Some(WorkloadRef::new(WorkloadKind::Job, namespace, name)),
        error,
    }
}
