//! Building [`SourceContent`] and [`SourceMeta`] from Kubernetes objects.
//!
//! ConfigMaps and Secrets come as k8s-openapi types. The CSI `SecretProviderClassPodStatus` is
//! a CRD, so it is read from JSON into the small [`SecretProviderClassPodStatus`] record.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;

use super::{SourceContent, SourceKind, SourceMeta, SourceRef};
use crate::error::{Error, Result};

static NO_STRINGS: BTreeMap<String, String> = BTreeMap::new();
static NO_BYTES: BTreeMap<String, ByteString> = BTreeMap::new();

impl<'a> SourceContent<'a> {
    /// The hashed content of a ConfigMap: `data` and `binaryData` (absent fields are empty).
    ///
    /// ```
    /// use k8s_openapi::api::core::v1::ConfigMap;
    /// use reload_core::hash::{Hasher, ReloaderHasher};
    /// use reload_core::SourceContent;
    ///
    /// let cm = ConfigMap::default();
    /// let digest = ReloaderHasher.digest(&SourceContent::from_config_map(&cm));
    /// assert_eq!(digest.as_str(), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    /// ```
    pub fn from_config_map(config_map: &'a ConfigMap) -> Self {
        SourceContent::ConfigMap {
            data: config_map.data.as_ref().unwrap_or(&NO_STRINGS),
            binary_data: config_map.binary_data.as_ref().unwrap_or(&NO_BYTES),
        }
    }

    /// The hashed content of a Secret: the decoded bytes of `data` (`stringData` is write-only
    /// and never returned by the API server, so it is not read).
    pub fn from_secret(secret: &'a Secret) -> Self {
        SourceContent::Secret {
            data: secret.data.as_ref().unwrap_or(&NO_BYTES),
        }
    }

    /// The hashed content of a CSI `SecretProviderClassPodStatus`.
    pub fn from_pod_status(status: &'a SecretProviderClassPodStatus) -> Self {
        SourceContent::SecretProviderClassPodStatus {
            class_name: &status.class_name,
            objects: status.objects.as_deref(),
        }
    }
}

impl SourceMeta {
    /// The matcher's view of a source: its identity (kind, `metadata.namespace`,
    /// `metadata.name`), its labels, and **only** the annotations named in `keep`.
    ///
    /// Keep only what rules read (for [`crate::matcher::AnnotationMatcher`]:
    /// [`crate::matcher::AnnotationKeys::source_keys`]). Copying every annotation would be
    /// dangerous: `kubectl.kubernetes.io/last-applied-configuration` on a Secret holds its data.
    /// A missing namespace or name reads as empty.
    pub fn from_metadata(kind: SourceKind, metadata: &ObjectMeta, keep: &[&str]) -> Self {
        let annotations = metadata
            .annotations
            .iter()
            .flatten()
            .filter(|(key, _)| keep.contains(&key.as_str()))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        SourceMeta {
            id: Some(SourceRef::new(
                kind,
                metadata.namespace.clone().unwrap_or_default(),
                metadata.name.clone().unwrap_or_default(),
            )),
            annotations,
            labels: metadata.labels.clone().unwrap_or_default(),
        }
    }
}

/// What reloads need from a CSI `SecretProviderClassPodStatus`
/// (`secrets-store.csi.x-k8s.io/v1`): where it lives, which `SecretProviderClass` it reports
/// on, and the versions of the objects mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretProviderClassPodStatus {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name` (the pod status object, not the class).
    pub name: String,
    /// `status.secretProviderClassName`.
    pub class_name: String,
    /// `status.objects` as `(id, version)` pairs; `None` when the field is absent or null.
    pub objects: Option<Vec<(String, String)>>,
}

#[derive(Deserialize)]
struct RawPodStatus {
    #[serde(default)]
    metadata: RawMetadata,
    status: Option<RawStatus>,
}

#[derive(Deserialize, Default)]
struct RawMetadata {
    name: Option<String>,
    namespace: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawStatus {
    secret_provider_class_name: Option<String>,
    objects: Option<Vec<RawObject>>,
}

#[derive(Deserialize)]
struct RawObject {
    #[serde(default)]
    id: String,
    #[serde(default)]
    version: String,
}

impl SecretProviderClassPodStatus {
    /// Reads a `SecretProviderClassPodStatus` object from its JSON.
    ///
    /// # Errors
    ///
    /// [`Error::ReadObject`] when the JSON does not have the object's shape, or it lacks a
    /// name, namespace, `status` or `status.secretProviderClassName`.
    ///
    /// ```
    /// use reload_core::source::SecretProviderClassPodStatus;
    ///
    /// let status = SecretProviderClassPodStatus::from_json(&serde_json::json!({
    ///     "metadata": {"name": "pod-a-default-my-spc", "namespace": "default"},
    ///     "status": {"secretProviderClassName": "my-spc", "objects": [{"id": "parameter1", "version": "v1"}]}
    /// }))?;
    /// assert_eq!(status.class_name, "my-spc");
    /// assert_eq!(status.objects, Some(vec![("parameter1".to_string(), "v1".to_string())]));
    /// # Ok::<(), reload_core::Error>(())
    /// ```
    pub fn from_json(value: &serde_json::Value) -> Result<Self> {
        let fail = |namespace: &str, name: &str, problem: String| Error::ReadObject {
            kind: "SecretProviderClassPodStatus".to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            problem,
        };
        let raw = RawPodStatus::deserialize(value).map_err(|e| {
            let meta = value.get("metadata");
            let text = |key| {
                meta.and_then(|m| m.get(key))
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
            };
            fail(text("namespace"), text("name"), format!("unexpected shape: {e}"))
        })?;
        let namespace = raw.metadata.namespace.unwrap_or_default();
        let name = raw.metadata.name.unwrap_or_default();
        if name.is_empty() || namespace.is_empty() {
            return Err(fail(
                &namespace,
                &name,
                "metadata.name or metadata.namespace is missing".into(),
            ));
        }
        let Some(status) = raw.status else {
            return Err(fail(&namespace, &name, "status is missing".into()));
        };
        let Some(class_name) = status.secret_provider_class_name else {
            return Err(fail(
                &namespace,
                &name,
                "status.secretProviderClassName is missing".into(),
            ));
        };
        Ok(SecretProviderClassPodStatus {
            namespace,
            name,
            class_name,
            objects: status
                .objects
                .map(|objects| objects.into_iter().map(|o| (o.id, o.version)).collect()),
        })
    }

    /// The source this status reports on: the `SecretProviderClass` named by
    /// `status.secretProviderClassName`, in the status's namespace.
    pub fn source_ref(&self) -> SourceRef {
        SourceRef::new(SourceKind::SecretProviderClass, &self.namespace, &self.class_name)
    }

    /// Its hashed content.
    pub fn content(&self) -> SourceContent<'_> {
        SourceContent::from_pod_status(self)
    }
}
