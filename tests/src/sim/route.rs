//! HTTP plumbing shared by the handlers: URL parsing, query parsing, JSON and `Status`
//! responses, list bodies that serialize shared objects without copying.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use serde_json::Value;

use super::error::{ApiError, ApiResult};
use super::server::SimState;
use super::store::KindId;

/// A JSON response.
pub fn json_response(code: u16, body: &Value, pretty: bool) -> Response {
    let bytes = if pretty {
        serde_json::to_vec_pretty(body)
    } else {
        serde_json::to_vec(body)
    }
    .unwrap_or_default();
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Body::from(bytes))
        .unwrap_or_default()
}

/// A `metav1.Status` error response (with `Retry-After` when set).
pub fn error_response(e: &ApiError) -> Response {
    let mut resp = json_response(e.code, &e.status_body(), false);
    if let Some(secs) = e.retry_after
        && let Ok(v) = http::HeaderValue::from_str(&secs.to_string())
    {
        resp.headers_mut().insert("retry-after", v);
    }
    resp
}

/// What a resource URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The kind.
    pub kind: KindId,
    /// Namespace from the URL.
    pub namespace: Option<String>,
    /// Object name, if the URL names one object.
    pub name: Option<String>,
    /// Subresource (`status`).
    pub subresource: Option<String>,
    /// Legacy `/watch/` path.
    pub legacy_watch: bool,
}

/// Parses `/api/v1/...` and `/apis/{g}/{v}/...` resource paths (`None`: not a resource path).
pub fn parse_target(state: &SimState, group: &str, version: &str, rest: &[&str]) -> Option<Target> {
    let (legacy_watch, rest) = match rest.split_first() {
        Some((&"watch", tail)) => (true, tail),
        _ => (false, rest),
    };
    let find = |plural: &str| {
        state
            .kinds
            .iter()
            .position(|k| k.group == group && k.version == version && k.plural == plural)
    };
    let owned = |s: Option<&&str>| s.map(|s| (*s).to_string());
    if rest.len() >= 3
        && rest[0] == "namespaces"
        && rest.len() <= 5
        && let Some(kind) = find(rest[2]).filter(|k| state.kinds[*k].namespaced)
    {
        return Some(Target {
            kind,
            namespace: Some(rest[1].to_string()),
            name: owned(rest.get(3)),
            subresource: owned(rest.get(4)),
            legacy_watch,
        });
    }
    let kind = find(rest.first()?)?;
    if rest.len() > 3 || (state.kinds[kind].namespaced && rest.len() > 1) {
        return None;
    }
    Some(Target {
        kind,
        namespace: None,
        name: owned(rest.get(1)),
        subresource: owned(rest.get(2)),
        legacy_watch,
    })
}

/// The query parameters of a URI.
pub fn query_map(uri: &http::Uri) -> HashMap<String, String> {
    axum::extract::Query::<HashMap<String, String>>::try_from_uri(uri)
        .map(|q| q.0)
        .unwrap_or_default()
}

/// The bearer token of a request, if any.
pub fn bearer(req: &Request) -> Option<String> {
    let h = req.headers().get(http::header::AUTHORIZATION)?.to_str().ok()?;
    Some(h.strip_prefix("Bearer ").unwrap_or(h).trim().to_string())
}

/// The axum handler for every request.
#[derive(serde::Serialize)]
/// A `...List` body.
pub struct ListBody<'a> {
    /// `ConfigMapList`, ...
    pub kind: String,
    /// `apiVersion` of the items.
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// `ListMeta`.
    pub metadata: Value,
    /// The items.
    pub items: SharedItems<'a>,
}

/// Shared objects serialized as a JSON array without copying them.
pub struct SharedItems<'a>(pub &'a [Arc<Value>]);

impl serde::Serialize for SharedItems<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|item| &**item))
    }
}

/// Parses a `resourceVersion` query parameter (`None` when unset or empty).
pub fn parse_rv(rv: Option<&String>) -> ApiResult<Option<u64>> {
    match rv.map(String::as_str) {
        None | Some("") => Ok(None),
        Some(s) => s
            .parse::<u64>()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("invalid resource version: {s}"))),
    }
}
