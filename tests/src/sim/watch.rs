//! Watch streams: replay from retained history or initial state, live fan-out, bookmarks,
//! selector transitions, `timeoutSeconds`, and ending on shutdown or an injected close (with
//! the final chunk) or abort (the connection cut without it). Also the cut response of an
//! injected reset.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use super::error::ApiError;
use super::server::SimState;
use super::store::{ChangeEvent, EventType, KindId, WatchStart, watch_line};

/// Object filter for one watch or list (namespace, label and field selectors).
pub type Filter = Arc<dyn Fn(&Value) -> bool + Send + Sync>;

/// A parsed watch request.
pub struct WatchRequest {
    /// Kind watched.
    pub kind: KindId,
    /// Namespace scope (`None`: all).
    pub namespace: Option<String>,
    /// Label/field selector predicate.
    pub filter: Filter,
    /// `resourceVersion` to start after (`None` or 0: initial state first).
    pub from: Option<u64>,
    /// `sendInitialEvents=true`.
    pub send_initial_events: bool,
    /// `allowWatchBookmarks=true`.
    pub bookmarks: bool,
    /// `timeoutSeconds`.
    pub timeout: Option<Duration>,
}

impl WatchRequest {
    fn in_scope(&self, obj: &Value) -> bool {
        self.namespace
            .as_deref()
            .is_none_or(|ns| obj["metadata"]["namespace"].as_str() == Some(ns))
    }

    /// The line to send for an event, if this watch sees it (selector transitions included:
    /// an object that starts matching is ADDED, one that stops matching is DELETED).
    fn render(&self, event: &ChangeEvent) -> Option<Bytes> {
        if event.kind != self.kind || !self.in_scope(&event.object) {
            return None;
        }
        let now = (self.filter)(&event.object);
        let before = event.previous.as_deref().is_some_and(|p| (self.filter)(p));
        match (event.event_type, before, now) {
            (EventType::Added, _, true) | (EventType::Modified, true, true) => Some(event.line()),
            (EventType::Deleted, b, n) if b || n => Some(event.line()),
            (EventType::Modified, false, true) => Some(watch_line("ADDED", &event.object)),
            (EventType::Modified, true, false) => Some(watch_line("DELETED", &event.object)),
            _ => None,
        }
    }
}

fn bookmark(state: &SimState, kind: KindId, rv: u64, initial_end: bool) -> Bytes {
    let k = &state.kinds[kind];
    let mut obj = json!({
        "kind": k.kind,
        "apiVersion": k.api_version(),
        "metadata": { "resourceVersion": rv.to_string() },
    });
    if initial_end {
        obj["metadata"]["annotations"] = json!({ "k8s.io/initial-events-end": "true" });
    }
    watch_line("BOOKMARK", &obj)
}

/// A chunk of a streamed body, or the error that cuts the connection.
type Chunk = Result<Bytes, io::Error>;

fn streaming(rx: mpsc::Receiver<Chunk>) -> Response {
    let stream = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) });
    Response::builder()
        .header("content-type", "application/json")
        .body(Body::from_stream(stream))
        .unwrap_or_default()
}

fn cut() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, "kube-sim: connection cut")
}

/// Marks a response whose connection is cut (for the response counters).
#[derive(Debug, Clone, Copy)]
pub struct Cut;

/// A response that never arrives: its body fails at once, so hyper closes the connection
/// without a complete answer (no final chunk) and the client sees a transport error.
pub fn cut_response() -> Response {
    let stream = futures::stream::once(async { Err::<Bytes, io::Error>(cut()) });
    let mut response = Response::builder()
        .header("content-type", "application/json")
        .body(Body::from_stream(stream))
        .unwrap_or_default();
    response.extensions_mut().insert(Cut);
    response
}

/// Answers a watch request with a streaming response.
pub fn serve_watch(state: &Arc<SimState>, req: WatchRequest) -> Response {
    let (tx, rx) = mpsc::channel::<Chunk>(256);
    let started = state.lock_store().map(|store| {
        let from = if req.send_initial_events { None } else { req.from };
        store
            .watch(req.kind, from)
            .map(|(start, brx)| (start, brx, store.current_rv()))
    });
    let (start, mut brx, start_rv) = match started {
        Ok(Ok(s)) => s,
        Ok(Err(e)) | Err(e) => {
            // The real server answers 200 and sends the error as an ERROR event.
            let _ = tx.try_send(Ok(watch_line("ERROR", &e.status_body())));
            return streaming(rx);
        }
    };
    let close = state.watch_close_token();
    let abort = state.watch_abort_token();
    let interval = state.bookmark_interval;
    let state = state.clone();
    tokio::spawn(async move {
        let _guard = state.stats.watch_opened();
        let mut last_rv = start_rv;
        let initial: Vec<Bytes> = match &start {
            WatchStart::Initial(items) => items
                .iter()
                .filter(|o| req.in_scope(o) && (req.filter)(o))
                .map(|o| watch_line("ADDED", o))
                .chain(
                    req.send_initial_events
                        .then(|| bookmark(&state, req.kind, start_rv, true)),
                )
                .collect(),
            WatchStart::Replay(events) => events.iter().filter_map(|e| req.render(e)).collect(),
        };
        drop(start);
        for line in initial {
            if tx.send(Ok(line)).await.is_err() {
                return;
            }
        }
        let deadline = req.timeout.map(|t| tokio::time::Instant::now() + t);
        let timeout = async move {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(timeout);
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        loop {
            // Biased: once closed (fault, restart, shutdown) no further event goes out.
            let line = tokio::select! {
                biased;
                () = abort.cancelled() => {
                    let _ = tx.send(Err(cut())).await;
                    break;
                }
                () = close.cancelled() => break,
                () = &mut timeout => break,
                () = tx.closed() => break,
                _ = ticker.tick(), if req.bookmarks => bookmark(&state, req.kind, last_rv, false),
                received = brx.recv() => match received {
                    Ok(event) => {
                        last_rv = last_rv.max(event.rv);
                        match req.render(&event) {
                            Some(line) => line,
                            None => continue,
                        }
                    }
                    // A watcher too slow to keep up is closed, as the real server does; the
                    // client re-watches from its last resourceVersion.
                    Err(RecvError::Lagged(_) | RecvError::Closed) => break,
                },
            };
            if tx.send(Ok(line)).await.is_err() {
                break;
            }
        }
    });
    streaming(rx)
}

/// A watch answered with an immediate error event (used for 410 and bad parameters).
pub fn error_watch(err: &ApiError) -> Response {
    let (tx, rx) = mpsc::channel::<Chunk>(1);
    let _ = tx.try_send(Ok(watch_line("ERROR", &err.status_body())));
    streaming(rx)
}
