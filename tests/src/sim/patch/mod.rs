//! The three patch types of the Kubernetes API, applied to an object held as JSON.
//!
//! | content type | function | semantics |
//! |---|---|---|
//! | `application/merge-patch+json` | [`apply_merge_patch`] | RFC 7386 JSON merge patch |
//! | `application/json-patch+json` | [`apply_json_patch`] | RFC 6902 JSON patch, atomic, with `test` |
//! | `application/strategic-merge-patch+json` | [`apply_strategic_merge_patch`] | Kubernetes strategic merge patch |
//!
//! Every function either applies the whole patch or leaves the target untouched, and every failure is a
//! [`PatchError`] that knows the HTTP status and `Status.reason` the real API server answers with.
//!
//! What the server does around the patch (reading the body, checking `metadata.resourceVersion`, refusing
//! strategic merge patches on custom resources, validating the result) is the caller's job.
//!
//! ```
//! use reload_tests::sim::patch::apply_strategic_merge_patch;
//! use serde_json::json;
//!
//! let mut deployment = json!({"spec": {"template": {"spec": {"containers": [
//!     {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "a"}]},
//!     {"name": "sidecar", "image": "proxy:1"}
//! ]}}}});
//! let patch = json!({"spec": {"template": {"spec": {"containers": [
//!     {"name": "app", "env": [{"name": "X", "value": "1"}]}
//! ]}}}});
//! apply_strategic_merge_patch(&mut deployment, &patch).unwrap();
//! let containers = &deployment["spec"]["template"]["spec"]["containers"];
//! assert_eq!(containers[0]["env"], json!([{"name": "X", "value": "1"}, {"name": "A", "value": "a"}]));
//! assert_eq!(containers[1]["name"], "sidecar");
//! ```

mod gofmt;
mod json;
mod merge;
mod strategic;

#[cfg(test)]
mod tests;

pub use json::apply_json_patch;
pub use merge::apply_merge_patch;
pub use strategic::apply_strategic_merge_patch;

/// Why a patch could not be applied, classified by the answer the real API server gives.
///
/// None of the variants is retryable: the same patch on the same object fails the same way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PatchError {
    /// The body is not a patch of its type (not a JSON object for merge and strategic patches, not a list of
    /// operations for JSON patch, a malformed `$retainKeys`/`$setElementOrder`/`$deleteFromPrimitiveList`
    /// directive). HTTP 400, reason `BadRequest`.
    #[error("{message}")]
    BadRequest {
        /// The message of the `Status` body.
        message: String,
    },
    /// The patch is well formed but does not apply: a JSON patch `test` failed or an operation names a path
    /// the object lacks, or the result is not an object. HTTP 422, reason `Invalid`.
    #[error("{message}")]
    Invalid {
        /// The message of the `Status` body.
        message: String,
    },
    /// A strategic merge patch the merge engine rejects (a list entry without its merge key, an unknown
    /// `$patch` directive, `$patch: merge`, mixed element types). The real server does not classify these
    /// errors, so they reach the client as HTTP 500 with an empty `reason`.
    #[error("{message}")]
    Internal {
        /// The message of the `Status` body.
        message: String,
    },
    /// A strategic merge patch sent for a custom resource, which has no Go struct to take merge keys
    /// from. HTTP 415, reason `UnsupportedMediaType`. Never returned by the functions of this module: the
    /// server builds it when it knows the kind is a custom resource.
    #[error(
        "the body of the request was in an unknown format - accepted media types include: \
         application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
    )]
    UnsupportedMediaType,
}

impl PatchError {
    /// The HTTP status code the real API server answers with.
    pub fn status_code(&self) -> u16 {
        match self {
            Self::BadRequest { .. } => 400,
            Self::Invalid { .. } => 422,
            Self::Internal { .. } => 500,
            Self::UnsupportedMediaType => 415,
        }
    }

    /// The `reason` field of the `metav1.Status` body (empty for [`PatchError::Internal`], as the real
    /// server's `StatusReasonUnknown`).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::BadRequest { .. } => "BadRequest",
            Self::Invalid { .. } => "Invalid",
            Self::Internal { .. } => "",
            Self::UnsupportedMediaType => "UnsupportedMediaType",
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest {
            message: message.into(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid {
            message: message.into(),
        }
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::Internal {
            message: message.into(),
        }
    }
}

/// The 422 the real server returns when a patched document does not decode into an object.
fn not_an_object(patched: &serde_json::Value) -> PatchError {
    PatchError::invalid(format!(
        "\"\" is invalid: patch: Invalid value: \"{patched}\": json: cannot unmarshal {} into Go value of type \
         map[string]interface {{}}",
        gofmt::json_kind(patched)
    ))
}
