//! Kubernetes API simulator (`kube-sim`) and end-to-end test support.
//!
//! - [`sim`]: the simulator ([`sim::Simulator`]), its fixtures and fault injection.
//! - [`binaries`]: [`binaries::reloader_path`], the release `reloader` binary for process tests.
//! - [`cluster`]: [`cluster::TestCluster`], the simulator or a real cluster for e2e suites.

pub mod binaries;
pub mod cluster;
pub mod control_plane;
pub mod sim;
