//! Fixtures: create objects from YAML or typed values through any `kube::Client` (simulator or
//! real cluster), and read them back.

use kube::api::{Api, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde::de::DeserializeOwned;
use serde::{Deserialize as _, Serialize};
use serde_json::Value;

use super::kinds::builtin_kinds;

/// Errors of fixture helpers.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// The YAML did not parse.
    #[error("parsing YAML fixture: {0}")]
    Yaml(#[from] serde_yaml::Error),
    /// A value did not convert to or from JSON.
    #[error("converting fixture: {0}")]
    Json(#[from] serde_json::Error),
    /// The object's kind is not one the simulator knows.
    #[error("unknown kind {api_version}/{kind}")]
    UnknownKind {
        /// `apiVersion` of the object.
        api_version: String,
        /// `kind` of the object.
        kind: String,
    },
    /// The API call failed.
    #[error("API call: {0}")]
    Api(#[from] Box<kube::Error>),
}

/// Parses a multi-document YAML string into JSON values (empty documents skipped).
pub fn parse_yaml_documents(yaml: &str) -> Result<Vec<Value>, serde_yaml::Error> {
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(yaml) {
        let v = Value::deserialize(doc)?;
        if !v.is_null() {
            out.push(v);
        }
    }
    Ok(out)
}

fn api_for(client: &kube::Client, obj: &Value, default_ns: &str) -> Result<Api<DynamicObject>, FixtureError> {
    let api_version = obj["apiVersion"].as_str().unwrap_or_default();
    let kind = obj["kind"].as_str().unwrap_or_default();
    let unknown = || FixtureError::UnknownKind {
        api_version: api_version.to_string(),
        kind: kind.to_string(),
    };
    let k = builtin_kinds()
        .into_iter()
        .find(|k| k.api_version() == api_version && k.kind == kind)
        .ok_or_else(unknown)?;
    let gvk = GroupVersionKind::gvk(k.group, k.version, k.kind);
    let ar = ApiResource::from_gvk_with_plural(&gvk, k.plural);
    Ok(if k.namespaced {
        let ns = obj["metadata"]["namespace"].as_str().unwrap_or(default_ns);
        Api::namespaced_with(client.clone(), ns, &ar)
    } else {
        Api::all_with(client.clone(), &ar)
    })
}

/// Creates one object given as JSON (namespace from metadata, else `default_ns`).
pub async fn create_value(
    client: &kube::Client,
    default_ns: &str,
    obj: &Value,
) -> Result<DynamicObject, FixtureError> {
    let api = api_for(client, obj, default_ns)?;
    let dyn_obj: DynamicObject = serde_json::from_value(obj.clone())?;
    api.create(&PostParams::default(), &dyn_obj)
        .await
        .map_err(|e| FixtureError::Api(Box::new(e)))
}

/// Creates every object of a multi-document YAML string, in order.
pub async fn create_yaml(
    client: &kube::Client,
    default_ns: &str,
    yaml: &str,
) -> Result<Vec<DynamicObject>, FixtureError> {
    let mut out = Vec::new();
    for doc in parse_yaml_documents(yaml)? {
        out.push(create_value(client, default_ns, &doc).await?);
    }
    Ok(out)
}

/// Creates a typed object (e.g. a `k8s_openapi` ConfigMap) and returns the stored version.
pub async fn create_typed<K>(client: &kube::Client, default_ns: &str, obj: &K) -> Result<K, FixtureError>
where
    K: Serialize + DeserializeOwned,
{
    let created = create_value(client, default_ns, &serde_json::to_value(obj)?).await?;
    Ok(serde_json::from_value(serde_json::to_value(created)?)?)
}

/// Reads a typed namespaced object back.
pub async fn get_typed<K>(client: &kube::Client, namespace: &str, name: &str) -> Result<K, FixtureError>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    Api::<K>::namespaced(client.clone(), namespace)
        .get(name)
        .await
        .map_err(|e| FixtureError::Api(Box::new(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_document_yaml_yields_each_non_empty_document() {
        let docs = parse_yaml_documents("a: 1\n---\n---\nb: 2\n").unwrap_or_default();
        assert_eq!(
            docs,
            vec![serde_json::json!({"a": 1}), serde_json::json!({"b": 2})]
        );
    }
}
