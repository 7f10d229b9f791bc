//! Patch strategies and merge keys of the list fields of the kinds `kube-sim` serves.
//!
//! The real server reads them from Go struct tags (`patchStrategy`, `patchMergeKey`; the OpenAPI extensions
//! `x-kubernetes-patch-strategy`/`x-kubernetes-patch-merge-key`) of the typed object. We have no types, so
//! we key them by field name, and by the parent field where one name means different things in different
//! kinds (`ports` of a container vs. of a Service, `imagePullSecrets` of a pod spec vs. of a
//! ServiceAccount). Any list not named here is replaced atomically, which is what the real server does for
//! `tolerations`, `envFrom`, `args`, `command`, `rules`, `matchExpressions` and the rest.

/// How a list field merges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Strategy {
    /// The patch's list replaces the live one.
    Replace,
    /// Entries merge: maps by [`ListMeta::merge_key`], primitives as a set.
    Merge,
}

/// The patch metadata of one list field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ListMeta {
    pub(super) strategy: Strategy,
    /// The key identifying map entries; `None` for atomic lists and lists of primitives.
    pub(super) merge_key: Option<&'static str>,
}

const ATOMIC: ListMeta = ListMeta {
    strategy: Strategy::Replace,
    merge_key: None,
};

const fn by(key: &'static str) -> ListMeta {
    ListMeta {
        strategy: Strategy::Merge,
        merge_key: Some(key),
    }
}

const PRIMITIVE_SET: ListMeta = ListMeta {
    strategy: Strategy::Merge,
    merge_key: None,
};

const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// The patch metadata of list `field` inside the map reached through `path` (field names from the object
/// root; list entries add no component).
pub(super) fn list_meta(path: &[String], field: &str) -> ListMeta {
    let parent = path.last().map(String::as_str);
    match (parent, field) {
        // ObjectMeta (object and pod-template metadata).
        (Some("metadata"), "finalizers") => PRIMITIVE_SET,
        (Some("metadata"), "ownerReferences") => by("uid"),
        // PodSpec.
        (_, "containers" | "initContainers" | "ephemeralContainers") => by("name"),
        (Some("spec"), "volumes" | "imagePullSecrets" | "schedulingGates" | "resourceClaims") => by("name"),
        (Some("spec"), "hostAliases") => by("ip"),
        (Some("spec"), "topologySpreadConstraints") => by("topologyKey"),
        // Container and EphemeralContainer.
        (_, "env") => by("name"),
        (_, "volumeMounts") => by("mountPath"),
        (_, "volumeDevices") => by("devicePath"),
        (Some(p), "ports") if CONTAINER_LISTS.contains(&p) => by("containerPort"),
        // ServiceSpec: `spec.ports` at the root of a Service (no other kind we serve has one).
        (Some("spec"), "ports") if path.len() == 1 => by("port"),
        // Status of pods, workloads, jobs, namespaces, services, PodDisruptionBudgets.
        (_, "conditions") => by("type"),
        (Some("status"), "podIPs" | "hostIPs") => by("ip"),
        (Some("status"), "resourceClaimStatuses") => by("name"),
        // ServiceAccount.
        (None, "secrets") => by("name"),
        _ => ATOMIC,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|p| (*p).to_owned()).collect()
    }

    #[test]
    fn ports_merge_by_container_port_in_containers_and_by_port_in_services() {
        let container = path(&["spec", "template", "spec", "containers"]);
        assert_eq!(list_meta(&container, "ports"), by("containerPort"));
        assert_eq!(list_meta(&path(&["spec"]), "ports"), by("port"));
        assert_eq!(list_meta(&path(&["spec", "ingress"]), "ports"), ATOMIC);
    }

    #[test]
    fn image_pull_secrets_merge_in_pod_specs_but_not_in_service_accounts() {
        assert_eq!(
            list_meta(&path(&["spec", "template", "spec"]), "imagePullSecrets"),
            by("name")
        );
        assert_eq!(list_meta(&[], "imagePullSecrets"), ATOMIC);
    }

    #[test]
    fn unlisted_lists_are_atomic() {
        let container = path(&["spec", "containers"]);
        for field in ["args", "command", "envFrom"] {
            assert_eq!(list_meta(&container, field), ATOMIC, "{field}");
        }
        assert_eq!(list_meta(&path(&["spec"]), "tolerations"), ATOMIC);
        assert_eq!(list_meta(&[], "rules"), ATOMIC);
    }

    #[test]
    fn finalizers_are_a_set_of_primitives() {
        assert_eq!(list_meta(&path(&["metadata"]), "finalizers"), PRIMITIVE_SET);
        assert_eq!(
            list_meta(&path(&["spec"]), "finalizers"),
            ATOMIC,
            "Namespace spec.finalizers is atomic"
        );
    }
}
