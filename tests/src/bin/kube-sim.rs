//! `kube-sim`: a standalone Kubernetes API simulator for tests, benches and demos.

fn main() {}
