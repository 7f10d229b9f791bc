//! Reloader's choice of the container a reload writes to (`reloader-spec.md` §5,
//! `getContainerUsingResource`).

use crate::decision::SkipReason;
use crate::source::SourceKind;
use crate::workload::{Container, NamedSource, PodTemplate, VolumeSource};

/// Whether the rule that decided needs a reference, which changes the fallback of §5.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerFallback {
    /// Auto, typed auto, auto-reload-all, search/match: no reference means no container.
    RequireReference,
    /// Named (regex) reload: no reference falls back to `containers[0]`.
    FirstContainer,
}

/// The regular container Reloader writes to when the source `kind`/`name` changes.
///
/// 1. The **first** volume (in `volumes` order) backed by the source (ConfigMap or Secret
///    volume, projected source, or CSI `secretProviderClass` attribute): the first regular
///    container mounting it; else, if an init container mounts it, `containers[0]`. If nothing
///    mounts that volume, go on (later matching volumes are not considered, as in Reloader).
/// 2. The first regular container referencing it through env `valueFrom` or `envFrom`
///    (ConfigMaps and Secrets only); else, if an init container does, `containers[0]`.
/// 3. Otherwise `containers[0]` with [`ContainerFallback::FirstContainer`].
///
/// # Errors
///
/// [`SkipReason::NotReferenced`] when nothing references the source and a reference is
/// required; [`SkipReason::NoContainer`] when a container should be `containers[0]` but the
/// template has no regular container (Reloader would index out of range there).
///
/// ```
/// use reload_core::matcher::{ContainerFallback, reloader_container};
/// use reload_core::{Container, NamedSource, PodTemplate, SourceKind};
///
/// let template = PodTemplate {
///     containers: vec![
///         Container { name: "sidecar".into(), ..Container::default() },
///         Container {
///             name: "app".into(),
///             env_from: vec![NamedSource::new(SourceKind::ConfigMap, "cm")],
///             ..Container::default()
///         },
///     ],
///     ..PodTemplate::default()
/// };
/// let chosen = reloader_container(&template, SourceKind::ConfigMap, "cm", ContainerFallback::RequireReference);
/// assert_eq!(chosen.map(|c| c.name.as_str()), Ok("app"));
/// ```
pub fn reloader_container<'a>(
    template: &'a PodTemplate,
    kind: SourceKind,
    name: &str,
    fallback: ContainerFallback,
) -> Result<&'a Container, SkipReason> {
    let first = || template.containers.first().ok_or(SkipReason::NoContainer);
    let wanted = NamedSource::new(kind, name);

    let volume = template.volumes.iter().find(|volume| match &volume.source {
        VolumeSource::ConfigMap(n) => kind == SourceKind::ConfigMap && n == name,
        VolumeSource::Secret(n) => kind == SourceKind::Secret && n == name,
        VolumeSource::Csi(n) => kind == SourceKind::SecretProviderClass && n == name,
        VolumeSource::Projected(sources) => sources.contains(&wanted),
        VolumeSource::Other => false,
    });
    if let Some(volume) = volume {
        let mounts = |c: &&Container| c.volume_mounts.contains(&volume.name);
        if let Some(container) = template.containers.iter().find(mounts) {
            return Ok(container);
        }
        if template.init_containers.iter().any(|c| mounts(&c)) {
            return first();
        }
    }

    // SecretProviderClasses are never referenced through env (the model cannot even say so).
    let uses_env = |c: &&Container| {
        c.env.iter().any(|e| e.value_from.as_ref() == Some(&wanted)) || c.env_from.contains(&wanted)
    };
    if let Some(container) = template.containers.iter().find(uses_env) {
        return Ok(container);
    }
    if template.init_containers.iter().any(|c| uses_env(&c)) {
        return first();
    }

    match fallback {
        ContainerFallback::FirstContainer => first(),
        ContainerFallback::RequireReference => Err(SkipReason::NotReferenced),
    }
}
