//! Tests of both strategies: fixtures, golden formats, behaviours and the strategy laws.

mod annotations;
mod env_vars;
mod golden;
mod laws;

use reload_core::{
    Change, ChangeKind, Container, Digest, EnvVar, NamedSource, SourceKind, SourceRef, Volume, VolumeSource,
    Workload, WorkloadKind, WorkloadRef,
};

/// A workload in `default` with one regular container per name.
fn workload(kind: WorkloadKind, containers: &[&str]) -> Workload {
    let mut workload = Workload::new(WorkloadRef::new(kind, "default", "web"));
    workload.template.containers = containers
        .iter()
        .map(|name| Container {
            name: (*name).to_owned(),
            ..Container::default()
        })
        .collect();
    workload
}

/// Adds a volume backed by ConfigMap `name`, mounted by no container.
fn with_configmap_volume(mut workload: Workload, name: &str) -> Workload {
    let index = workload.template.volumes.len();
    workload.template.volumes.push(Volume {
        name: format!("v{index}"),
        source: VolumeSource::ConfigMap(name.to_owned()),
    });
    workload
}

/// Adds a literal env var to container `container`.
fn with_env(mut workload: Workload, container: &str, name: &str, value: &str) -> Workload {
    if let Some(c) = workload
        .template
        .containers
        .iter_mut()
        .find(|c| c.name == container)
    {
        c.env.push(EnvVar {
            name: name.to_owned(),
            value: Some(value.to_owned()),
            value_from: None,
        });
    }
    workload
}

/// Adds an `envFrom` reference of `kind`/`name` to container `container`.
fn with_env_from(mut workload: Workload, container: &str, kind: SourceKind, name: &str) -> Workload {
    if let Some(c) = workload
        .template
        .containers
        .iter_mut()
        .find(|c| c.name == container)
    {
        c.env_from.push(NamedSource::new(kind, name));
    }
    workload
}

/// An update of `kind`/`name` in `default` to `digest`, involving `container`.
fn update(kind: SourceKind, name: &str, digest: &str, container: &str) -> Change {
    Change {
        source: SourceRef::new(kind, "default", name),
        digest: Digest::new(digest),
        kind: ChangeKind::Updated,
        container: container.to_owned(),
        observed_at: 1_714_557_600,
    }
}

/// The same change, as a delete.
fn deleted(change: Change) -> Change {
    Change {
        kind: ChangeKind::Deleted,
        ..change
    }
}

const D1: &str = "2834cb2f26ce41acf3a5c4c63b1815df75bae06e";
const D2: &str = "3c9a892aeaedc759abc3df9884a37b8be5680382";
