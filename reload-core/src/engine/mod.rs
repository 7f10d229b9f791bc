//! # The reload engine
//!
//! Turns ConfigMap/Secret changes into exactly one rollout of every workload that uses them,
//! restart-safe and with zero API reads per change. Entry point: [`Engine`] ([`Engine::run`]
//! with a `kube::Client`, or [`Engine::run_with`] with any [`crate::Watcher`]s and a
//! [`WorkloadWriter`]).
//!
//! ## Data flow
//!
//! ```text
//!  ConfigMap/Secret watches                     Deployment/DaemonSet/StatefulSet watches
//!  (per namespace in list mode; label +         (kube-runtime watcher, default_backoff)
//!   field selectors, small pages)                          |
//!          | reduce IN THE STREAM:                         | convert to compact Workload
//!          | digest + uid + rv + ignore/match              | (last-applied dropped)
//!          v                                               v
//!   +--------------+  Created/Updated/Deleted     +------------------+
//!   | SourceStore  |----------------------------->|  WorkloadIndex   |  candidates(source):
//!   | (no data)    |  (Unchanged -> reported,      | + reverse index  |  referencing workloads
//!   +--------------+   nothing else)               | + named-per-ns   |  + named-reload ones
//!          ^                                       +------------------+
//!          | level-triggered read                          | Trigger per workload
//!          |                                               v
//!   +-------------------------------------------------------------+
//!   | Queue: one pending trigger per workload (coalesced), optional |
//!   | debounce window, never the same workload twice at once        |
//!   +-------------------------------------------------------------+
//!          | ready (after all initial lists are in: "Synced")
//!          v
//!   decide (pure): for each candidate source of the workload
//!     matcher -> recorded digest (strategy state, else metadata baseline, else memory)
//!     -> equal: nothing | differs: strategy plan | none: baseline or roll (rule table)
//!          | rollout rate limit (token buckets, optional)        dry-run: report only
//!          v
//!   one strategic-merge PATCH (field manager Reloader, + metadata.resourceVersion when our
//!   JSON annotations are rewritten) under the write QPS limit, bounded concurrency
//!          | 2xx: response refreshes the index (no GET)  409: one GET, re-plan
//!          | transport/429/5xx: back to the queue, re-planned after a jittered backoff
//!          |   (Retry-After honoured), until it lands; while the server is unreachable
//!          |   one probe write at a time holds the rest  403/404/422: Failed, move on
//!          v
//!   Observer: Reloaded / Skipped / Baselined / Failed / MatchProblem / RevertFightDetected
//! ```
//!
//! Re-lists (`Init`/`InitApply`/`InitDone`) are state swaps: the first list of a watch seeds
//! the stores silently; a later re-list (410 Gone, dropped watch) yields only the differences
//! the watch missed, as changes. Reconciling starts once every watch has listed, with every
//! workload reconciled once: what changed while the engine was down is found by comparing
//! recorded digests, so a restart rolls exactly the workloads whose digest differs.
//!
//! The same comparison runs again from the caches alone (no API reads) after a watch
//! reconnects or re-lists, and every [`EngineConfig::resync_period`] (5 minutes by default):
//! a workload left out of date with nothing queued (a refused write, or a cause nobody
//! foresaw) gets a normal reload, reported as [`EngineEvent::Drift`] (issue 25).
//!
//! The index never goes back in time: a PATCH response refreshes it, and a watch event older
//! than what is indexed (resourceVersions compared as integers, as every API server issues
//! them) is ignored until the watch catches up, so a lagging event cannot make the engine
//! write again.
//!
//! ## Restart safety and the rule table
//!
//! The engine compares, per (workload, source) pair, the source's current digest with the
//! digest the workload records. Pairs with no record (never reloaded by anyone) get a
//! **baseline** in the workload's metadata annotation `reloader.rs/baseline` (a metadata-only
//! write: no pod restarts), once. [`EngineConfig::baselines`] off gives Reloader's exact write
//! footprint; then baselines live in memory only and a change made while the engine was not
//! running is lost, as in Reloader.
//!
//! | event | reload-on-create / -delete | recorded digest | action |
//! |---|---|---|---|
//! | update (data) | any | equal to new | nothing |
//! | update (data) | any | differs | roll |
//! | update (data) | any | none | roll (the engine observed the change) |
//! | update (labels/annotations only) | any | any | nothing (digest unchanged) |
//! | create / recreate | any | equal | nothing |
//! | create / recreate | any | differs (old incarnation) | roll |
//! | create | off (default) | none | baseline |
//! | create | on | none | roll |
//! | delete | off (default) | any | nothing (records kept; a recreate compares) |
//! | delete | on | any | strategy's delete plan (env var removed / delete-marker hash) |
//! | startup / re-list | any | differs | roll (once) |
//! | startup / re-list | any | none | baseline (no roll) |
//! | workload first seen | any | none, and created no later than a change the engine observed | roll |
//! | CronJob roll | any | (as above) | create ONE Job from the job template; record the digest in the CronJob's metadata `reloader.rs/baseline` first |
//! | Job roll | any | (as above) | DELETE (Background) and CREATE the stripped copy, same name |
//! | CronJob roll, [`CronJobMode::PatchTemplate`] | any | (as above) | PATCH the job template like a Deployment; no Job |
//! | Rollout or [`CustomKind`] roll (`rollout` mode) | any | (as above) | JSON merge PATCH of the template; env edits: GET, then the whole `containers` list under the read resourceVersion |
//! | Rollout roll (`restart` mode) | any | (as above) | merge PATCH `spec.restartAt` + the digest in metadata `reloader.rs/baseline` |
//! | Rollout with `spec.workloadRef` | any | any | none: `MatchProblem::UnsupportedWorkload` reported once |
//! | Deployment roll with a valid pause-period | any | (as above) | same write adds `spec.paused: true` + `paused-at` (unless paused already) |
//! | Deployment paused by us, period over (timer, or start-up) | any | any | PATCH `spec.paused: false`, `paused-at` removed |
//! | DaemonSet/StatefulSet with a valid pause-period | any | any | the period is the workload's debounce window |
//! | invalid pause-period | any | (as above) | roll without a pause; `MatchProblem::InvalidPausePeriod` |
//! | env-vars strategy, referenced sources sharing one `STAKATER_*` name (`my.app`, `my-app`) | any | (as above) | each source still rolls once (per-source digests in `reloader.rs/digests`); `MatchProblem::EnvVarCollision` when a colliding source is baselined or rolls |
//! | CSI pod status: status change / label change / delete | any | (as above) | roll / nothing / nothing |
//!
//! CronJobs: the job template is never written, so the digest a CronJob was reloaded for is
//! recorded in its metadata annotation `reloader.rs/baseline` (our key, metadata-only, written
//! even with baselines off) before the Job is created, under the planned resourceVersion: a
//! replay or an engine restart finds it and creates no second Job. If the create then fails,
//! that change gets no off-schedule run (reported `Failed`); the next scheduled run reads the
//! current data anyway. Jobs: the copy is kept in memory after the delete until a create
//! succeeds (see `kube_batch`).
//!
//! Kinds: Deployment, DaemonSet, StatefulSet, CronJob and Job are watched by default; Argo
//! Rollouts ([`EngineConfig::argo_rollouts`]), your own kinds with a pod template
//! ([`EngineConfig::custom_kind`], [`CustomKind`]) and CSI `SecretProviderClassPodStatus` sources
//! ([`EngineConfig::csi`]) when enabled. These may be missing (CRDs): [`Engine::run`] asks discovery at
//! start-up and, when the API server does not serve them, reports
//! [`EngineEvent::KindUnavailable`] once and runs without them. Rollouts in `restart` mode
//! record the applied digest in their metadata like CronJobs ([`rollout`]). Pause-period:
//! [`pause`]; the resume instant is derived from the Deployment's own `paused-at`, so an engine
//! restart resumes on time (Reloader waits for the next change, stakater/Reloader#1016).
//!
//! Deviations from Reloader: a create with reload-on-create does not roll a workload that
//! already records the digest (Reloader's annotations strategy always rolls); a recreate with
//! different data rolls even without reload-on-create (the workload records the old digest);
//! changes made while the engine was down are rolled on start (Reloader loses them). The
//! "created before the change" rule compares the workload's creationTimestamp (second
//! precision, server clock) with the engine's observation time (engine clock): within the same
//! second it rolls, so the error is at most one extra rollout of a brand-new workload.
//!
//! ## Protection of the API server
//!
//! Writes pass a client-side token bucket ([`EngineConfig::write_rate`], default 100/s burst
//! 200, so a mass rotation cannot flood the API server) and at most
//! [`EngineConfig::concurrency`] workloads are written at once. Rollouts can additionally be limited globally and per namespace. Debounce, when set,
//! holds a workload's first trigger for the window and joins later ones into it (a fixed
//! window from the first trigger, so a busy source cannot postpone a rollout forever).
//!
//! ## Revert fights
//!
//! A controller that strips our trigger state from the template makes the recorded digest
//! disappear, so the engine would re-apply forever. After the same digest was applied
//! [`EngineConfig::revert_fight_limit`] times to the same workload, the engine stops
//! re-applying that digest and reports [`EngineEvent::RevertFightDetected`]; a new digest
//! resets the count.

mod apply;
pub mod baseline;
pub mod batch;
mod config;
mod custom_kind;
mod decide;
mod handle;
mod index;
pub mod kube;
mod kube_batch;
mod kube_csi;
mod kube_rollout;
mod namespaces;
mod observer;
pub mod pause;
mod queue;
mod rate;
mod resume;
mod retry;
pub mod rollout;
mod run;
mod sources;
mod stats;

#[cfg(test)]
mod fixtures;

pub use apply::{WorkloadWriter, WriteError, WriteOutcome};
pub use config::{CronJobMode, DEFAULT_RESYNC_PERIOD, EngineConfig, Namespaces, Rate};
pub use custom_kind::CustomKind;
pub use decide::{Decided, Reconcile, Rollout, Rules, Trigger};
pub use handle::EngineHandle;
pub use index::{IndexedWorkload, WorkloadIndex};
pub use kube_csi::{class_resource, pod_status_resource};
pub use namespaces::{NamespaceScope, NamespaceWatches, ScopeChange, ScopeTracker};
pub use observer::{
    DriftCause, EngineEvent, EngineSkip, Observer, ReconcileResult, Recovery, SourceEventKind,
};
pub use queue::{Pending, Queue};
pub use rate::{RolloutLimiter, TokenBucket, WriteLimiter};
pub use run::{Engine, SourceWatcher, WorkloadWatcher};
pub use sources::{LastChange, SourceDelta, SourceRecord, SourceStore};
pub use stats::{CacheSnapshot, CacheStats, Held};
