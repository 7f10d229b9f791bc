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
//! **Job**: GET the Job, check its resourceVersion against the one the engine planned on,
//! CREATE a *holder Job* ([`super::batch::holder_from_copy`]: named after the Job plus a hash of
//! its uid, labelled only `reloader.rs/recreates: <name>`, suspended, holding the copy's spec,
//! metadata and original `suspend`), DELETE the Job (propagation `Background`, preconditions on
//! its uid and resourceVersion so only the state the engine planned on is deleted), CREATE the
//! stripped copy with the same name, DELETE the holder. Everything fits Reloader's RBAC
//! (batch/jobs get, list, create, delete). The holder is the copy's durable home between the
//! DELETE and the CREATE: a process killed there leaves it behind, and the next engine that
//! opens writes finishes the reload from it ([`super::WorkloadWriter::recover`], the private
//! `recover` module: LIST by the holder label in the engine's namespaces; the copy is created
//! if the Job's name is free, then the holder deleted; each outcome is an
//! [`super::EngineEvent::Recovered`]). Holders are never indexed: the Job watch selects
//! `!reloader.rs/recreates`, and the reducer drops them too.
//!
//! - A holder left by an earlier attempt at the same Job (409 on its create) is replaced, so a
//!   crash recreates the copy planned now.
//! - A holder refused for good (403/422: an admission policy) does not fail the reload: it goes
//!   on without one (logged at warn), with the copy in memory only, as before holders existed.
//!   A retryable error (5xx, transport) on the holder fails the attempt before anything is
//!   deleted: the engine retries it.
//! - A failed DELETE of the Job (412/409 precondition, 404) deletes the holder and is reported.
//! - Once deleted, the copy is also kept in memory until a create succeeds: every later write
//!   of that Job (the engine's retries of a retryable error) retries the create instead of
//!   reading a Job that no longer exists; a final failure is reported as `Failed` with a
//!   message saying the Job was deleted and not recreated (its holder stays for the next
//!   start). Because the deleted Job leaves the index (no further trigger would come), a create
//!   failing with a retryable error (429, 5xx, transport) is reported `Failed` at once and
//!   handed to one background retry (backoff from 200 ms doubling to 30 s) that runs until the
//!   API accepts it or a Job of that name exists again, then deletes the holder.
//! - A holder whose DELETE fails is left; the next recovery deletes it because its Job exists.
//!   Known limit: if that Job is deleted by someone before the next start, the recovery
//!   recreates it from the stale holder.

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
