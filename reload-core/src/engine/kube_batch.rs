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

mod cronjob;
mod job;
mod recover;

pub use cronjob::write_cronjob;
pub use job::{PendingRecreates, write_job};
pub use recover::recover_jobs;

use serde_json::Value;

use super::apply::WriteError;

pub(super) fn invalid(message: impl Into<String>) -> WriteError {
    WriteError::new(422, message)
}

pub(super) fn from_json<T: serde::de::DeserializeOwned>(value: Value, what: &str) -> Result<T, WriteError> {
    serde_json::from_value(value).map_err(|e| invalid(format!("cannot build the {what}: {e}")))
}

pub(super) fn to_json<T: serde::Serialize>(value: &T) -> Result<Value, WriteError> {
    serde_json::to_value(value).map_err(|e| invalid(format!("cannot read the object: {e}")))
}

pub(super) fn unreadable() -> WriteError {
    invalid("the server returned a workload without a pod template")
}
