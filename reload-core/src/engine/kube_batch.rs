//! The kube edge for CronJobs and Jobs: the API calls around the pure transformations of
//! [`super::batch`].
//!
//! **CronJob**: GET the CronJob (its job template is not in the engine's index), check its
//! resourceVersion against the one the engine planned on (409 re-plans otherwise), CREATE ONE
//! Job from its job template under a name that identifies this reload
//! ([`super::batch::run_job_name`]), then PATCH the record of the applied digest (in
//! `reloader.rs/baseline`, with the Job's name in `reloader.rs/last-job`, guarded by
//! `metadata.resourceVersion`) onto the CronJob. The Job comes first so that a crash or a
//! failed record between the two writes loses no run: the replay plans the same reload on the
//! same CronJob state, gets the same Job name, and the API's 409 AlreadyExists says the Job is
//! there, so only the record is written. A replay never creates a second Job; a create that
//! fails retryably is retried by the engine like any write (nothing was recorded yet).
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

pub use cronjob::write_cronjob;
pub use job::{PendingRecreates, write_job};

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
