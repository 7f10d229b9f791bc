//! # reload-core
//!
//! The decision core and engine of a Reloader-compatible controller: watch ConfigMaps, Secrets
//! and CSI `SecretProviderClassPodStatus`es, and roll the workloads that use them. Embed it in
//! your own controller in ten lines:
//!
//! ```no_run
//! use std::sync::Arc;
//! use reload_core::engine::{Engine, EngineConfig};
//! use reload_core::{hash::ReloaderHasher, matcher::{AnnotationMatcher, MatcherConfig}};
//! use reload_strategies::EnvVarStrategy;
//!
//! # async fn embed() -> Result<(), Box<dyn std::error::Error>> {
//! let client = kube::Client::try_default().await?;
//! let matcher = Arc::new(AnnotationMatcher::new(MatcherConfig::default())); // Reloader's annotations
//! let engine = Engine::new(EngineConfig::default(), matcher, Arc::new(EnvVarStrategy), Arc::new(ReloaderHasher));
//! engine.run(client, async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(()) }
//! ```
//!
//! Every piece is replaceable: pass your own [`Matcher`] (closures implement it; source labels
//! reach it through [`engine::EngineConfig::source_labels`]), [`Hasher`] or [`ReloadStrategy`],
//! and an [`engine::Observer`] for logs and metrics. Your own workload kind (a CRD with a pod
//! template) needs no code: describe it with [`engine::CustomKind`] and register it with
//! [`engine::EngineConfig::custom_kind`]; only for events from elsewhere write your own
//! [`Watcher`]s and [`engine::WorkloadWriter`] ([`engine::Engine::run_with`]). `docs/architecture.md` in the repository walks through the flow;
//! `docs/strategy-guide.md` shows how to write and property-test a strategy.
//!
//! Everything here except the watch and write edges is pure and synchronous: the engine feeds
//! watch events in and applies the resulting [`Plan`]s to the API.
//!
//! | piece | trait | default implementation |
//! |---|---|---|
//! | content digest | [`Hasher`] | [`hash::ReloaderHasher`] (SHA-1, byte-compatible with Reloader); [`hash::KeyedHasher`] (HMAC-SHA-256) |
//! | who must reload, and why | [`Matcher`] | [`matcher::AnnotationMatcher`] (every Reloader annotation rule) |
//! | what to write | [`ReloadStrategy`] | `reload-strategies`: `EnvVarStrategy`, `AnnotationStrategy` |
//! | where events come from | [`Watcher`] | kube-runtime watchers ([`engine::kube`]) |
//! | which workloads | [`engine::CustomKind`] for your own kinds | Deployment, DaemonSet, StatefulSet, CronJob, Job; Argo Rollouts opt-in ([`engine::EngineConfig::argo_rollouts`]) |
//! | how workloads are written | [`engine::WorkloadWriter`] | [`engine::kube::KubeWriter`] (strategic-merge PATCH; JSON merge patch for custom kinds) |
//! | what is reported | [`engine::Observer`] | none (the `reloader` binary maps events to Reloader's logs and metrics) |
//!
//! ## Features
//!
//! | feature | default | gives |
//! |---|---|---|
//! | `testing` | off | the `testing` module: the strategy-law checker and proptest generators |
//! | `mock` | off | mockall mocks of [`Hasher`], [`Matcher`], [`ReloadStrategy`] |
//!
//! Custom workload kinds ([`engine::CustomKind`]) and source labels for matchers
//! ([`engine::EngineConfig::source_labels`]) need no feature: they are part of the default
//! build.
//!
//! ## Stability
//!
//! Semantic versioning from 1.0; before it, a minor bump (0.x → 0.(x+1)) may break the API and
//! is listed in `CHANGELOG.md`. Enums that will grow are `#[non_exhaustive]`. MSRV: Rust 1.89,
//! raised only in a minor release.

pub mod decision;
pub mod engine;
pub mod error;
pub mod go_duration;
pub mod hash;
pub mod matcher;
pub mod plan;
pub mod source;
pub mod strategy;
#[cfg(feature = "testing")]
pub mod testing;
pub mod trigger;
pub mod watch;
pub mod workload;

pub use decision::{Decision, MatchOutcome, MatchProblem, ReloadReason, SkipReason};
pub use error::{Error, Result};
pub use hash::{Digest, Hasher};
pub use matcher::Matcher;
pub use plan::{Change, ChangeKind, Edit, Plan};
pub use source::{SourceContent, SourceKind, SourceMeta, SourceRef};
pub use strategy::ReloadStrategy;
pub use watch::{WatchEvent, Watcher};
pub use workload::{
    Container, EnvVar, NamedSource, PodTemplate, Volume, VolumeSource, Workload, WorkloadKind, WorkloadRef,
};
