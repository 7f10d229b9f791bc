//! [`LeaderElector`]: runs client-go's election rounds against a [`LeaseLock`] and publishes
//! leadership on a `watch` channel.

use std::future::Future;

use jiff::Timestamp;
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until, timeout_at};
use tracing::{debug, info, warn};

use super::decision::{Action, Observation, decide, must_step_down, release_record};
use super::lock::{KubeLease, LeaseLock};
use super::{ConfigError, ElectionConfig};

/// How [`LeaderElector::run`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElectionOutcome {
    /// Shutdown was requested.
    ShutDown {
        /// We were leading when it came.
        was_leader: bool,
        /// The Lease was released (`ReleaseOnCancel`).
        released: bool,
    },
    /// We led, then could not renew within RenewDeadline or saw another holder. Reloader
    /// exits in this case (its `/live` turns 500 and the kubelet restarts the pod).
    LostLeadership,
}

/// The result of one round.
enum Round {
    /// We hold the Lease now.
    Held,
    /// Someone else holds an unexpired Lease.
    HeldByOther,
    /// The read or the write failed, or another replica wrote first.
    Failed,
}

/// Campaigns for the Lease and, once leading, renews it; leadership is published as a
/// `watch::Receiver<bool>` ([`LeaderElector::subscribe`]) that turns `false` before anything
/// else happens when leadership ends, so controllers stop writing at once.
///
/// Logs Reloader's lines: `became leader, starting controllers`, `still the leader!`,
/// `new leader is <identity>`, `no longer leader, shutting down`.
///
/// ```no_run
/// # use reloader::ha::{ElectionConfig, LeaderElector};
/// # async fn example(client: kube::Client) -> anyhow::Result<()> {
/// let elector = LeaderElector::new(client, ElectionConfig::new("reloader", "reloader-0"))?;
/// let mut leading = elector.subscribe();
/// let election = tokio::spawn(elector.run(async { let _ = tokio::signal::ctrl_c().await; }));
/// leading.wait_for(|leader| *leader).await?;
/// // ... start controllers; stop writing when `leading` turns false ...
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct LeaderElector<L> {
    lock: L,
    config: ElectionConfig,
    leading: watch::Sender<bool>,
    observed: Observation,
    reported_leader: Option<String>,
}

impl LeaderElector<KubeLease> {
    /// An elector for the Lease named in `config`, through the Kubernetes API.
    pub fn new(client: kube::Client, config: ElectionConfig) -> Result<Self, ConfigError> {
        let lock = KubeLease::new(client, config.namespace_value(), config.lease_name_value());
        Self::with_lock(lock, config)
    }
}

impl<L: LeaseLock> LeaderElector<L> {
    /// An elector over any [`LeaseLock`].
    pub fn with_lock(lock: L, config: ElectionConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(LeaderElector {
            lock,
            config,
            leading: watch::Sender::new(false),
            observed: Observation::default(),
            reported_leader: None,
        })
    }

    /// Leadership: `true` while we lead.
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.leading.subscribe()
    }

    /// Campaigns until leading, then renews until `shutdown` completes or leadership is lost.
    /// On shutdown while leading, the Lease is released (when configured).
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> ElectionOutcome {
        let mut shutdown = std::pin::pin!(shutdown);
        let retry = self.config.retry_period_value();
        let mut last_renewed = loop {
            let started = Instant::now();
            tokio::select! {
                () = &mut shutdown => return ElectionOutcome::ShutDown { was_leader: false, released: false },
                round = self.round(started) => if matches!(round, Round::Held) { break started; },
            }
            tokio::select! {
                () = &mut shutdown => return ElectionOutcome::ShutDown { was_leader: false, released: false },
                () = sleep_until(started + retry) => {}
            }
        };
        self.leading.send_replace(true);
        info!("became leader, starting controllers");
        loop {
            let deadline = last_renewed + self.config.renew_deadline_value();
            let mut next = (last_renewed + retry).min(deadline);
            // Renew: one attempt per retry period until one succeeds or the deadline passes.
            let renewed = loop {
                tokio::select! {
                    () = &mut shutdown => return self.shut_down_leading().await,
                    () = sleep_until(next) => {}
                }
                let started = Instant::now();
                if must_step_down(last_renewed, started, &self.config) {
                    break None;
                }
                tokio::select! {
                    () = &mut shutdown => return self.shut_down_leading().await,
                    round = timeout_at(deadline, self.round(started)) => match round {
                        Ok(Round::Held) => break Some(started),
                        Ok(Round::HeldByOther) | Err(_) => break None,
                        Ok(Round::Failed) => next = (started + retry).min(deadline),
                    },
                }
            };
            let Some(at) = renewed else {
                self.leading.send_replace(false);
                warn!(lease = %self.lock.describe(), "failed to renew lease before the renew deadline");
                info!("no longer leader, shutting down");
                return ElectionOutcome::LostLeadership;
            };
            last_renewed = at;
        }
    }

    /// One `tryAcquireOrRenew`: read, decide, write.
    async fn round(&mut self, now: Instant) -> Round {
        let read = match self.lock.get().await {
            Ok(read) => read,
            Err(error) => {
                warn!(lease = %self.lock.describe(), error = %error, "error retrieving resource lock");
                return Round::Failed;
            }
        };
        let (action, observation) = decide(
            read.as_ref().map(|r| &r.record),
            &self.observed,
            &self.config,
            now,
            Timestamp::now(),
        );
        self.observed = observation;
        self.report_leader();
        let written = match (&action, &read) {
            (Action::Follow { holder, until }, _) => {
                debug!(lease = %self.lock.describe(), %holder, remaining = ?until.saturating_duration_since(now),
                       "lock is held by another replica and has not yet expired");
                return Round::HeldByOther;
            }
            (Action::Create(record), _) => self.lock.create(record).await,
            (Action::TakeOver(record) | Action::Renew(record), Some(read)) => {
                self.lock.update(read, record).await
            }
            (Action::TakeOver(_) | Action::Renew(_), None) => return Round::Failed,
        };
        match written {
            Ok(()) => {
                self.observed = Observation {
                    record: action.record().cloned(),
                    since: Some(now),
                };
                self.report_leader();
                Round::Held
            }
            Err(error) => {
                warn!(lease = %self.lock.describe(), error = %error, kind = error.kind(),
                      "failed to acquire or renew lease");
                Round::Failed
            }
        }
    }

    /// client-go's `OnNewLeader` with Reloader's messages, once per change of holder.
    fn report_leader(&mut self) {
        let Some(holder) = self.observed.record.as_ref().map(|r| r.holder.as_str()) else {
            return;
        };
        if holder.is_empty() || self.reported_leader.as_deref() == Some(holder) {
            return;
        }
        if holder == self.config.identity_value() {
            info!("still the leader!");
        } else {
            info!("new leader is {holder}");
        }
        self.reported_leader = Some(holder.to_string());
    }

    /// Stops leading (the channel first), then releases the Lease if configured.
    async fn shut_down_leading(mut self) -> ElectionOutcome {
        self.leading.send_replace(false);
        info!("no longer leader, shutting down");
        let released = self.config.release_on_cancel_value() && self.release().await;
        ElectionOutcome::ShutDown {
            was_leader: true,
            released,
        }
    }

    /// client-go's `release`, bounded by RenewDeadline so shutdown never hangs on it.
    async fn release(&mut self) -> bool {
        let deadline = Instant::now() + self.config.renew_deadline_value();
        let lock = &self.lock;
        let config = &self.config;
        let attempt = async {
            let read = lock.get().await?;
            let Some(read) = read else { return Ok(false) };
            let Some(record) = release_record(&read.record, config, Timestamp::now()) else {
                return Ok(false);
            };
            lock.update(&read, &record).await.map(|()| true)
        };
        match timeout_at(deadline, attempt).await {
            Ok(Ok(released)) => released,
            Ok(Err(error)) => {
                warn!(lease = %lock.describe(), error = %error, "failed to release lease");
                false
            }
            Err(_) => {
                warn!(lease = %lock.describe(), "timed out releasing lease");
                false
            }
        }
    }
}
