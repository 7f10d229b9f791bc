//! The fault suite (issue 9): nothing lost, nothing duplicated, nothing leaked.
//!
//! Every scenario drives a random burst of changes (seed from `FAULTS_SEED`, else random; it
//! is printed and named in every assertion message) under one fault, waits until the system is
//! quiet and checks one invariant from the simulator's journal
//! ([`faults_support::invariant`]). Run alone with
//! `cargo test --release --test faults -p reload-tests`; replay a failure with
//! `FAULTS_SEED=<n>`. What each fault does to the controller is written up in `RELIABILITY.md`.

mod binary_support;
mod engine_support;
mod faults_support;

mod faults {
    mod bad_input;
    mod engine;
    mod fuzz;
    mod process;
    mod security;
    mod transport;
}
