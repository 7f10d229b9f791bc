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
//! Every piece is replaceable: pass your own [`Matcher`] (closures implement it), [`Hasher`]
//! or [`ReloadStrategy`], your own [`Watcher`]s and [`engine::WorkloadWriter`] for custom
//! workload kinds ([`engine::Engine::run_with`]), and an [`engine::Observer`] for logs and
//! metrics. `docs/architecture.md` in the repository walks through the flow;
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
//! | how workloads are written | [`engine::WorkloadWriter`] | [`engine::kube::KubeWriter`] (strategic-merge PATCH) |
//! | what is reported | [`engine::Observer`] | none (the `reloader` binary maps events to Reloader's logs and metrics) |
//!
//! ## Features
//!
//! | feature | default | gives |
//! |---|---|---|
//! | `testing` | off | the `testing` module: the strategy-law checker and proptest generators |
//! | `mock` | off | mockall mocks of [`Hasher`], [`Matcher`], [`ReloadStrategy`] |
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
