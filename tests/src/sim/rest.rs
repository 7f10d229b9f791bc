//! The HTTP entry point: routing, verbs, query parameters, authorization, faults and
//! accounting around the [`Store`](super::store::Store).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::auth::{Attributes, Decision};
use super::discovery;
use super::error::{ApiError, ApiResult};
use super::faults::Injected;
use super::patch::{apply_json_patch, apply_merge_patch, apply_strategic_merge_patch};
pub use super::route::json_response;
use super::route::{
    ListBody, SharedItems, Target, bearer, error_response, parse_rv, parse_target, query_map,
};
use super::server::SimState;
use super::stats::{RequestKey, ResponseKey};
use super::store::{ListQuery, WriteContext};
use super::validation;
use super::watch::{self, Filter, WatchRequest};

/// Largest request body accepted.
const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// The axum handler for every request.
pub async fn handle(State(state): State<Arc<SimState>>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let query = query_map(req.uri());
    let method = req.method().clone();
    let user_agent = req
        .headers()
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let content_type = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let token = bearer(&req);
    let body = match axum::body::to_bytes(req.into_body(), BODY_LIMIT).await {
        Ok(b) => b,
        Err(e) => return error_response(&ApiError::bad_request(e.to_string())),
    };
    if path.starts_with("/_sim/") {
        return super::admin::handle(&state, &method, &path, &query, &body);
    }
    // The authenticated user, for per-user faults, response counts and the journal.
    let user = state
        .authorizer
        .read()
        .map_or_else(|_| String::new(), |a| a.user_name(token.as_deref()));
    let latency = state.faults.latency_for(&user);
    if latency > Duration::ZERO {
        tokio::time::sleep(latency).await;
    }
    let pretty = query.get("pretty").is_some_and(|p| p == "true" || p == "1");
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let kinds = &state.kinds;
    let found = |v: Option<Value>| {
        v.map_or_else(
            || error_response(&ApiError::no_route()),
            |v| json_response(200, &v, pretty),
        )
    };
    match segs.as_slice() {
        ["healthz" | "readyz" | "livez"] => Response::new(Body::from("ok")),
        ["version"] => json_response(200, &discovery::version(), pretty),
        ["api"] => json_response(200, &discovery::core_versions(&state.addr().to_string()), pretty),
        ["api", v] => found(discovery::resource_list(kinds, "", v)),
        ["apis"] => json_response(200, &discovery::group_list(kinds), pretty),
        ["apis", g] => found(discovery::group(kinds, g)),
        ["apis", g, v] => found(discovery::resource_list(kinds, g, v)),
        ["openapi", "v3"] => json_response(200, &discovery::openapi_index(kinds), pretty),
        ["openapi", "v3", rest @ ..] => found(discovery::openapi_document(kinds, &rest.join("/"))),
        ["api", v, rest @ ..] | ["apis", _, v, rest @ ..] => {
            let group = if segs[0] == "api" { "" } else { segs[1] };
            let Some(target) = parse_target(&state, group, v, rest) else {
                return error_response(&ApiError::no_route());
            };
            let call = Call {
                state: &state,
                target,
                query,
                method,
                user_agent,
                user,
                content_type,
                token,
                body,
                pretty,
            };
            call.run()
        }
        _ => error_response(&ApiError::no_route()),
    }
}

struct Call<'a> {
    state: &'a Arc<SimState>,
    target: Target,
    query: HashMap<String, String>,
    method: http::Method,
    user_agent: String,
    user: String,
    content_type: String,
    token: Option<String>,
    body: bytes::Bytes,
    pretty: bool,
}

impl Call<'_> {
    fn verb(&self) -> &'static str {
        let watch =
            self.target.legacy_watch || self.query.get("watch").is_some_and(|w| w == "true" || w == "1");
        match (self.method.as_str(), self.target.name.is_some()) {
            ("GET", _) if watch => "watch",
            ("GET", true) => "get",
            ("GET", false) => "list",
            ("POST", _) => "create",
            ("PUT", _) => "update",
            ("PATCH", _) => "patch",
            ("DELETE", true) => "delete",
            ("DELETE", false) => "deletecollection",
            _ => "unknown",
        }
    }

    /// Answers the call and counts the response's status for the calling user.
    fn run(self) -> Response {
        let state = self.state;
        let verb = self.verb();
        let kind = &state.kinds[self.target.kind];
        let resource = match &self.target.subresource {
            Some(sub) => format!("{}/{sub}", kind.plural),
            None => kind.plural.to_string(),
        };
        let key = ResponseKey {
            user: self.user.clone(),
            status: 0,
            verb: verb.to_string(),
            group: kind.group.to_string(),
            resource: resource.clone(),
            namespace: self.target.namespace.clone().unwrap_or_default(),
        };
        let response = self.respond(verb, resource);
        // A cut connection answers nothing: counted as status 0.
        let cut = response.extensions().get::<watch::Cut>().is_some();
        state.stats.record_response(ResponseKey {
            status: if cut { 0 } else { response.status().as_u16() },
            ..key
        });
        response
    }

    fn respond(self, verb: &'static str, resource: String) -> Response {
        let kind = &self.state.kinds[self.target.kind];
        let namespace = self.target.namespace.clone();
        self.state.stats.record(RequestKey {
            verb: verb.to_string(),
            group: kind.group.to_string(),
            resource: resource.clone(),
            namespace: namespace.clone().unwrap_or_default(),
            user_agent: self.user_agent.clone(),
        });
        let name = self.target.name.clone().unwrap_or_default();
        let attrs = Attributes {
            verb,
            group: kind.group,
            resource: &resource,
            namespace: namespace.as_deref(),
            name: &name,
        };
        let decision = self
            .state
            .authorizer
            .read()
            .map_or(Decision::Allow, |a| a.decide(self.token.as_deref(), &attrs));
        match decision {
            Decision::Allow => {}
            Decision::Unauthenticated => {
                return error_response(&ApiError::new(401, "Unauthorized", "Unauthorized"));
            }
            Decision::Deny(user) => {
                return error_response(&ApiError::forbidden(
                    &user,
                    verb,
                    kind,
                    namespace.as_deref(),
                    &name,
                ));
            }
        }
        // A create names its object in the body.
        let object_name = if verb == "create" {
            self.decode_body()
                .ok()
                .and_then(|b| b["metadata"]["name"].as_str().map(str::to_owned))
                .unwrap_or_default()
        } else {
            name.clone()
        };
        match self
            .state
            .faults
            .take_named(verb, &resource, &self.user, &object_name)
        {
            Some(Injected::Error(e)) => return error_response(&e),
            Some(Injected::Reset) => return watch::cut_response(),
            None => {}
        }
        if let Some(sub) = &self.target.subresource
            && (sub != "status" || !kind.status_subresource || !matches!(verb, "get" | "update" | "patch"))
        {
            return error_response(&ApiError::no_route());
        }
        let result = match verb {
            "get" => self.get(),
            "list" => return self.list().unwrap_or_else(|e| error_response(&e)),
            "watch" => return self.watch(),
            "create" => self.create(),
            "update" => self.update(),
            "patch" => self.patch(),
            "delete" => self.delete(),
            "deletecollection" => return self.delete_collection().unwrap_or_else(|e| error_response(&e)),
            _ => Err(ApiError::new(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
            )),
        };
        match result {
            Ok((code, body)) => json_response(code, &body, self.pretty),
            Err(e) => error_response(&e),
        }
    }

    fn ns(&self) -> Option<&str> {
        self.target.namespace.as_deref()
    }

    fn name(&self) -> &str {
        self.target.name.as_deref().unwrap_or_default()
    }

    fn write_context(&self) -> ApiResult<WriteContext> {
        let dry_run = match self.query.get("dryRun").map(String::as_str) {
            None | Some("") => false,
            Some("All") => true,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "Invalid dryRun value: {other}: supported values: \"All\""
                )));
            }
        };
        Ok(WriteContext {
            dry_run,
            field_manager: self.query.get("fieldManager").cloned().unwrap_or_default(),
            user_agent: self.user_agent.clone(),
            user: self.user.clone(),
            status_only: self.target.subresource.is_some(),
        })
    }

    fn decode_body(&self) -> ApiResult<Value> {
        if self.content_type.contains("protobuf") || self.content_type.contains("cbor") {
            return Err(ApiError::new(
                415,
                "UnsupportedMediaType",
                format!(
                    "the body of the request was in an unknown format - kube-sim accepts JSON and YAML, not {}",
                    self.content_type
                ),
            ));
        }
        let v: Value = if self.content_type.contains("yaml") {
            serde_yaml::from_slice(&self.body)
                .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?
        } else {
            serde_json::from_slice(&self.body)
                .map_err(|e| ApiError::bad_request(format!("error decoding JSON: {e}")))?
        };
        Ok(v)
    }

    fn decode_object(&self) -> ApiResult<Value> {
        let v = self.decode_body()?;
        if !v.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request was not a JSON object",
            ));
        }
        if self.query.get("fieldValidation").is_some_and(|f| f == "Strict") {
            validation::strict(&self.state.kinds[self.target.kind], &v)?;
        }
        Ok(v)
    }

    fn get(&self) -> ApiResult<(u16, Value)> {
        let obj = self
            .state
            .lock_store()?
            .get(self.target.kind, self.ns(), self.name())?;
        Ok((200, (*obj).clone()))
    }

    fn filter(&self) -> ApiResult<Filter> {
        validation::filter(
            &self.state.kinds[self.target.kind],
            self.query.get("labelSelector"),
            self.query.get("fieldSelector"),
        )
    }

    fn list(&self) -> ApiResult<Response> {
        let filter = self.filter()?;
        let limit = match self.query.get("limit") {
            Some(l) => Some(
                l.parse::<usize>()
                    .map_err(|_| ApiError::bad_request(format!("invalid limit: {l}")))?,
            ),
            None => None,
        };
        let rv = parse_rv(self.query.get("resourceVersion"))?;
        let exact_rv = match self.query.get("resourceVersionMatch").map(String::as_str) {
            None | Some("") => None,
            Some("Exact") => Some(rv.filter(|r| *r > 0).ok_or_else(|| {
                ApiError::bad_request("resourceVersionMatch: Forbidden: resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"")
            })?),
            Some("NotOlderThan") => None,
            Some(other) => return Err(ApiError::bad_request(format!("resourceVersionMatch: Unsupported value: \"{other}\""))),
        };
        let q = ListQuery {
            namespace: self.ns(),
            filter: &*filter,
            limit,
            continue_token: self
                .query
                .get("continue")
                .map(String::as_str)
                .filter(|c| !c.is_empty()),
            exact_rv,
        };
        let page = self.state.lock_store()?.list(self.target.kind, &q)?;
        let kind = &self.state.kinds[self.target.kind];
        let mut metadata = json!({ "resourceVersion": page.rv.to_string() });
        if let Some(c) = page.continue_token {
            metadata["continue"] = json!(c);
        }
        if let Some(r) = page.remaining {
            metadata["remainingItemCount"] = json!(r);
        }
        // Items are shared Arcs serialized straight into the body: no per-item copy.
        let body = ListBody {
            kind: format!("{}List", kind.kind),
            api_version: kind.api_version(),
            metadata,
            items: SharedItems(&page.items),
        };
        let bytes = if self.pretty {
            serde_json::to_vec_pretty(&body)
        } else {
            serde_json::to_vec(&body)
        }
        .map_err(|e| ApiError::new(500, "InternalError", e.to_string()))?;
        Ok(Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Body::from(bytes))
            .unwrap_or_default())
    }

    fn watch(&self) -> Response {
        let parsed = (|| -> ApiResult<WatchRequest> {
            let timeout = match self.query.get("timeoutSeconds") {
                Some(t) => {
                    Some(Duration::from_secs(t.parse().map_err(|_| {
                        ApiError::bad_request(format!("invalid timeoutSeconds: {t}"))
                    })?))
                }
                None => None,
            };
            let flag = |k: &str| self.query.get(k).is_some_and(|v| v == "true" || v == "1");
            Ok(WatchRequest {
                kind: self.target.kind,
                namespace: self.target.namespace.clone(),
                filter: self.filter()?,
                from: parse_rv(self.query.get("resourceVersion"))?,
                send_initial_events: flag("sendInitialEvents"),
                bookmarks: flag("allowWatchBookmarks"),
                timeout: timeout.filter(|t| !t.is_zero()),
            })
        })();
        match parsed {
            Ok(req) => watch::serve_watch(self.state, req),
            Err(e) => error_response(&e),
        }
    }

    fn create(&self) -> ApiResult<(u16, Value)> {
        if self.target.name.is_some() {
            return Err(ApiError::new(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
            ));
        }
        let kind = &self.state.kinds[self.target.kind];
        if kind.namespaced && self.ns().is_none() {
            return Err(ApiError::new(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
            ));
        }
        let obj = self.decode_object()?;
        let ctx = self.write_context()?;
        let created = self
            .state
            .lock_store()?
            .create(self.target.kind, self.ns(), obj, &ctx)?;
        Ok((201, (*created).clone()))
    }

    fn update(&self) -> ApiResult<(u16, Value)> {
        let obj = self.decode_object()?;
        let ctx = self.write_context()?;
        let updated = self.state.lock_store()?.update(
            self.target.kind,
            self.ns(),
            self.name(),
            "update",
            &ctx,
            |_| Ok(obj),
        )?;
        Ok((200, (*updated).clone()))
    }

    fn patch(&self) -> ApiResult<(u16, Value)> {
        let kind = &self.state.kinds[self.target.kind];
        let media = self.content_type.split(';').next().unwrap_or_default().trim();
        let apply: fn(&mut Value, &Value) -> Result<(), super::patch::PatchError> = match media {
            "application/merge-patch+json" => apply_merge_patch,
            "application/json-patch+json" => apply_json_patch,
            "application/strategic-merge-patch+json" if !kind.custom => apply_strategic_merge_patch,
            _ => {
                let accepted = if kind.custom {
                    "application/json-patch+json, application/merge-patch+json"
                } else {
                    "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json"
                };
                return Err(ApiError::new(
                    415,
                    "UnsupportedMediaType",
                    format!(
                        "the body of the request was in an unknown format - accepted media types include: {accepted}"
                    ),
                ));
            }
        };
        let patch = self.decode_body()?;
        let ctx = self.write_context()?;
        let strict = self.query.get("fieldValidation").is_some_and(|f| f == "Strict");
        let patched = self.state.lock_store()?.update(
            self.target.kind,
            self.ns(),
            self.name(),
            "patch",
            &ctx,
            |old| {
                let mut obj = old.clone();
                apply(&mut obj, &patch)
                    .map_err(|e| ApiError::new(e.status_code(), e.reason(), e.to_string()))?;
                if strict {
                    validation::strict(kind, &obj)?;
                }
                Ok(obj)
            },
        )?;
        Ok((200, (*patched).clone()))
    }

    fn delete_collection(&self) -> ApiResult<Response> {
        let filter = self.filter()?;
        let ctx = self.write_context()?;
        let mut store = self.state.lock_store()?;
        let deleted = store.delete_collection(self.target.kind, self.ns(), &*filter, &ctx)?;
        let rv = store.current_rv();
        drop(store);
        let kind = &self.state.kinds[self.target.kind];
        let body = ListBody {
            kind: format!("{}List", kind.kind),
            api_version: kind.api_version(),
            metadata: json!({ "resourceVersion": rv.to_string() }),
            items: SharedItems(&deleted),
        };
        Ok(json_response(
            200,
            &serde_json::to_value(&body).unwrap_or_default(),
            self.pretty,
        ))
    }

    fn delete(&self) -> ApiResult<(u16, Value)> {
        let opts: Value = if self.body.is_empty() {
            json!({})
        } else {
            self.decode_body()?
        };
        let mut ctx = self.write_context()?;
        if opts["dryRun"]
            .as_array()
            .is_some_and(|d| d.iter().any(|x| x == "All"))
        {
            ctx.dry_run = true;
        }
        let precondition = opts["preconditions"]["resourceVersion"].as_str();
        let deleted =
            self.state
                .lock_store()?
                .delete(self.target.kind, self.ns(), self.name(), precondition, &ctx)?;
        Ok((200, (*deleted).clone()))
    }
}

/// `default`), used for seeding.
/// Creates `obj` as an admin (kind from `apiVersion`/`kind`, namespace from metadata or
/// `default`), used for seeding.
pub fn create_object(state: &SimState, obj: Value) -> ApiResult<Arc<Value>> {
    let api_version = obj["apiVersion"].as_str().unwrap_or_default();
    let kind_name = obj["kind"].as_str().unwrap_or_default();
    let kind = state
        .kinds
        .iter()
        .position(|k| k.api_version() == api_version && k.kind == kind_name)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "no kind \"{kind_name}\" is registered for version \"{api_version}\""
            ))
        })?;
    let ns = obj["metadata"]["namespace"]
        .as_str()
        .unwrap_or("default")
        .to_string();
    let ns = state.kinds[kind].namespaced.then_some(ns.as_str());
    state.lock_store()?.create(
        kind,
        ns,
        obj.clone(),
        &WriteContext {
            user_agent: "kube-sim/seed".into(),
            ..WriteContext::default()
        },
    )
}
