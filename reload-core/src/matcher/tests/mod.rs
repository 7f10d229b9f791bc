//! Tests of the annotation matcher: one module per concern, sharing the fixtures below.

mod model;
mod parsers;
mod references;
mod rules;

use crate::decision::{Decision, MatchOutcome, ReloadReason, SkipReason};
use crate::matcher::{AnnotationMatcher, Matcher, MatcherConfig};
use crate::source::{SourceKind, SourceMeta, SourceRef};
use crate::workload::{
    Container, EnvVar, NamedSource, Volume, VolumeSource, Workload, WorkloadKind, WorkloadRef,
};

/// A chainable workload fixture: a Deployment `default/web` with no containers yet.
#[derive(Clone)]
struct Fixture(Workload);

fn deployment() -> Fixture {
    Fixture(Workload::new(WorkloadRef::new(
        WorkloadKind::Deployment,
        "default",
        "web",
    )))
}

impl Fixture {
    fn kind(mut self, kind: WorkloadKind) -> Self {
        self.0.id.kind = kind;
        self
    }

    /// A workload metadata annotation.
    fn meta(mut self, key: &str, value: &str) -> Self {
        self.0.annotations.insert(key.into(), value.into());
        self
    }

    /// A pod template annotation.
    fn template(mut self, key: &str, value: &str) -> Self {
        self.0.template.annotations.insert(key.into(), value.into());
        self
    }

    /// A plain regular container.
    fn container(mut self, name: &str) -> Self {
        self.0.template.containers.push(Container {
            name: name.into(),
            ..Container::default()
        });
        self
    }

    /// A regular container with `envFrom` the source.
    fn env_from(mut self, container: &str, kind: SourceKind, source: &str) -> Self {
        self.0.template.containers.push(Container {
            name: container.into(),
            env_from: vec![NamedSource::new(kind, source)],
            ..Container::default()
        });
        self
    }

    /// A regular container with one env var whose `valueFrom` is the source.
    fn env_value_from(mut self, container: &str, kind: SourceKind, source: &str) -> Self {
        self.0.template.containers.push(Container {
            name: container.into(),
            env: vec![EnvVar {
                name: "FROM_SOURCE".into(),
                value: None,
                value_from: Some(NamedSource::new(kind, source)),
            }],
            ..Container::default()
        });
        self
    }

    /// An init container with `envFrom` the source.
    fn init_env_from(mut self, container: &str, kind: SourceKind, source: &str) -> Self {
        self.0.template.init_containers.push(Container {
            name: container.into(),
            env_from: vec![NamedSource::new(kind, source)],
            ..Container::default()
        });
        self
    }

    /// A volume.
    fn volume(mut self, name: &str, source: VolumeSource) -> Self {
        self.0.template.volumes.push(Volume {
            name: name.into(),
            source,
        });
        self
    }

    /// A regular container mounting `volume`.
    fn mounting(mut self, container: &str, volume: &str) -> Self {
        self.0.template.containers.push(Container {
            name: container.into(),
            volume_mounts: vec![volume.into()],
            ..Container::default()
        });
        self
    }

    /// An init container mounting `volume`.
    fn init_mounting(mut self, container: &str, volume: &str) -> Self {
        self.0.template.init_containers.push(Container {
            name: container.into(),
            volume_mounts: vec![volume.into()],
            ..Container::default()
        });
        self
    }

    fn build(self) -> Workload {
        self.0
    }
}

fn source(kind: SourceKind, name: &str) -> SourceMeta {
    SourceMeta::new(SourceRef::new(kind, "default", name))
}

fn cm(name: &str) -> SourceMeta {
    source(SourceKind::ConfigMap, name)
}

fn secret(name: &str) -> SourceMeta {
    source(SourceKind::Secret, name)
}

fn outcome_with(config: MatcherConfig, workload: &Fixture, source: &SourceMeta) -> MatchOutcome {
    AnnotationMatcher::new(config).decide(&workload.clone().build(), source)
}

fn decide_with(config: MatcherConfig, workload: &Fixture, source: &SourceMeta) -> Decision {
    outcome_with(config, workload, source).decision
}

fn decide(workload: &Fixture, source: &SourceMeta) -> Decision {
    decide_with(MatcherConfig::default(), workload, source)
}

fn reload(reason: ReloadReason, container: &str) -> Decision {
    Decision::Reload {
        reason,
        container: container.into(),
    }
}

fn named(pattern: &str, container: &str) -> Decision {
    reload(
        ReloadReason::Named {
            pattern: pattern.into(),
        },
        container,
    )
}

fn skip(reason: SkipReason) -> Decision {
    Decision::Skip(reason)
}

const AUTO: &str = "reloader.stakater.com/auto";
const CM_AUTO: &str = "configmap.reloader.stakater.com/auto";
const SECRET_AUTO: &str = "secret.reloader.stakater.com/auto";
const CM_RELOAD: &str = "configmap.reloader.stakater.com/reload";
const SECRET_RELOAD: &str = "secret.reloader.stakater.com/reload";
const SEARCH: &str = "reloader.stakater.com/search";
const MATCH: &str = "reloader.stakater.com/match";
const IGNORE: &str = "reloader.stakater.com/ignore";
const CM_EXCLUDE: &str = "configmaps.exclude.reloader.stakater.com/reload";
const SECRET_EXCLUDE: &str = "secrets.exclude.reloader.stakater.com/reload";
