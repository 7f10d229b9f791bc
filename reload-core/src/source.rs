//! Sources: the ConfigMaps, Secrets and CSI secret-provider classes whose changes reload workloads.

mod convert;

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::ByteString;
use serde::{Deserialize, Serialize};

pub use convert::SecretProviderClassPodStatus;

/// The kind of object whose content change can reload a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SourceKind {
    /// A core/v1 ConfigMap.
    ConfigMap,
    /// A core/v1 Secret.
    Secret,
    /// A CSI `SecretProviderClass`, observed through its `SecretProviderClassPodStatus` objects.
    SecretProviderClass,
}

impl SourceKind {
    /// Reloader's type string: `CONFIGMAP`, `SECRET` or `SECRETPROVIDERCLASS`.
    ///
    /// It is the `type` field of `last-reloaded-from`, the env var suffix and the second `%s`
    /// of Reloader's `Changes detected in ...` log line.
    pub fn reloader_type(self) -> &'static str {
        match self {
            SourceKind::ConfigMap => "CONFIGMAP",
            SourceKind::Secret => "SECRET",
            SourceKind::SecretProviderClass => "SECRETPROVIDERCLASS",
        }
    }

    /// The Kubernetes kind name (`ConfigMap`, `Secret`, `SecretProviderClass`).
    pub fn kube_kind(self) -> &'static str {
        match self {
            SourceKind::ConfigMap => "ConfigMap",
            SourceKind::Secret => "Secret",
            SourceKind::SecretProviderClass => "SecretProviderClass",
        }
    }

    /// Every source kind, in a fixed order.
    pub const ALL: [SourceKind; 3] = [
        SourceKind::ConfigMap,
        SourceKind::Secret,
        SourceKind::SecretProviderClass,
    ];
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kube_kind())
    }
}

/// The identity of a source: kind, namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SourceRef {
    /// What kind of source.
    pub kind: SourceKind,
    /// Its namespace.
    pub namespace: String,
    /// Its name (for CSI, the `SecretProviderClass` name).
    pub name: String,
}

impl SourceRef {
    /// A source reference.
    pub fn new(kind: SourceKind, namespace: impl Into<String>, name: impl Into<String>) -> Self {
        SourceRef {
            kind,
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for SourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
    }
}

/// What the matcher needs to know about a changed source: its identity and metadata.
///
/// Never holds the source's data; see [`SourceContent`] for hashing.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SourceMeta {
    /// Identity. `None` only in [`Default`]; every real source has one.
    pub id: Option<SourceRef>,
    /// The source's metadata annotations (only the ones rules read need to be kept).
    pub annotations: BTreeMap<String, String>,
    /// The source's labels.
    pub labels: BTreeMap<String, String>,
}

impl SourceMeta {
    /// Metadata of a source with no annotations or labels.
    pub fn new(id: SourceRef) -> Self {
        SourceMeta {
            id: Some(id),
            ..SourceMeta::default()
        }
    }

    /// Adds an annotation.
    #[must_use]
    pub fn with_annotation(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.annotations.insert(key.into(), value.into());
        self
    }

    /// Adds a label.
    #[must_use]
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }
}

/// The content of a source that its digest covers, borrowed from the Kubernetes object.
#[derive(Debug, Clone, Copy)]
pub enum SourceContent<'a> {
    /// A ConfigMap's `data` and `binaryData`.
    ConfigMap {
        /// `data`.
        data: &'a BTreeMap<String, String>,
        /// `binaryData` (raw bytes; Reloader hashes their base64 form).
        binary_data: &'a BTreeMap<String, ByteString>,
    },
    /// A Secret's `data` (decoded bytes; need not be UTF-8).
    Secret {
        /// `data`.
        data: &'a BTreeMap<String, ByteString>,
    },
    /// A `SecretProviderClassPodStatus`'s `status`.
    SecretProviderClassPodStatus {
        /// `status.secretProviderClassName`.
        class_name: &'a str,
        /// `status.objects` as `(id, version)` pairs; `None` when the field is absent.
        objects: Option<&'a [(String, String)]>,
    },
}
