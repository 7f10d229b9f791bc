//! `/_sim/` admin endpoints of the standalone simulator: stats, journal and fault injection.
//!
//! | method and path | effect |
//! |---|---|
//! | `GET /_sim/stats` | request counts and open watches (JSON) |
//! | `POST /_sim/stats/reset` | clears request counts |
//! | `GET /_sim/journal?since=RV` | committed writes after `RV` (JSON array) |
//! | `POST /_sim/faults/close-watches` | ends every open watch |
//! | `POST /_sim/faults/abort-watches` | cuts every open watch without its final chunk (the client sees a read error) |
//! | `POST /_sim/faults/refuse?window_ms=N` | the server dies: open connections are cut, new ones refused for `N` ms, then it serves again on the same port, state kept |
//! | `POST /_sim/faults/compact` | drops watch history (older resourceVersions get 410) |
//! | `POST /_sim/faults/fail` | body `{"verb":"patch","resource":"deployments","count":2,"status":503,"retry_after_seconds":1}`; optional `"user":"NAME"` fails only that user's requests, `"name":"NAME"` only requests on that object (a create: its body's name); `"reset":true` instead of `"status"` cuts the connection without an answer (the request is not applied) |
//! | `POST /_sim/faults/latency` | body `{"millis": 50}` delays every request; `{"millis": 5000, "user": "NAME"}` only that user's (a stalled client); `millis: 0` removes it |
//! | `POST /_sim/faults/clear` | removes failures and latencies |
//!
//! `user` is the authenticated user name of a bearer token registered with `SimConfig::token`
//! (`system:admin` for requests without a token); it is also recorded in the journal.
//! | `POST /_sim/restart?downtime_ms=N` | restarts the server on the same port, state kept |

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::response::Response;
use serde_json::{Value, json};

use super::error::ApiError;
use super::faults::FailureRule;
use super::rest::json_response;
use super::server::SimState;

/// Answers a request under `/_sim/`.
pub fn handle(
    state: &Arc<SimState>,
    method: &http::Method,
    path: &str,
    query: &HashMap<String, String>,
    body: &[u8],
) -> Response {
    let ok = || json_response(200, &json!({"ok": true}), false);
    match (method.as_str(), path) {
        ("GET", "/_sim/stats") => json_response(200, &json!(state.stats.snapshot()), false),
        ("POST", "/_sim/stats/reset") => {
            state.stats.reset();
            ok()
        }
        ("GET", "/_sim/journal") => {
            let since = query.get("since").and_then(|s| s.parse().ok()).unwrap_or(0);
            let entries = state
                .lock_store()
                .map(|s| s.journal().since(since))
                .unwrap_or_default();
            json_response(200, &json!(entries), false)
        }
        ("POST", "/_sim/faults/close-watches") => {
            state.close_watches();
            ok()
        }
        ("POST", "/_sim/faults/abort-watches") => {
            state.abort_watches();
            ok()
        }
        ("POST", "/_sim/faults/refuse") => {
            let window =
                Duration::from_millis(query.get("window_ms").and_then(|s| s.parse().ok()).unwrap_or(0));
            let state = state.clone();
            // Go down after this response has been sent.
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                state.refuse_connections(window).await;
            });
            ok()
        }
        ("POST", "/_sim/faults/compact") => {
            if let Ok(mut s) = state.lock_store() {
                s.compact();
            }
            ok()
        }
        ("POST", "/_sim/faults/fail") => match serde_json::from_slice::<FailureRule>(body) {
            Ok(rule) => {
                state.faults.fail(rule);
                ok()
            }
            Err(e) => error(&ApiError::bad_request(e.to_string())),
        },
        ("POST", "/_sim/faults/latency") => {
            let body = serde_json::from_slice::<Value>(body).unwrap_or_default();
            match (body["millis"].as_u64(), &body["user"]) {
                (Some(ms), Value::Null) => {
                    state.faults.set_latency(Duration::from_millis(ms));
                    ok()
                }
                (Some(ms), Value::String(user)) => {
                    state.faults.set_user_latency(user, Duration::from_millis(ms));
                    ok()
                }
                _ => error(&ApiError::bad_request(
                    "expected {\"millis\": N} or {\"millis\": N, \"user\": \"NAME\"}",
                )),
            }
        }
        ("POST", "/_sim/faults/clear") => {
            state.faults.clear();
            ok()
        }
        ("POST", "/_sim/restart") => {
            let downtime =
                Duration::from_millis(query.get("downtime_ms").and_then(|s| s.parse().ok()).unwrap_or(0));
            let state = state.clone();
            // Restart after this response has been sent.
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                if let Err(e) = state.restart(downtime).await {
                    tracing::error!(error = %e, "simulator restart failed");
                }
            });
            ok()
        }
        _ => error(&ApiError::no_route()),
    }
}

fn error(e: &ApiError) -> Response {
    json_response(e.code, &e.status_body(), false)
}
