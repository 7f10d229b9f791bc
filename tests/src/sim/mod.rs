//! `kube-sim`: a strict Kubernetes API simulator.
//!
//! The pure building blocks live here: [`patch`] applies the three patch types the API server accepts and
//! [`selector`] parses and evaluates label and field selectors. Both follow the real API server's rules
//! and error messages; where they simplify, their rustdoc says so.

pub mod patch;
pub mod selector;
