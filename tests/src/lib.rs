//! Kubernetes API simulator and end-to-end test support.

pub mod sim;
