//! Builders for the objects the benchmarks feed the core: ConfigMaps and Secrets of a given
//! size, realistic Deployments, a namespace of thousands of them, a candidate index, and the
//! planning inputs.
//!
//! Everything is deterministic, so two runs measure the same work.
//!
//! | builder | for |
//! |---|---|
//! | [`SourceFixture`] | hashing: ConfigMaps (`data` + `binaryData`) and Secrets of 1 KiB … 1 MiB |
//! | [`DeploymentFixture`] | one Deployment with a realistic body and chosen references and annotations |
//! | [`NamespaceFixture`] | matching: 2,000 Deployments with a realistic opt-in mix |
//! | [`CandidateIndex`] | matching: the workloads that can reload for a source |
//! | [`typical_deployment`], [`with_history`] | planning: a typical workload, fresh or with trigger state |

mod index;
mod namespace;
mod planning;
pub(crate) mod rng;
mod sources;
#[cfg(test)]
mod tests;
mod workloads;

pub use index::CandidateIndex;
pub use namespace::{BENCH_WORKLOADS, NamespaceFixture};
pub use planning::{
    TYPICAL_NAMESPACE, digest_text, typical_deployment, typical_sources, update, with_history,
};
pub use sources::{BENCH_SIZES, DEFAULT_ENTRIES, KIB, MIB, SourceFixture, content_bytes};
pub use workloads::DeploymentFixture;
