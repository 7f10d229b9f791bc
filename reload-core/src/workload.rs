//! Workloads: the compact model of a Deployment, DaemonSet, ... that decisions work on.
//!
//! Only what matching and strategies read is kept (identity, annotations, and the parts of the
//! pod template that reference sources or carry trigger state), so an index of thousands of
//! workloads stays small. Conversions from k8s-openapi objects and JSON: `Workload::try_from`,
//! [`Workload::from_json`], [`Workload::from_pod_template_spec`].

mod convert;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::source::SourceKind;

/// The kinds of workload the controller can reload.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum WorkloadKind {
    /// apps/v1 Deployment.
    Deployment,
    /// apps/v1 DaemonSet.
    DaemonSet,
    /// apps/v1 StatefulSet.
    StatefulSet,
    /// batch/v1 CronJob.
    CronJob,
    /// batch/v1 Job.
    Job,
    /// argoproj.io/v1alpha1 Rollout.
    Rollout,
    /// Any other kind with a pod template, named by its Kubernetes kind.
    Custom(String),
}

impl WorkloadKind {
    /// The Kubernetes kind name, as Reloader prints it in logs and metrics (`Deployment`, ...).
    pub fn as_str(&self) -> &str {
        match self {
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::DaemonSet => "DaemonSet",
            WorkloadKind::StatefulSet => "StatefulSet",
            WorkloadKind::CronJob => "CronJob",
            WorkloadKind::Job => "Job",
            WorkloadKind::Rollout => "Rollout",
            WorkloadKind::Custom(kind) => kind,
        }
    }

    /// JSON path segments from the object root to its pod template.
    pub fn template_path(&self) -> &'static [&'static str] {
        match self {
            WorkloadKind::CronJob => &["spec", "jobTemplate", "spec", "template"],
            _ => &["spec", "template"],
        }
    }
}

impl fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The identity of a workload.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct WorkloadRef {
    /// Its kind.
    pub kind: WorkloadKind,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

impl WorkloadRef {
    /// A workload reference.
    pub fn new(kind: WorkloadKind, namespace: impl Into<String>, name: impl Into<String>) -> Self {
        WorkloadRef {
            kind,
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for WorkloadRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
    }
}

/// A workload as decisions see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workload {
    /// Identity.
    pub id: WorkloadRef,
    /// `metadata.annotations` of the workload object.
    pub annotations: BTreeMap<String, String>,
    /// The pod template.
    pub template: PodTemplate,
}

impl Workload {
    /// An empty workload of the given identity.
    pub fn new(id: WorkloadRef) -> Self {
        Workload {
            id,
            annotations: BTreeMap::new(),
            template: PodTemplate::default(),
        }
    }
}

/// The parts of a pod template that decisions read.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PodTemplate {
    /// `metadata.annotations` of the template.
    pub annotations: BTreeMap<String, String>,
    /// `spec.containers`, in order.
    pub containers: Vec<Container>,
    /// `spec.initContainers`, in order.
    pub init_containers: Vec<Container>,
    /// `spec.volumes`, in order.
    pub volumes: Vec<Volume>,
}

/// A container of the pod template.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Container {
    /// Container name.
    pub name: String,
    /// `env`, in order.
    pub env: Vec<EnvVar>,
    /// `envFrom` references, in order.
    pub env_from: Vec<NamedSource>,
    /// Names of the volumes this container mounts (`volumeMounts[].name`), in order.
    pub volume_mounts: Vec<String>,
}

/// One `env` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EnvVar {
    /// Variable name.
    pub name: String,
    /// Literal `value`, if any.
    pub value: Option<String>,
    /// `valueFrom.configMapKeyRef` / `secretKeyRef` source, if any.
    pub value_from: Option<NamedSource>,
}

/// A reference from the environment to a ConfigMap or Secret (by name).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NamedSource {
    /// ConfigMap or Secret.
    pub kind: SourceKind,
    /// Referenced object name.
    pub name: String,
}

/// A pod volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    /// Volume name (what `volumeMounts` refer to).
    pub name: String,
    /// What backs it, as far as reloads care.
    pub source: VolumeSource,
}

/// The backing of a volume, as far as reloads care.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum VolumeSource {
    /// `configMap.name`.
    ConfigMap(String),
    /// `secret.secretName`.
    Secret(String),
    /// `projected.sources[]` ConfigMaps and Secrets, in order.
    Projected(Vec<NamedSource>),
    /// `csi.volumeAttributes.secretProviderClass`.
    Csi(String),
    /// Anything else.
    Other,
}

impl Workload {
    /// The sources the pod template references ([`PodTemplate::references`]), as full
    /// references in the workload's own namespace.
    pub fn referenced_sources(&self) -> Vec<crate::source::SourceRef> {
        self.template
            .references()
            .into_iter()
            .map(|r| crate::source::SourceRef::new(r.kind, self.id.namespace.clone(), r.name))
            .collect()
    }
}

impl PodTemplate {
    /// Every source the template references by name, through any path Reloader considers
    /// (`reloader-spec.md` §5): volumes (`configMap`, `secret`, projected sources, CSI
    /// `secretProviderClass`), and env `valueFrom` / `envFrom` of regular and init containers.
    ///
    /// Each source appears once, in first-seen order (volumes first, then containers, then
    /// init containers). Ephemeral containers are not considered, as in Reloader.
    pub fn references(&self) -> Vec<NamedSource> {
        let mut found: Vec<NamedSource> = Vec::new();
        let mut add = |source: NamedSource| {
            if !found.contains(&source) {
                found.push(source);
            }
        };
        for volume in &self.volumes {
            match &volume.source {
                VolumeSource::ConfigMap(name) => add(NamedSource::new(SourceKind::ConfigMap, name)),
                VolumeSource::Secret(name) => add(NamedSource::new(SourceKind::Secret, name)),
                VolumeSource::Csi(name) => add(NamedSource::new(SourceKind::SecretProviderClass, name)),
                VolumeSource::Projected(sources) => sources.iter().cloned().for_each(&mut add),
                VolumeSource::Other => {}
            }
        }
        for container in self.containers.iter().chain(&self.init_containers) {
            for env in &container.env {
                if let Some(source) = &env.value_from {
                    add(source.clone());
                }
            }
            container.env_from.iter().cloned().for_each(&mut add);
        }
        found
    }
}

impl NamedSource {
    /// A reference to the source `kind`/`name` (in the workload's own namespace).
    pub fn new(kind: SourceKind, name: impl Into<String>) -> Self {
        NamedSource {
            kind,
            name: name.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_cover_volumes_projected_csi_env_and_init_containers_once_each() {
        let template = PodTemplate {
            volumes: vec![
                Volume {
                    name: "a".into(),
                    source: VolumeSource::ConfigMap("cm".into()),
                },
                Volume {
                    name: "b".into(),
                    source: VolumeSource::Projected(vec![
                        NamedSource::new(SourceKind::Secret, "s"),
                        NamedSource::new(SourceKind::ConfigMap, "cm"),
                    ]),
                },
                Volume {
                    name: "c".into(),
                    source: VolumeSource::Csi("spc".into()),
                },
                Volume {
                    name: "d".into(),
                    source: VolumeSource::Other,
                },
            ],
            containers: vec![Container {
                name: "app".into(),
                env: vec![EnvVar {
                    name: "X".into(),
                    value: None,
                    value_from: Some(NamedSource::new(SourceKind::Secret, "env-s")),
                }],
                ..Container::default()
            }],
            init_containers: vec![Container {
                name: "init".into(),
                env_from: vec![NamedSource::new(SourceKind::ConfigMap, "init-cm")],
                ..Container::default()
            }],
            ..PodTemplate::default()
        };
        assert_eq!(
            template.references(),
            vec![
                NamedSource::new(SourceKind::ConfigMap, "cm"),
                NamedSource::new(SourceKind::Secret, "s"),
                NamedSource::new(SourceKind::SecretProviderClass, "spc"),
                NamedSource::new(SourceKind::Secret, "env-s"),
                NamedSource::new(SourceKind::ConfigMap, "init-cm"),
            ]
        );
    }
}
