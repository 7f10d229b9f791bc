//! `reloader`: rolls Kubernetes workloads when the ConfigMaps and Secrets they use change.

fn main() {
    println!("reloader {}", env!("CARGO_PKG_VERSION"));
}
