//! The load harness behind the `loadtest` binary: upstream Reloader's load scenarios
//! (`LOADTEST.md`) run against `kube-sim` and the real `reloader` binary.
//!
//! [`run::run_scenario`] is the entry point; [`accounting`] and [`stats`] are the pure parts
//! (judging reload counts from the journal, percentiles, `/proc` and metrics parsing).

pub mod accounting;
pub mod collect;
pub mod procs;
pub mod report;
pub mod run;
pub mod scale;
pub mod scenarios;
pub mod stats;
pub mod throughput;
