//! Temporary private shim: k8s `PodTemplateSpec` → [`PodTemplate`]. To be replaced by the
//! core conversions (branch core-match) once they land in main.

use k8s_openapi::api::core::v1::{self as core, PodTemplateSpec};

use crate::source::SourceKind;
use crate::workload::{Container, EnvVar, NamedSource, PodTemplate, Volume, VolumeSource};

pub(crate) fn pod_template(spec: &PodTemplateSpec) -> PodTemplate {
    let annotations = spec
        .metadata
        .as_ref()
        .and_then(|m| m.annotations.clone())
        .unwrap_or_default();
    let Some(pod) = spec.spec.as_ref() else {
        return PodTemplate {
            annotations,
            ..PodTemplate::default()
        };
    };
    PodTemplate {
        annotations,
        containers: pod.containers.iter().map(container).collect(),
        init_containers: pod.init_containers.iter().flatten().map(container).collect(),
        volumes: pod.volumes.iter().flatten().map(volume).collect(),
    }
}

fn container(c: &core::Container) -> Container {
    Container {
        name: c.name.clone(),
        env: c
            .env
            .iter()
            .flatten()
            .map(|e| EnvVar {
                name: e.name.clone(),
                value: e.value.clone(),
                value_from: e.value_from.as_ref().and_then(|v| {
                    v.config_map_key_ref
                        .as_ref()
                        .map(|r| NamedSource::new(SourceKind::ConfigMap, r.name.clone()))
                        .or_else(|| {
                            v.secret_key_ref
                                .as_ref()
                                .map(|r| NamedSource::new(SourceKind::Secret, r.name.clone()))
                        })
                }),
            })
            .collect(),
        env_from: c
            .env_from
            .iter()
            .flatten()
            .filter_map(|e| {
                e.config_map_ref
                    .as_ref()
                    .map(|r| NamedSource::new(SourceKind::ConfigMap, r.name.clone()))
                    .or_else(|| {
                        e.secret_ref
                            .as_ref()
                            .map(|r| NamedSource::new(SourceKind::Secret, r.name.clone()))
                    })
            })
            .collect(),
        volume_mounts: c.volume_mounts.iter().flatten().map(|m| m.name.clone()).collect(),
    }
}

fn volume(v: &core::Volume) -> Volume {
    let source = if let Some(cm) = &v.config_map {
        VolumeSource::ConfigMap(cm.name.clone())
    } else if let Some(secret) = &v.secret {
        VolumeSource::Secret(secret.secret_name.clone().unwrap_or_default())
    } else if let Some(projected) = &v.projected {
        VolumeSource::Projected(
            projected
                .sources
                .iter()
                .flatten()
                .filter_map(|p| {
                    p.config_map
                        .as_ref()
                        .map(|c| NamedSource::new(SourceKind::ConfigMap, c.name.clone()))
                        .or_else(|| {
                            p.secret
                                .as_ref()
                                .map(|s| NamedSource::new(SourceKind::Secret, s.name.clone()))
                        })
                })
                .collect(),
        )
    } else if let Some(csi) = &v.csi {
        csi.volume_attributes
            .as_ref()
            .and_then(|a| a.get("secretProviderClass").cloned())
            .map_or(VolumeSource::Other, VolumeSource::Csi)
    } else {
        VolumeSource::Other
    };
    Volume {
        name: v.name.clone(),
        source,
    }
}
