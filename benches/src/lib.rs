//! Shared code of the benchmarks and the load harness.
//!
//! The criterion micro benchmarks live in `benches/benches/` (`hashing`, `matching`,
//! `planning`); their inputs come from [`fixtures`]. Run them with
//! `cargo bench -p reload-benches`; see `BENCHMARKS.md` at the repository root for the figures.
//! The load harness behind the `loadtest` binary lives in [`loadtest`].

pub mod fixtures;
pub mod loadtest;
