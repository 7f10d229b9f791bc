//! # reload-core
//!
//! The decision core of a Reloader-compatible controller: given a changed ConfigMap, Secret or
//! CSI `SecretProviderClassPodStatus`, decide which workloads must roll, what digest represents
//! the change, and what each reload strategy writes into the pod template.
//!
//! Everything here except [`Watcher`] is pure and synchronous: the engine feeds watch events
//! in and applies the resulting [`Plan`]s to the API.
//!
//! | piece | trait | default implementation |
//! |---|---|---|
//! | content digest | [`Hasher`] | [`hash::ReloaderHasher`] (SHA-1, byte-compatible with Reloader) |
//! | who must reload, and why | [`Matcher`] | [`matcher::AnnotationMatcher`] (every Reloader annotation rule) |
//! | what to write | [`ReloadStrategy`] | in the `reload-strategies` crate |
//! | where events come from | [`Watcher`] | kube-runtime watchers (engine) |
//!
//! Features: `testing` exports the strategy-law checker and proptest generators;
//! `mock` exports mockall mocks of the traits.

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
