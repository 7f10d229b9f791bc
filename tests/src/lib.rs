//! Kubernetes API simulator (`kube-sim`) and end-to-end test support.
//!
//! - [`sim`]: the simulator ([`sim::Simulator`]), its fixtures and fault injection.
//! - [`cluster`]: [`cluster::TestCluster`], the simulator or a real cluster for e2e suites.

pub mod cluster;
pub mod sim;
