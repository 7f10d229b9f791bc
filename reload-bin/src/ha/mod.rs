//! Leader election for `--enable-ha`: client-go's Lease lock algorithm, as Reloader uses it.
//!
//! Reloader takes the `coordination.k8s.io/v1` Lease `stakater-reloader-lock` in
//! `$POD_NAMESPACE` with identity `$POD_NAME`, LeaseDuration 15s, RenewDeadline 10s,
//! RetryPeriod 2s and `ReleaseOnCancel`. We implement the same algorithm with plain
//! get/create/update calls (an update carries `metadata.resourceVersion`, so a 409 means
//! another replica wrote first); no server-side apply is needed.
//!
//! - [`decision`]: the pure rules (who may write the Lease, when a leader must step down,
//!   what a release writes), with table tests and property tests.
//! - [`lock`]: the I/O edge, [`lock::LeaseLock`] and its `kube::Api<Lease>` implementation.
//! - [`elector`]: [`LeaderElector`], which runs the rounds and publishes leadership on a
//!   `tokio::sync::watch::Receiver<bool>`.
//!
//! # Safety assumption
//!
//! Expiry is judged on each replica's own monotonic clock, from the moment it *observed* the
//! Lease record change (client-go's `observedTime`); the wall-clock `renewTime` in the record
//! is informational. So there is no assumption about clock offsets between nodes, only about
//! clock *rates*: while a follower's clock measures `LeaseDuration`, the leader's must measure
//! at least `RenewDeadline` (with Reloader's 15s/10s: rates within a factor of 1.5). Under that
//! assumption a leader that cannot renew steps down before any follower takes over.

pub mod decision;
pub mod elector;
#[cfg(test)]
mod elector_tests;
pub mod lock;
#[cfg(test)]
mod sim_tests;
#[cfg(test)]
mod tests;

use std::time::Duration;

pub use elector::{ElectionOutcome, LeaderElector};

/// Reloader's Lease name.
pub const DEFAULT_LEASE_NAME: &str = "stakater-reloader-lock";

/// How long a Lease is valid after its last renewal, from a follower's view.
pub const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(15);
/// How long a leader keeps trying to renew before it steps down.
pub const DEFAULT_RENEW_DEADLINE: Duration = Duration::from_secs(10);
/// The pause between attempts (to acquire, or to renew).
pub const DEFAULT_RETRY_PERIOD: Duration = Duration::from_secs(2);

/// Leader election settings; [`ElectionConfig::new`] gives Reloader's defaults.
///
/// ```
/// # use std::time::Duration;
/// # use reloader::ha::ElectionConfig;
/// let config = ElectionConfig::new("reloader", "reloader-7d9f-abc")
///     .lease_name("my-lock")
///     .retry_period(Duration::from_secs(1));
/// assert_eq!(config.lease_duration_value(), Duration::from_secs(15));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElectionConfig {
    lease_name: String,
    namespace: String,
    identity: String,
    lease_duration: Duration,
    renew_deadline: Duration,
    retry_period: Duration,
    release_on_cancel: bool,
}

/// Invalid [`ElectionConfig`] (client-go's checks in `NewLeaderElector`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The lease name, namespace or identity is empty.
    #[error("leader election needs a non-empty {0}")]
    Empty(&'static str),
    /// The durations are not ordered `LeaseDuration > RenewDeadline > RetryPeriod > 0`.
    #[error(
        "leader election needs lease duration > renew deadline > retry period > 0 \
         (got {lease_duration:?}, {renew_deadline:?}, {retry_period:?})"
    )]
    Durations {
        /// LeaseDuration.
        lease_duration: Duration,
        /// RenewDeadline.
        renew_deadline: Duration,
        /// RetryPeriod.
        retry_period: Duration,
    },
}

impl ElectionConfig {
    /// Reloader's settings for the Lease in `namespace`, held as `identity` (the pod name).
    pub fn new(namespace: impl Into<String>, identity: impl Into<String>) -> Self {
        ElectionConfig {
            lease_name: DEFAULT_LEASE_NAME.to_string(),
            namespace: namespace.into(),
            identity: identity.into(),
            lease_duration: DEFAULT_LEASE_DURATION,
            renew_deadline: DEFAULT_RENEW_DEADLINE,
            retry_period: DEFAULT_RETRY_PERIOD,
            release_on_cancel: true,
        }
    }

    /// The Lease's name.
    #[must_use]
    pub fn lease_name(mut self, name: impl Into<String>) -> Self {
        self.lease_name = name.into();
        self
    }

    /// How long a Lease stays valid after its last renewal.
    #[must_use]
    pub fn lease_duration(mut self, duration: Duration) -> Self {
        self.lease_duration = duration;
        self
    }

    /// How long a leader keeps trying to renew before it steps down.
    #[must_use]
    pub fn renew_deadline(mut self, duration: Duration) -> Self {
        self.renew_deadline = duration;
        self
    }

    /// The pause between attempts.
    #[must_use]
    pub fn retry_period(mut self, duration: Duration) -> Self {
        self.retry_period = duration;
        self
    }

    /// Whether a leader that shuts down releases the Lease (Reloader: yes).
    #[must_use]
    pub fn release_on_cancel(mut self, release: bool) -> Self {
        self.release_on_cancel = release;
        self
    }

    /// The Lease's name.
    pub fn lease_name_value(&self) -> &str {
        &self.lease_name
    }

    /// The Lease's namespace.
    pub fn namespace_value(&self) -> &str {
        &self.namespace
    }

    /// This replica's identity.
    pub fn identity_value(&self) -> &str {
        &self.identity
    }

    /// LeaseDuration.
    pub fn lease_duration_value(&self) -> Duration {
        self.lease_duration
    }

    /// RenewDeadline.
    pub fn renew_deadline_value(&self) -> Duration {
        self.renew_deadline
    }

    /// RetryPeriod.
    pub fn retry_period_value(&self) -> Duration {
        self.retry_period
    }

    /// ReleaseOnCancel.
    pub fn release_on_cancel_value(&self) -> bool {
        self.release_on_cancel
    }

    /// Checks the settings as client-go does.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (what, value) in [
            ("lease name", &self.lease_name),
            ("lease namespace", &self.namespace),
            ("identity", &self.identity),
        ] {
            if value.is_empty() {
                return Err(ConfigError::Empty(what));
            }
        }
        let ordered = self.lease_duration > self.renew_deadline
            && self.renew_deadline > self.retry_period
            && self.retry_period > Duration::ZERO;
        if !ordered {
            return Err(ConfigError::Durations {
                lease_duration: self.lease_duration,
                renew_deadline: self.renew_deadline,
                retry_period: self.retry_period,
            });
        }
        Ok(())
    }
}
