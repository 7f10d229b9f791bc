//! API errors rendered as `metav1.Status` bodies, as the real API server does.

use serde_json::{Value, json};

use super::kinds::ResourceKind;

/// An error answered to a client: an HTTP status plus a `metav1.Status` body.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code} {reason}: {message}")]
pub struct ApiError {
    /// HTTP status code (404, 409, ...).
    pub code: u16,
    /// `Status.reason` (`NotFound`, `Conflict`, ...).
    pub reason: &'static str,
    /// Human-readable `Status.message`.
    pub message: String,
    /// `Status.details`, if any.
    pub details: Option<Value>,
    /// `Retry-After` seconds to send with the response, if any.
    pub retry_after: Option<u64>,
}

/// Result alias for simulator operations.
pub type ApiResult<T> = Result<T, ApiError>;

fn details(kind: &ResourceKind, name: &str) -> Value {
    let mut d = json!({ "name": name, "kind": kind.plural });
    if !kind.group.is_empty() {
        d["group"] = json!(kind.group);
    }
    d
}

impl ApiError {
    /// A bare error with no details.
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    /// 404 NotFound for an object.
    pub fn not_found(kind: &ResourceKind, name: &str) -> Self {
        Self {
            details: Some(details(kind, name)),
            ..Self::new(
                404,
                "NotFound",
                format!("{} \"{name}\" not found", kind.qualified_resource()),
            )
        }
    }

    /// 404 NotFound for a URL that names nothing the server serves.
    pub fn no_route() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    }

    /// 409 AlreadyExists on create.
    pub fn already_exists(kind: &ResourceKind, name: &str) -> Self {
        Self {
            details: Some(details(kind, name)),
            ..Self::new(
                409,
                "AlreadyExists",
                format!("{} \"{name}\" already exists", kind.qualified_resource()),
            )
        }
    }

    /// 409 Conflict on a stale resourceVersion.
    pub fn conflict(kind: &ResourceKind, name: &str) -> Self {
        Self {
            details: Some(details(kind, name)),
            ..Self::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply \
                     your changes to the latest version and try again",
                    kind.qualified_resource()
                ),
            )
        }
    }

    /// 422 Invalid with one field cause.
    pub fn invalid(kind: &ResourceKind, name: &str, field: &str, detail: &str) -> Self {
        let mut d = json!({
            "name": name,
            "kind": kind.kind,
            "causes": [{ "reason": "FieldValueInvalid", "message": format!("Invalid value: {detail}"), "field": field }],
        });
        if !kind.group.is_empty() {
            d["group"] = json!(kind.group);
        }
        Self {
            details: Some(d),
            ..Self::new(
                422,
                "Invalid",
                format!(
                    "{} \"{name}\" is invalid: {field}: Invalid value: {detail}",
                    kind.qualified_kind()
                ),
            )
        }
    }

    /// 400 BadRequest.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 410 Gone (reason `Expired`) for a resourceVersion older than the retained history.
    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// 403 Forbidden for a user without the rights.
    pub fn forbidden(
        user: &str,
        verb: &str,
        kind: &ResourceKind,
        namespace: Option<&str>,
        name: &str,
    ) -> Self {
        let subject = if name.is_empty() {
            kind.qualified_resource()
        } else {
            format!("{} \"{name}\"", kind.qualified_resource())
        };
        let scope = match namespace {
            Some(ns) => format!(" in the namespace \"{ns}\""),
            None => " at the cluster scope".to_string(),
        };
        Self {
            details: Some(details(kind, name)),
            ..Self::new(
                403,
                "Forbidden",
                format!(
                    "{subject} is forbidden: User \"{user}\" cannot {verb} resource \"{}\" in API group \"{}\"{scope}",
                    kind.plural, kind.group
                ),
            )
        }
    }

    /// The reason string the real server uses for an HTTP code without a more specific one.
    pub fn reason_for_code(code: u16) -> &'static str {
        match code {
            400 => "BadRequest",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "NotFound",
            405 => "MethodNotAllowed",
            409 => "Conflict",
            410 => "Expired",
            415 => "UnsupportedMediaType",
            422 => "Invalid",
            429 => "TooManyRequests",
            504 => "Timeout",
            503 => "ServiceUnavailable",
            _ => "InternalError",
        }
    }

    /// The `metav1.Status` body.
    pub fn status_body(&self) -> Value {
        let mut body = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            body["details"] = d.clone();
        }
        if let Some(secs) = self.retry_after {
            let d = body.as_object_mut().and_then(|o| {
                o.entry("details")
                    .or_insert_with(|| json!({}))
                    .as_object_mut()
                    .map(|d| {
                        d.insert("retryAfterSeconds".into(), json!(secs));
                    })
            });
            let _ = d;
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::kinds::builtin_kinds;

    fn deployments() -> ResourceKind {
        builtin_kinds()
            .into_iter()
            .find(|k| k.plural == "deployments")
            .unwrap_or_else(|| unreachable!())
    }

    #[test]
    fn not_found_names_the_group_qualified_resource_like_the_real_server() {
        let body = ApiError::not_found(&deployments(), "web").status_body();
        assert_eq!(body["message"], "deployments.apps \"web\" not found");
        assert_eq!(
            body["details"],
            json!({"name": "web", "kind": "deployments", "group": "apps"})
        );
        assert_eq!(body["code"], 404);
    }

    #[test]
    fn retry_after_is_reported_in_the_status_details() {
        let mut e = ApiError::new(429, "TooManyRequests", "slow down");
        e.retry_after = Some(3);
        assert_eq!(e.status_body()["details"]["retryAfterSeconds"], 3);
    }
}
