//! Shared helpers for the runnable examples in this folder (see `examples/README.md`): Reloader's
//! log line for an engine event, an event recorder with bounded waits, a running-engine handle,
//! and the `RUST_LOG` set-up.
//!
//! Everything here is example plumbing, not part of the library's API.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context as _, bail};
use reload_core::engine::{EngineEvent, Observer};
use reload_core::{SourceRef, WorkloadRef};
use tokio::sync::Notify;

/// How long an example waits for one expected engine event before it gives up with an error.
pub const WAIT: Duration = Duration::from_secs(15);

/// Installs a `tracing` subscriber on stderr filtered by `RUST_LOG` (default: warnings only), so
/// `RUST_LOG=kube=debug` shows every API request the engine makes. Safe to call twice.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // A second call (several examples in one test binary) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// `'<name>' of type '<TYPE>' in namespace '<ns>'`, as Reloader names a ConfigMap or Secret.
pub fn source_phrase(source: &SourceRef) -> String {
    format!(
        "'{}' of type '{}' in namespace '{}'",
        source.name,
        source.kind.reloader_type(),
        source.namespace
    )
}

/// `'<name>' of type '<Kind>' in namespace '<ns>'`, as Reloader names a workload.
pub fn workload_phrase(workload: &WorkloadRef) -> String {
    format!(
        "'{}' of type '{}' in namespace '{}'",
        workload.name, workload.kind, workload.namespace
    )
}

/// Reloader's info line for a rollout (`Changes detected in ...; updated ...`), or `None` for
/// every other event. The `reloader` binary prints the same text (`reload-bin/src/observe.rs`).
pub fn reloader_line(event: &EngineEvent) -> Option<String> {
    match event {
        EngineEvent::Reloaded {
            workload,
            source,
            dry_run: false,
            ..
        } => Some(format!(
            "Changes detected in {}; updated {}",
            source_phrase(source),
            workload_phrase(workload)
        )),
        _ => None,
    }
}

/// Collects every [`EngineEvent`] and wakes waiters; hand [`Recorder::observer`] to the engine.
#[derive(Clone, Default)]
pub struct Recorder {
    events: Arc<Mutex<Vec<EngineEvent>>>,
    changed: Arc<Notify>,
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Recorder::default()
    }

    /// The observer to pass to [`Engine::observer`](reload_core::engine::Engine::observer).
    pub fn observer(&self) -> Arc<dyn Observer> {
        let recorder = self.clone();
        Arc::new(move |event: &EngineEvent| {
            recorder
                .events
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(event.clone());
            recorder.changed.notify_waiters();
        })
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<EngineEvent> {
        self.events.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// How many events so far satisfy `pred`.
    pub fn count(&self, pred: impl Fn(&EngineEvent) -> bool) -> usize {
        self.events().iter().filter(|e| pred(e)).count()
    }

    /// Waits (at most [`WAIT`]) until `check` holds on the events; an error names `what`.
    pub async fn wait_for(&self, what: &str, check: impl Fn(&[EngineEvent]) -> bool) -> anyhow::Result<()> {
        let waiting = async {
            loop {
                // Register before checking, so an event between the check and the await wakes us.
                let notified = self.changed.notified();
                if check(&self.events()) {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(WAIT, waiting)
            .await
            .with_context(|| format!("timed out after {WAIT:?} waiting for {what}"))
    }
}

/// Writes one line to `out` (the examples print to stdout; tests capture into a buffer).
pub fn say(out: &mut dyn Write, line: impl AsRef<str>) -> anyhow::Result<()> {
    writeln!(out, "{}", line.as_ref()).context("writing output")
}

/// Fails with `message` unless `condition` holds, after printing `ok: <message>` when it does.
/// The examples use it to print what they check.
pub fn check(out: &mut dyn Write, condition: bool, message: &str) -> anyhow::Result<()> {
    if !condition {
        bail!("check failed: {message}");
    }
    say(out, format!("ok: {message}"))
}
