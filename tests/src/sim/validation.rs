//! Request validation that the real server does before storage: `fieldValidation=Strict`
//! (top-level and metadata fields only), the required fields of RBAC objects (so a server-side
//! dry-run of a chart's Roles and bindings means something), and the per-kind field-selector
//! allowlist.

use std::sync::Arc;

use serde_json::Value;

use super::error::{ApiError, ApiResult};
use super::kinds::ResourceKind;
use super::selector::{FieldSelector, LabelSelector};
use super::watch::Filter;

const METADATA_FIELDS: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "labels",
    "annotations",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "finalizers",
    "ownerReferences",
    "managedFields",
    "selfLink",
];

/// Top-level fields a kind declares beyond `apiVersion`, `kind`, `metadata`; `None` when the
/// simulator does not know the schema (no strict check).
fn top_level_fields(kind: &ResourceKind) -> Option<&'static [&'static str]> {
    if kind.custom {
        return None;
    }
    Some(match (kind.group, kind.plural) {
        ("", "configmaps") => &["data", "binaryData", "immutable"],
        ("", "secrets") => &["data", "stringData", "type", "immutable"],
        ("", "serviceaccounts") => &["secrets", "imagePullSecrets", "automountServiceAccountToken"],
        ("", "events") | ("events.k8s.io", "events") => return None,
        ("rbac.authorization.k8s.io", "roles") => &["rules"],
        ("rbac.authorization.k8s.io", "clusterroles") => &["rules", "aggregationRule"],
        ("rbac.authorization.k8s.io", _) => &["subjects", "roleRef"],
        _ => &["spec", "status"],
    })
}

/// `fieldValidation=Strict`: rejects unknown top-level and metadata fields with the real
/// server's 400 message.
pub fn strict(kind: &ResourceKind, obj: &Value) -> ApiResult<()> {
    let Some(extra) = top_level_fields(kind) else {
        return Ok(());
    };
    let mut unknown = Vec::new();
    if let Some(o) = obj.as_object() {
        for k in o.keys() {
            if !matches!(k.as_str(), "apiVersion" | "kind" | "metadata") && !extra.contains(&k.as_str()) {
                unknown.push(format!("unknown field \"{k}\""));
            }
        }
    }
    if let Some(m) = obj["metadata"].as_object() {
        for k in m.keys().filter(|k| !METADATA_FIELDS.contains(&k.as_str())) {
            unknown.push(format!("unknown field \"metadata.{k}\""));
        }
    }
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "strict decoding error: {}",
            unknown.join(", ")
        )))
    }
}

/// The RBAC API group, the only one a `roleRef` may name.
const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// The real server's checks of Roles, ClusterRoles and their bindings (a subset of
/// `pkg/apis/rbac/validation`): every rule names verbs and, outside ClusterRole URL rules,
/// API groups and resources; a `roleRef` names an RBAC kind the binding may refer to; every
/// subject has a known kind and a name, and a ServiceAccount subject of a ClusterRoleBinding
/// a namespace. Other kinds pass.
pub fn rbac(kind: &ResourceKind, name: &str, obj: &Value) -> ApiResult<()> {
    if kind.group != RBAC_GROUP {
        return Ok(());
    }
    let required = |field: String| Err(ApiError::invalid(kind, name, &field, "Required value"));
    let present =
        |v: &Value| v.as_str().is_some_and(|s| !s.is_empty()) || v.as_array().is_some_and(|a| !a.is_empty());
    match kind.plural {
        "roles" | "clusterroles" => {
            for (i, rule) in obj["rules"].as_array().into_iter().flatten().enumerate() {
                if !present(&rule["verbs"]) {
                    return required(format!("rules[{i}].verbs"));
                }
                let urls = kind.plural == "clusterroles" && present(&rule["nonResourceURLs"]);
                if !urls && rule["apiGroups"].as_array().is_none_or(Vec::is_empty) {
                    return required(format!("rules[{i}].apiGroups"));
                }
                if !urls && !present(&rule["resources"]) {
                    return required(format!("rules[{i}].resources"));
                }
            }
            Ok(())
        }
        "rolebindings" | "clusterrolebindings" => {
            let cluster = kind.plural == "clusterrolebindings";
            let role_ref = &obj["roleRef"];
            if role_ref["apiGroup"].as_str() != Some(RBAC_GROUP) {
                let detail = format!("{}: supported values: \"{RBAC_GROUP}\"", role_ref["apiGroup"]);
                return Err(ApiError::invalid(kind, name, "roleRef.apiGroup", &detail));
            }
            let allowed: &[&str] = if cluster {
                &["ClusterRole"]
            } else {
                &["Role", "ClusterRole"]
            };
            if !role_ref["kind"].as_str().is_some_and(|k| allowed.contains(&k)) {
                let detail = format!("{}: supported values: {allowed:?}", role_ref["kind"]);
                return Err(ApiError::invalid(kind, name, "roleRef.kind", &detail));
            }
            if !present(&role_ref["name"]) {
                return required("roleRef.name".to_string());
            }
            for (i, subject) in obj["subjects"].as_array().into_iter().flatten().enumerate() {
                if !present(&subject["name"]) {
                    return required(format!("subjects[{i}].name"));
                }
                match subject["kind"].as_str() {
                    Some("ServiceAccount") if cluster && !present(&subject["namespace"]) => {
                        return required(format!("subjects[{i}].namespace"));
                    }
                    Some("ServiceAccount" | "User" | "Group") => {}
                    _ => {
                        let detail = format!(
                            "{}: supported values: \"ServiceAccount\", \"User\", \"Group\"",
                            subject["kind"]
                        );
                        return Err(ApiError::invalid(
                            kind,
                            name,
                            &format!("subjects[{i}].kind"),
                            &detail,
                        ));
                    }
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Field-selector fields a kind supports (`metadata.name`/`metadata.namespace` always).
fn selectable_fields(kind: &ResourceKind) -> &'static [&'static str] {
    match (kind.group, kind.plural) {
        ("", "secrets") => &["type"],
        ("", "pods") => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "status.phase",
            "status.podIP",
        ],
        ("", "events") => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        ("", "namespaces") => &["status.phase"],
        _ => &[],
    }
}

/// Builds the object filter of a list or watch from its `labelSelector` and `fieldSelector`.
pub fn filter(kind: &ResourceKind, labels: Option<&String>, fields: Option<&String>) -> ApiResult<Filter> {
    let labels: LabelSelector = match labels.filter(|s| !s.trim().is_empty()) {
        Some(s) => s
            .parse()
            .map_err(|e| ApiError::bad_request(format!("unable to parse requirement: {e}")))?,
        None => LabelSelector::everything(),
    };
    let fields: FieldSelector = match fields.filter(|s| !s.trim().is_empty()) {
        Some(s) => {
            let parsed: FieldSelector = s
                .parse()
                .map_err(|e: super::selector::SelectorError| ApiError::bad_request(e.message()))?;
            let supported: Vec<&str> = ["metadata.name", "metadata.namespace"]
                .into_iter()
                .chain(selectable_fields(kind).iter().copied())
                .collect();
            parsed
                .check_supported(&supported)
                .map_err(|e| ApiError::bad_request(e.message()))?;
            parsed
        }
        None => FieldSelector::everything(),
    };
    Ok(Arc::new(move |obj: &Value| {
        labels.matches_object(obj) && fields.matches(obj)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::kinds::builtin_kinds;
    use serde_json::json;

    fn kind(plural: &str) -> ResourceKind {
        builtin_kinds()
            .into_iter()
            .find(|k| k.plural == plural)
            .unwrap_or_else(|| unreachable!())
    }

    #[test]
    fn strict_validation_rejects_an_unknown_top_level_field_of_a_configmap() {
        let err = strict(
            &kind("configmaps"),
            &json!({"metadata": {"name": "a"}, "datum": {}}),
        )
        .err();
        assert_eq!(
            err.map(|e| e.message),
            Some("strict decoding error: unknown field \"datum\"".to_string())
        );
        assert!(
            strict(
                &kind("configmaps"),
                &json!({"metadata": {"name": "a"}, "data": {}})
            )
            .is_ok()
        );
    }

    #[test]
    fn rbac_objects_need_their_required_fields() {
        let role = kind("roles");
        let ok = json!({"rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}]});
        assert!(rbac(&role, "r", &ok).is_ok());
        let no_verbs = json!({"rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": []}]});
        let message = rbac(&role, "r", &no_verbs).err().map(|e| e.message);
        assert!(
            message
                .as_deref()
                .is_some_and(|m| m.contains("\"r\" is invalid: rules[0].verbs:")),
            "{message:?}"
        );
        let no_groups = json!({"rules": [{"resources": ["configmaps"], "verbs": ["list"]}]});
        assert_eq!(rbac(&role, "r", &no_groups).err().map(|e| e.code), Some(422));

        let binding = kind("clusterrolebindings");
        let subject = json!({"kind": "ServiceAccount", "name": "sa", "namespace": "ns"});
        let good = json!({"roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "c"}, "subjects": [subject]});
        assert!(rbac(&binding, "b", &good).is_ok());
        let mut to_role = good.clone();
        to_role["roleRef"]["kind"] = json!("Role");
        assert_eq!(rbac(&binding, "b", &to_role).err().map(|e| e.code), Some(422));
        let mut no_namespace = good.clone();
        no_namespace["subjects"][0]["namespace"] = Value::Null;
        assert_eq!(
            rbac(&binding, "b", &no_namespace).err().map(|e| e.code),
            Some(422)
        );
        assert!(
            rbac(&binding, "b", &json!({"subjects": []})).is_err(),
            "roleRef is required"
        );
        assert!(rbac(&kind("configmaps"), "c", &json!({})).is_ok());
    }

    #[test]
    fn field_selector_on_an_unsupported_field_is_a_bad_request() {
        let err = filter(&kind("configmaps"), None, Some(&"data.x=1".to_string())).err();
        assert_eq!(err.map(|e| e.code), Some(400));
        assert!(filter(&kind("secrets"), None, Some(&"type=Opaque".to_string())).is_ok());
    }
}
