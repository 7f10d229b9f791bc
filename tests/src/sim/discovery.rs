//! Discovery documents (`/version`, `/api`, `/apis`, `APIResourceList`s) and the minimal
//! `/openapi/v3` documents kubectl needs to send `fieldValidation=Strict`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::kinds::{ResourceKind, VERBS};

/// `GET /version`.
pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "gitVersion": "v1.33.0-kube-sim",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// `GET /api`.
pub fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{ "clientCIDR": "0.0.0.0/0", "serverAddress": server_address }],
    })
}

/// Group name → versions served (sorted, non-core groups only).
fn groups(kinds: &[ResourceKind]) -> BTreeMap<&'static str, Vec<&'static str>> {
    let mut out: BTreeMap<&'static str, Vec<&'static str>> = BTreeMap::new();
    for k in kinds.iter().filter(|k| !k.group.is_empty()) {
        let versions = out.entry(k.group).or_default();
        if !versions.contains(&k.version) {
            versions.push(k.version);
        }
    }
    out
}

fn group_json(name: &str, versions: &[&str]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({ "groupVersion": format!("{name}/{v}"), "version": v }))
        .collect();
    json!({ "name": name, "versions": vs, "preferredVersion": vs.first().cloned().unwrap_or(Value::Null) })
}

/// `GET /apis`.
pub fn group_list(kinds: &[ResourceKind]) -> Value {
    let groups: Vec<Value> = groups(kinds).iter().map(|(n, v)| group_json(n, v)).collect();
    json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": groups })
}

/// `GET /apis/{group}`, if served.
pub fn group(kinds: &[ResourceKind], name: &str) -> Option<Value> {
    let groups = groups(kinds);
    let versions = groups.get(name)?;
    let mut g = group_json(name, versions);
    g["kind"] = json!("APIGroup");
    g["apiVersion"] = json!("v1");
    Some(g)
}

/// `GET /api/v1` or `GET /apis/{group}/{version}`, if served.
pub fn resource_list(kinds: &[ResourceKind], group: &str, version: &str) -> Option<Value> {
    let mut resources = Vec::new();
    for k in kinds.iter().filter(|k| k.group == group && k.version == version) {
        resources.push(json!({
            "name": k.plural,
            "singularName": k.singular,
            "namespaced": k.namespaced,
            "kind": k.kind,
            "verbs": VERBS,
            "shortNames": k.short_names,
        }));
        if k.status_subresource {
            resources.push(json!({
                "name": format!("{}/status", k.plural),
                "singularName": "",
                "namespaced": k.namespaced,
                "kind": k.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
    }
    if resources.is_empty() {
        return None;
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({ "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources }))
}

fn group_versions(kinds: &[ResourceKind]) -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for k in kinds {
        if !out.contains(&(k.group, k.version)) {
            out.push((k.group, k.version));
        }
    }
    out
}

fn openapi_key(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `GET /openapi/v3`: the index of per-group-version documents.
pub fn openapi_index(kinds: &[ResourceKind]) -> Value {
    let paths: serde_json::Map<String, Value> = group_versions(kinds)
        .into_iter()
        .map(|(g, v)| {
            let key = openapi_key(g, v);
            let url = format!("/openapi/v3/{key}?hash=kube-sim-{}", key.replace('/', "-"));
            (key, json!({ "serverRelativeURL": url }))
        })
        .collect();
    json!({ "paths": paths })
}

/// `GET /openapi/v3/{api/v1 | apis/g/v}`: one PATCH operation per kind, tagged with its
/// group-version-kind and declaring the `fieldValidation` parameter, which is all kubectl 1.32
/// looks for before leaving validation to the server.
pub fn openapi_document(kinds: &[ResourceKind], key: &str) -> Option<Value> {
    let (group, version) = group_versions(kinds)
        .into_iter()
        .find(|(g, v)| openapi_key(g, v) == key)?;
    let mut paths = serde_json::Map::new();
    for k in kinds.iter().filter(|k| k.group == group && k.version == version) {
        let path = if k.namespaced {
            format!("/{key}/namespaces/{{namespace}}/{}/{{name}}", k.plural)
        } else {
            format!("/{key}/{}/{{name}}", k.plural)
        };
        let gvk = json!({ "group": k.group, "version": k.version, "kind": k.kind });
        paths.insert(
            path,
            json!({
                "patch": {
                    "operationId": format!("patch{}", k.kind),
                    "x-kubernetes-action": "patch",
                    "x-kubernetes-group-version-kind": gvk,
                    "parameters": [
                        { "name": "fieldValidation", "in": "query", "schema": { "type": "string", "uniqueItems": true } },
                        { "name": "dryRun", "in": "query", "schema": { "type": "string", "uniqueItems": true } },
                        { "name": "fieldManager", "in": "query", "schema": { "type": "string", "uniqueItems": true } },
                    ],
                    "responses": { "200": { "description": "OK" } },
                }
            }),
        );
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": { "title": "Kubernetes", "version": "v1.33.0-kube-sim" },
        "paths": paths,
        "components": { "schemas": {} },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::kinds::builtin_kinds;

    #[test]
    fn apps_resource_list_has_deployments_with_their_short_name() {
        let list = resource_list(&builtin_kinds(), "apps", "v1").unwrap_or_default();
        let deploy = list["resources"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["name"] == "deployments"));
        assert_eq!(deploy.map(|d| d["shortNames"].clone()), Some(json!(["deploy"])));
    }

    #[test]
    fn openapi_index_lists_core_and_apps_group_versions() {
        let index = openapi_index(&builtin_kinds());
        assert!(index["paths"]["api/v1"]["serverRelativeURL"].is_string());
        assert!(openapi_document(&builtin_kinds(), "apis/apps/v1").is_some());
        assert!(openapi_document(&builtin_kinds(), "apis/nope/v1").is_none());
    }
}
