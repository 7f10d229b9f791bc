//! Building the compact [`Workload`] from Kubernetes objects.
//!
//! Typed conversions (`Workload::try_from(&deployment)`) exist for Deployments, DaemonSets,
//! StatefulSets, CronJobs (their `jobTemplate.spec.template`) and Jobs; Argo Rollouts and other
//! kinds with a pod template are read from JSON with [`Workload::from_json`].
//!
//! Only what decisions read is kept: identity, metadata annotations (minus
//! `kubectl.kubernetes.io/last-applied-configuration`, a full copy of the object that no rule
//! reads), template annotations, container and init container names, env names, literal values
//! and ConfigMap/Secret `valueFrom` references, `envFrom` references, volume mount names, and
//! the ConfigMap/Secret/projected/CSI sources of volumes.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;

use super::{
    Container, EnvVar, NamedSource, PodTemplate, Volume, VolumeSource, Workload, WorkloadKind, WorkloadRef,
};
use crate::error::{Error, Result};
use crate::source::SourceKind;

/// A metadata annotation no rule reads that can be as large as the object itself.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The CSI volume attribute naming the `SecretProviderClass`.
const SECRET_PROVIDER_CLASS_ATTRIBUTE: &str = "secretProviderClass";

fn read_error(kind: &WorkloadKind, metadata: &ObjectMeta, problem: impl Into<String>) -> Error {
    Error::ReadObject {
        kind: kind.as_str().to_string(),
        namespace: metadata.namespace.clone().unwrap_or_default(),
        name: metadata.name.clone().unwrap_or_default(),
        problem: problem.into(),
    }
}

impl Workload {
    /// A workload from its identity, metadata annotations and pod template.
    ///
    /// The building block of every conversion; use it for kinds this crate does not know.
    ///
    /// # Errors
    ///
    /// [`Error::ReadObject`] when the template has no `spec`.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};
    /// use reload_core::{Workload, WorkloadKind, WorkloadRef};
    ///
    /// let template = PodTemplateSpec {
    ///     metadata: None,
    ///     spec: Some(PodSpec {
    ///         containers: vec![Container { name: "app".into(), ..Container::default() }],
    ///         ..PodSpec::default()
    ///     }),
    /// };
    /// let id = WorkloadRef::new(WorkloadKind::Custom("Widget".into()), "default", "w");
    /// let workload = Workload::from_pod_template_spec(id, BTreeMap::new(), &template)?;
    /// assert_eq!(workload.template.containers[0].name, "app");
    /// # Ok::<(), reload_core::Error>(())
    /// ```
    pub fn from_pod_template_spec(
        id: WorkloadRef,
        annotations: BTreeMap<String, String>,
        template: &core::PodTemplateSpec,
    ) -> Result<Self> {
        let Some(spec) = &template.spec else {
            return Err(Error::ReadObject {
                kind: id.kind.as_str().to_string(),
                namespace: id.namespace,
                name: id.name,
                problem: "the pod template has no spec".to_string(),
            });
        };
        let template_annotations = template
            .metadata
            .as_ref()
            .and_then(|m| m.annotations.clone())
            .unwrap_or_default();
        Ok(Workload {
            id,
            annotations,
            template: PodTemplate::from_pod_spec(template_annotations, spec),
        })
    }

    /// A workload of `kind` from the object's JSON: `metadata` and the pod template at
    /// [`WorkloadKind::template_path`] (`spec.template`, or `spec.jobTemplate.spec.template`
    /// for CronJobs). For Argo Rollouts and custom kinds.
    ///
    /// # Errors
    ///
    /// [`Error::ReadObject`] naming the object when it has no name or namespace, no pod
    /// template (an Argo Rollout using `spec.workloadRef` instead of `spec.template` is one), a
    /// template without `spec`, or fields of the wrong shape.
    ///
    /// ```
    /// use reload_core::{Workload, WorkloadKind};
    ///
    /// let rollout = serde_json::json!({
    ///     "apiVersion": "argoproj.io/v1alpha1",
    ///     "kind": "Rollout",
    ///     "metadata": {"name": "web", "namespace": "default",
    ///                  "annotations": {"reloader.stakater.com/auto": "true"}},
    ///     "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx"}]}}}
    /// });
    /// let workload = Workload::from_json(WorkloadKind::Rollout, &rollout)?;
    /// assert_eq!(workload.id.name, "web");
    /// assert_eq!(workload.template.containers[0].name, "app");
    /// # Ok::<(), reload_core::Error>(())
    /// ```
    pub fn from_json(kind: WorkloadKind, object: &serde_json::Value) -> Result<Self> {
        let metadata = match object.get("metadata") {
            Some(value) => ObjectMeta::deserialize(value)
                .map_err(|e| read_error(&kind, &ObjectMeta::default(), format!("invalid metadata: {e}")))?,
            None => ObjectMeta::default(),
        };
        let path = kind.template_path();
        let template = path
            .iter()
            .try_fold(object, |value, segment| value.get(segment))
            .filter(|value| !value.is_null())
            .ok_or_else(|| read_error(&kind, &metadata, format!("{} is missing", path.join("."))))?;
        let template = core::PodTemplateSpec::deserialize(template)
            .map_err(|e| read_error(&kind, &metadata, format!("invalid {}: {e}", path.join("."))))?;
        from_parts(kind, &metadata, Some(&template), "")
    }

    /// A workload of `kind` from the object's JSON: `metadata` and the pod template at the JSON
    /// pointer `template_pointer` (RFC 6901, e.g. `/spec/template`, or
    /// `/spec/jobTemplate/spec/template`). For custom kinds whose template lives anywhere
    /// (see `engine::CustomKind`).
    ///
    /// # Errors
    ///
    /// As [`Workload::from_json`]; the message names the pointer.
    ///
    /// ```
    /// use reload_core::{Workload, WorkloadKind};
    ///
    /// let object = serde_json::json!({
    ///     "metadata": {"name": "nightly", "namespace": "default"},
    ///     "spec": {"runner": {"podTemplate": {"spec": {"containers": [{"name": "job"}]}}}}
    /// });
    /// let kind = WorkloadKind::Custom("Pipeline".into());
    /// let workload = Workload::from_json_at(kind, &object, "/spec/runner/podTemplate")?;
    /// assert_eq!(workload.template.containers[0].name, "job");
    /// # Ok::<(), reload_core::Error>(())
    /// ```
    pub fn from_json_at(
        kind: WorkloadKind,
        object: &serde_json::Value,
        template_pointer: &str,
    ) -> Result<Self> {
        let metadata = match object.get("metadata") {
            Some(value) => ObjectMeta::deserialize(value)
                .map_err(|e| read_error(&kind, &ObjectMeta::default(), format!("invalid metadata: {e}")))?,
            None => ObjectMeta::default(),
        };
        let template = object
            .pointer(template_pointer)
            .filter(|value| !value.is_null())
            .ok_or_else(|| read_error(&kind, &metadata, format!("{template_pointer} is missing")))?;
        let template = core::PodTemplateSpec::deserialize(template)
            .map_err(|e| read_error(&kind, &metadata, format!("invalid {template_pointer}: {e}")))?;
        from_parts(kind, &metadata, Some(&template), "")
    }
}

/// Identity from `metadata`, then [`Workload::from_pod_template_spec`]; `missing` explains an
/// absent template.
fn from_parts(
    kind: WorkloadKind,
    metadata: &ObjectMeta,
    template: Option<&core::PodTemplateSpec>,
    missing: &str,
) -> Result<Workload> {
    let (Some(name), Some(namespace)) = (&metadata.name, &metadata.namespace) else {
        return Err(read_error(
            &kind,
            metadata,
            "metadata.name or metadata.namespace is missing",
        ));
    };
    let Some(template) = template else {
        return Err(read_error(&kind, metadata, missing));
    };
    let mut annotations = metadata.annotations.clone().unwrap_or_default();
    annotations.remove(LAST_APPLIED);
    Workload::from_pod_template_spec(WorkloadRef::new(kind, namespace, name), annotations, template)
}

impl TryFrom<&Deployment> for Workload {
    type Error = Error;

    fn try_from(object: &Deployment) -> Result<Self> {
        let template = object.spec.as_ref().map(|s| &s.template);
        from_parts(
            WorkloadKind::Deployment,
            &object.metadata,
            template,
            "spec is missing",
        )
    }
}

impl TryFrom<&DaemonSet> for Workload {
    type Error = Error;

    fn try_from(object: &DaemonSet) -> Result<Self> {
        let template = object.spec.as_ref().map(|s| &s.template);
        from_parts(
            WorkloadKind::DaemonSet,
            &object.metadata,
            template,
            "spec is missing",
        )
    }
}

impl TryFrom<&StatefulSet> for Workload {
    type Error = Error;

    fn try_from(object: &StatefulSet) -> Result<Self> {
        let template = object.spec.as_ref().map(|s| &s.template);
        from_parts(
            WorkloadKind::StatefulSet,
            &object.metadata,
            template,
            "spec is missing",
        )
    }
}

impl TryFrom<&CronJob> for Workload {
    type Error = Error;

    fn try_from(object: &CronJob) -> Result<Self> {
        let template = object
            .spec
            .as_ref()
            .and_then(|s| s.job_template.spec.as_ref())
            .map(|s| &s.template);
        let missing = "spec or spec.jobTemplate.spec is missing";
        from_parts(WorkloadKind::CronJob, &object.metadata, template, missing)
    }
}

impl TryFrom<&Job> for Workload {
    type Error = Error;

    fn try_from(object: &Job) -> Result<Self> {
        let template = object.spec.as_ref().map(|s| &s.template);
        from_parts(WorkloadKind::Job, &object.metadata, template, "spec is missing")
    }
}

impl PodTemplate {
    /// The parts of a pod spec that decisions read, with the template's annotations.
    pub fn from_pod_spec(annotations: BTreeMap<String, String>, spec: &core::PodSpec) -> Self {
        PodTemplate {
            annotations,
            containers: spec.containers.iter().map(Container::from).collect(),
            init_containers: spec
                .init_containers
                .iter()
                .flatten()
                .map(Container::from)
                .collect(),
            volumes: spec.volumes.iter().flatten().map(Volume::from).collect(),
        }
    }
}

impl From<&core::Container> for Container {
    fn from(container: &core::Container) -> Self {
        Container {
            name: container.name.clone(),
            env: container.env.iter().flatten().map(EnvVar::from).collect(),
            env_from: container
                .env_from
                .iter()
                .flatten()
                .filter_map(env_from_source)
                .collect(),
            volume_mounts: container
                .volume_mounts
                .iter()
                .flatten()
                .map(|m| m.name.clone())
                .collect(),
        }
    }
}

impl From<&core::EnvVar> for EnvVar {
    fn from(env: &core::EnvVar) -> Self {
        let value_from = env.value_from.as_ref().and_then(|from| {
            from.config_map_key_ref
                .as_ref()
                .map(|r| NamedSource::new(SourceKind::ConfigMap, &r.name))
                .or_else(|| {
                    from.secret_key_ref
                        .as_ref()
                        .map(|r| NamedSource::new(SourceKind::Secret, &r.name))
                })
        });
        EnvVar {
            name: env.name.clone(),
            value: env.value.clone(),
            value_from,
        }
    }
}

/// The source of an `envFrom` entry. Reloader checks `secretRef` and `configMapRef`
/// separately; the API allows only one per entry, so the first present wins here.
fn env_from_source(from: &core::EnvFromSource) -> Option<NamedSource> {
    from.config_map_ref
        .as_ref()
        .map(|r| NamedSource::new(SourceKind::ConfigMap, &r.name))
        .or_else(|| {
            from.secret_ref
                .as_ref()
                .map(|r| NamedSource::new(SourceKind::Secret, &r.name))
        })
}

impl From<&core::Volume> for Volume {
    fn from(volume: &core::Volume) -> Self {
        let source = if let Some(config_map) = &volume.config_map {
            VolumeSource::ConfigMap(config_map.name.clone())
        } else if let Some(name) = volume.secret.as_ref().and_then(|s| s.secret_name.as_ref()) {
            VolumeSource::Secret(name.clone())
        } else if let Some(projected) = &volume.projected {
            VolumeSource::Projected(
                projected
                    .sources
                    .iter()
                    .flatten()
                    .flat_map(|p| {
                        let config_map = p
                            .config_map
                            .as_ref()
                            .map(|c| NamedSource::new(SourceKind::ConfigMap, &c.name));
                        let secret = p
                            .secret
                            .as_ref()
                            .map(|s| NamedSource::new(SourceKind::Secret, &s.name));
                        config_map.into_iter().chain(secret)
                    })
                    .collect(),
            )
        } else if let Some(class) = volume
            .csi
            .as_ref()
            .and_then(|c| c.volume_attributes.as_ref())
            .and_then(|a| a.get(SECRET_PROVIDER_CLASS_ATTRIBUTE))
        {
            VolumeSource::Csi(class.clone())
        } else {
            VolumeSource::Other
        };
        Volume {
            name: volume.name.clone(),
            source,
        }
    }
}
#[cfg(test)]
mod tests;
