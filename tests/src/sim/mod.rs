//! `kube-sim`: an in-process Kubernetes API server for tests, benches and demos.
//!
//! Entry point: [`Simulator::start`] (or [`Simulator::config`] for options). It speaks the real
//! REST protocol over HTTP on `127.0.0.1`, so `kube::Client` and `kubectl` work unchanged.
//! See `tests/README.md` for what it covers and where it differs from a real API server.
//!
//! The pure building blocks: [`patch`] applies the three patch types the API server accepts and
//! [`selector`] parses and evaluates label and field selectors.

pub mod patch;
pub mod selector;

pub mod admin;
pub mod auth;
pub mod conn;
pub mod discovery;
pub mod error;
pub mod faults;
pub mod fixtures;
pub mod journal;
pub mod kinds;
pub mod objects;
pub mod rest;
pub mod route;
pub mod server;
pub mod stats;
pub mod store;
pub mod validation;
pub mod watch;

pub use auth::Rule;
pub use error::ApiError;
pub use faults::{FailureRule, Injected};
pub use journal::JournalEntry;
pub use server::{SimConfig, SimError, SimState, Simulator, kubeconfig_yaml, kubeconfig_yaml_with_token};
pub use stats::{ResponseCount, StatsSnapshot};
