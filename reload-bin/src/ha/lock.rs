//! The I/O edge of leader election: reading and writing one Lease.
//!
//! Writes are a create (409 if it appeared meanwhile) or a full update carrying the
//! `metadata.resourceVersion` that was read (409 if anyone wrote in between): either way a
//! conflict means another replica won this round.

use std::future::Future;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};

use super::decision::LeaseRecord;

/// A failed Lease request.
///
/// Every variant is retryable: the elector tries again in the next round.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another replica wrote the Lease first (HTTP 409).
    #[error("the Lease {lease} was written by someone else first")]
    Conflict {
        /// `namespace/name`.
        lease: String,
    },
    /// The request failed (network, authorization, server error).
    #[error("request for the Lease {lease} failed")]
    Request {
        /// `namespace/name`.
        lease: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl LockError {
    /// A stable low-cardinality name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            LockError::Conflict { .. } => "conflict",
            LockError::Request { .. } => "request",
        }
    }
}

/// The Lease as read: its election record, and the object to update.
#[derive(Debug, Clone)]
pub struct ReadLease {
    /// The election fields of `spec`.
    pub record: LeaseRecord,
    /// The object as read (its `resourceVersion` guards the update).
    pub object: Lease,
}

/// Reads and writes one Lease. [`KubeLease`] is the real one; tests use an in-memory one.
pub trait LeaseLock: Send + Sync {
    /// `namespace/name` of the Lease, for logs.
    fn describe(&self) -> String;

    /// Reads the Lease; `None` when it does not exist.
    fn get(&self) -> impl Future<Output = Result<Option<ReadLease>, LockError>> + Send;

    /// Creates the Lease holding `record`; [`LockError::Conflict`] if it exists already.
    fn create(&self, record: &LeaseRecord) -> impl Future<Output = Result<(), LockError>> + Send;

    /// Replaces `read` with `record` in its spec, guarded by `read`'s `resourceVersion`;
    /// [`LockError::Conflict`] if the Lease changed since.
    fn update(
        &self,
        read: &ReadLease,
        record: &LeaseRecord,
    ) -> impl Future<Output = Result<(), LockError>> + Send;
}

/// The Lease through the Kubernetes API (`coordination.k8s.io/v1`).
#[derive(Clone)]
pub struct KubeLease {
    api: Api<Lease>,
    namespace: String,
    name: String,
}

impl KubeLease {
    /// The Lease `name` in `namespace`.
    pub fn new(client: kube::Client, namespace: &str, name: &str) -> Self {
        KubeLease {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }

    fn error(&self, error: kube::Error) -> LockError {
        match &error {
            kube::Error::Api(status) if status.code == 409 => LockError::Conflict {
                lease: self.describe(),
            },
            _ => LockError::Request {
                lease: self.describe(),
                source: Box::new(error),
            },
        }
    }
}

impl LeaseLock for KubeLease {
    fn describe(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    async fn get(&self) -> Result<Option<ReadLease>, LockError> {
        let lease = self.api.get_opt(&self.name).await.map_err(|e| self.error(e))?;
        Ok(lease.map(|object| ReadLease {
            record: LeaseRecord::from_spec(object.spec.as_ref().unwrap_or(&LeaseSpec::default())),
            object,
        }))
    }

    async fn create(&self, record: &LeaseRecord) -> Result<(), LockError> {
        let mut spec = LeaseSpec::default();
        record.write_to(&mut spec);
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                namespace: Some(self.namespace.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(spec),
        };
        self.api
            .create(&PostParams::default(), &lease)
            .await
            .map(drop)
            .map_err(|e| self.error(e))
    }

    async fn update(&self, read: &ReadLease, record: &LeaseRecord) -> Result<(), LockError> {
        let mut lease = read.object.clone();
        record.write_to(lease.spec.get_or_insert_with(LeaseSpec::default));
        self.api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
            .map(drop)
            .map_err(|e| self.error(e))
    }
}
