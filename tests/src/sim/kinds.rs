//! The table of resource kinds the simulator serves.
//!
//! Adding a kind is one [`ResourceKind`] entry in [`builtin_kinds`]; storage, REST, watch,
//! discovery and OpenAPI are all driven by this table.

/// One resource kind served by the simulator (one row of discovery).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceKind {
    /// API group (`""` for the core group).
    pub group: &'static str,
    /// API version, e.g. `v1`.
    pub version: &'static str,
    /// Plural resource name used in URLs, e.g. `configmaps`.
    pub plural: &'static str,
    /// Singular name, e.g. `configmap`.
    pub singular: &'static str,
    /// Kind, e.g. `ConfigMap`.
    pub kind: &'static str,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
    /// Short names (`cm`, `deploy`, ...).
    pub short_names: &'static [&'static str],
    /// Whether `metadata.generation` is tracked (bumped when `spec` changes).
    pub tracks_generation: bool,
    /// Whether the kind has a `status` subresource (the main resource then ignores `status`).
    pub status_subresource: bool,
    /// Whether the kind comes from a CustomResourceDefinition (can be switched off).
    pub custom: bool,
}

/// The verbs every kind supports.
pub const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

impl ResourceKind {
    /// `apiVersion` of the kind's objects (`v1`, `apps/v1`).
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// URL prefix of the kind's group-version (`/api/v1`, `/apis/apps/v1`).
    pub fn group_version_path(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }

    /// The "qualified" resource name used in error messages (`configmaps`, `deployments.apps`).
    pub fn qualified_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// The "qualified" kind used in 422 messages (`ConfigMap`, `Job.batch`).
    pub fn qualified_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.to_string()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }

    /// Whether the kind is a workload whose pod template must be matched by its selector.
    pub fn has_pod_template_selector(&self) -> bool {
        self.group == "apps"
    }
}

#[allow(
    clippy::too_many_arguments,
    reason = "a table row constructor, called only in the table"
)]
const fn kind(
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    workload: bool,
) -> ResourceKind {
    ResourceKind {
        group,
        version,
        plural,
        singular,
        kind,
        namespaced,
        short_names,
        tracks_generation: workload,
        status_subresource: workload,
        custom: false,
    }
}

const fn custom(mut k: ResourceKind) -> ResourceKind {
    k.custom = true;
    k
}

/// Every kind the simulator knows, custom kinds included.
pub fn builtin_kinds() -> Vec<ResourceKind> {
    vec![
        kind(
            "",
            "v1",
            "namespaces",
            "namespace",
            "Namespace",
            false,
            &["ns"],
            false,
        ),
        kind(
            "",
            "v1",
            "configmaps",
            "configmap",
            "ConfigMap",
            true,
            &["cm"],
            false,
        ),
        kind("", "v1", "secrets", "secret", "Secret", true, &[], false),
        kind("", "v1", "pods", "pod", "Pod", true, &["po"], false),
        kind("", "v1", "events", "event", "Event", true, &["ev"], false),
        kind(
            "",
            "v1",
            "serviceaccounts",
            "serviceaccount",
            "ServiceAccount",
            true,
            &["sa"],
            false,
        ),
        kind("", "v1", "services", "service", "Service", true, &["svc"], false),
        kind(
            "apps",
            "v1",
            "deployments",
            "deployment",
            "Deployment",
            true,
            &["deploy"],
            true,
        ),
        kind(
            "apps",
            "v1",
            "daemonsets",
            "daemonset",
            "DaemonSet",
            true,
            &["ds"],
            true,
        ),
        kind(
            "apps",
            "v1",
            "statefulsets",
            "statefulset",
            "StatefulSet",
            true,
            &["sts"],
            true,
        ),
        kind(
            "apps",
            "v1",
            "replicasets",
            "replicaset",
            "ReplicaSet",
            true,
            &["rs"],
            true,
        ),
        kind("batch", "v1", "jobs", "job", "Job", true, &[], true),
        kind(
            "batch",
            "v1",
            "cronjobs",
            "cronjob",
            "CronJob",
            true,
            &["cj"],
            true,
        ),
        kind(
            "coordination.k8s.io",
            "v1",
            "leases",
            "lease",
            "Lease",
            true,
            &[],
            false,
        ),
        kind(
            "events.k8s.io",
            "v1",
            "events",
            "event",
            "Event",
            true,
            &["ev"],
            false,
        ),
        kind(
            "rbac.authorization.k8s.io",
            "v1",
            "roles",
            "role",
            "Role",
            true,
            &[],
            false,
        ),
        kind(
            "rbac.authorization.k8s.io",
            "v1",
            "rolebindings",
            "rolebinding",
            "RoleBinding",
            true,
            &[],
            false,
        ),
        kind(
            "rbac.authorization.k8s.io",
            "v1",
            "clusterroles",
            "clusterrole",
            "ClusterRole",
            false,
            &[],
            false,
        ),
        kind(
            "rbac.authorization.k8s.io",
            "v1",
            "clusterrolebindings",
            "clusterrolebinding",
            "ClusterRoleBinding",
            false,
            &[],
            false,
        ),
        kind(
            "policy",
            "v1",
            "poddisruptionbudgets",
            "poddisruptionbudget",
            "PodDisruptionBudget",
            true,
            &["pdb"],
            true,
        ),
        kind(
            "networking.k8s.io",
            "v1",
            "networkpolicies",
            "networkpolicy",
            "NetworkPolicy",
            true,
            &["netpol"],
            false,
        ),
        custom(kind(
            "argoproj.io",
            "v1alpha1",
            "rollouts",
            "rollout",
            "Rollout",
            true,
            &["ro"],
            true,
        )),
        custom(kind(
            "secrets-store.csi.x-k8s.io",
            "v1",
            "secretproviderclasses",
            "secretproviderclass",
            "SecretProviderClass",
            true,
            &[],
            false,
        )),
        custom(kind(
            "secrets-store.csi.x-k8s.io",
            "v1",
            "secretproviderclasspodstatuses",
            "secretproviderclasspodstatus",
            "SecretProviderClassPodStatus",
            true,
            &[],
            false,
        )),
    ]
}

/// The served kinds: every builtin kind, without custom kinds when `with_custom` is false.
pub fn served_kinds(with_custom: bool) -> Vec<ResourceKind> {
    builtin_kinds()
        .into_iter()
        .filter(|k| with_custom || !k.custom)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_group_version_and_plural_is_unique() {
        let kinds = builtin_kinds();
        for (i, a) in kinds.iter().enumerate() {
            for b in &kinds[i + 1..] {
                assert!(
                    !(a.group == b.group && a.version == b.version && a.plural == b.plural),
                    "{a:?}"
                );
            }
        }
    }

    #[test]
    fn switching_custom_kinds_off_removes_rollouts_only_among_workloads() {
        let served = served_kinds(false);
        assert!(served.iter().all(|k| k.plural != "rollouts"));
        assert!(served.iter().any(|k| k.plural == "deployments"));
    }
}
