//! The HTTP endpoints on `--http-addr`: `/metrics`, `/live`, `/ready`, and `/debug/cache` when a
//! cache-statistics producer is given (the controller does not wire one yet; it must reveal
//! counts and names only, never values).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::metrics::Metrics;

/// Liveness and readiness, shared between the controller and the endpoints.
#[derive(Debug)]
pub struct Health {
    live: AtomicBool,
    ready: AtomicBool,
    writes_held: AtomicBool,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            live: AtomicBool::new(true),
            ready: AtomicBool::new(false),
            writes_held: AtomicBool::new(false),
        }
    }
}

impl Health {
    /// Marks the caches synced (or not).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }

    /// Marks workload writes held because the API server is unreachable (or resumed): `/ready`
    /// answers 503 meanwhile; `/live` is not affected (the process is fine, its API is not).
    pub fn set_writes_held(&self, held: bool) {
        self.writes_held.store(held, Ordering::SeqCst);
    }

    /// Marks the process unhealthy (lost leadership, as Reloader): `/live` answers 500.
    pub fn set_dead(&self) {
        self.live.store(false, Ordering::SeqCst);
    }
}

/// Produces the `/debug/cache` document (counts and sizes per kind and namespace).
pub type DebugCache = Arc<dyn Fn() -> serde_json::Value + Send + Sync>;

#[derive(Clone)]
struct AppState {
    metrics: Metrics,
    health: Arc<Health>,
    debug_cache: Option<DebugCache>,
}

/// The router of the endpoints.
pub fn router(metrics: Metrics, health: Arc<Health>, debug_cache: Option<DebugCache>) -> Router {
    let with_debug = debug_cache.is_some();
    let router = Router::new()
        .route("/metrics", get(metrics_endpoint))
        .route("/live", get(live))
        .route("/ready", get(ready));
    let router = if with_debug {
        router.route("/debug/cache", get(debug_cache_endpoint))
    } else {
        router
    };
    router.with_state(AppState {
        metrics,
        health,
        debug_cache,
    })
}

/// Binds `addr` and serves `router` until `shutdown` completes. Returns the bound address
/// (useful with port 0) and the server task.
pub async fn serve(
    addr: SocketAddr,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
    });
    Ok((local, task))
}

async fn metrics_endpoint(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(),
    )
}

async fn live(State(state): State<AppState>) -> impl IntoResponse {
    if state.health.live.load(Ordering::SeqCst) {
        (StatusCode::OK, "alive")
    } else {
        (StatusCode::INTERNAL_SERVER_ERROR, "not alive: leadership lost")
    }
}

async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    if !state.health.ready.load(Ordering::SeqCst) {
        (StatusCode::SERVICE_UNAVAILABLE, "caches not synced")
    } else if state.health.writes_held.load(Ordering::SeqCst) {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "API server unreachable: writes held",
        )
    } else {
        (StatusCode::OK, "ready")
    }
}

async fn debug_cache_endpoint(State(state): State<AppState>) -> impl IntoResponse {
    let document = state
        .debug_cache
        .as_ref()
        .map_or(serde_json::Value::Null, |produce| produce());
    axum::Json(document)
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    async fn get_path(router: Router, path: &str) -> (StatusCode, String) {
        let response = router
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn live_is_ok_until_leadership_is_lost() {
        let health = Arc::new(Health::default());
        let app = router(Metrics::new(false).unwrap(), health.clone(), None);
        assert_eq!(
            get_path(app.clone(), "/live").await,
            (StatusCode::OK, "alive".into())
        );
        health.set_dead();
        assert_eq!(get_path(app, "/live").await.0, StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[tokio::test]
    async fn ready_only_after_caches_sync() {
        let health = Arc::new(Health::default());
        let app = router(Metrics::new(false).unwrap(), health.clone(), None);
        assert_eq!(
            get_path(app.clone(), "/ready").await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        health.set_ready(true);
        assert_eq!(get_path(app, "/ready").await, (StatusCode::OK, "ready".into()));
    }

    #[tokio::test]
    async fn ready_reports_held_writes_while_live_stays_ok() {
        let health = Arc::new(Health::default());
        let app = router(Metrics::new(false).unwrap(), health.clone(), None);
        health.set_ready(true);
        health.set_writes_held(true);
        assert_eq!(
            get_path(app.clone(), "/ready").await,
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "API server unreachable: writes held".into()
            )
        );
        assert_eq!(get_path(app.clone(), "/live").await.0, StatusCode::OK);
        health.set_writes_held(false);
        assert_eq!(get_path(app, "/ready").await, (StatusCode::OK, "ready".into()));
    }

    #[tokio::test]
    async fn metrics_endpoint_serves_reloader_names() {
        let app = router(Metrics::new(false).unwrap(), Arc::new(Health::default()), None);
        let (status, body) = get_path(app, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            body.contains("reloader_reload_executed_total{success=\"true\"} 0"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn debug_cache_exists_only_when_enabled() {
        let app = router(Metrics::new(false).unwrap(), Arc::new(Health::default()), None);
        assert_eq!(get_path(app, "/debug/cache").await.0, StatusCode::NOT_FOUND);
        let produce: DebugCache = Arc::new(|| serde_json::json!({"configmaps": {"default": 3}}));
        let app = router(
            Metrics::new(false).unwrap(),
            Arc::new(Health::default()),
            Some(produce),
        );
        assert_eq!(
            get_path(app, "/debug/cache").await,
            (StatusCode::OK, r#"{"configmaps":{"default":3}}"#.into())
        );
    }
}
