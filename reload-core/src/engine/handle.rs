//! [`EngineHandle`]: the engine running as a background task next to your own controller's
//! work, stopped on demand.

use std::future::Future;

use kube::Client;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use super::run::Engine;
use crate::Error;

/// A spawned engine. Dropping the handle without [`EngineHandle::stop`] also stops the engine
/// (its shutdown signal resolves when the sender is dropped).
///
/// ```no_run
/// # async fn demo(engine: reload_core::engine::Engine, client: kube::Client) -> reload_core::Result<()> {
/// let running = engine.spawn(client);
/// // ... run your own reconciler here ...
/// running.stop().await
/// # }
/// ```
#[derive(Debug)]
pub struct EngineHandle {
    stop: oneshot::Sender<()>,
    task: JoinHandle<crate::Result<()>>,
}

impl EngineHandle {
    /// Spawns a run future built by `run`, which receives the shutdown signal: for
    /// [`Engine::run_with`] with your own watchers and writer.
    ///
    /// ```no_run
    /// # use std::sync::Arc;
    /// # use reload_core::engine::{Engine, EngineHandle, SourceWatcher, WorkloadWatcher, WorkloadWriter};
    /// # fn demo(engine: Engine, sources: Vec<SourceWatcher>, workloads: Vec<WorkloadWatcher>,
    /// #         writer: Arc<dyn WorkloadWriter>) {
    /// let running = EngineHandle::spawn_with(move |stop| {
    ///     engine.run_with(sources, workloads, writer, async move { let _ = stop.await; })
    /// });
    /// # }
    /// ```
    pub fn spawn_with<F>(run: impl FnOnce(oneshot::Receiver<()>) -> F) -> Self
    where
        F: Future<Output = crate::Result<()>> + Send + 'static,
    {
        let (stop, stopped) = oneshot::channel();
        EngineHandle {
            stop,
            task: tokio::spawn(run(stopped)),
        }
    }

    /// Whether the engine has already returned (an error, or a shutdown).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Signals shutdown and waits for the engine to return.
    ///
    /// # Errors
    /// The engine's own error, or [`Error::EngineTask`] when its task panicked.
    pub async fn stop(self) -> crate::Result<()> {
        let _ = self.stop.send(());
        self.task
            .await
            .map_err(|error| Error::EngineTask(error.to_string()))?
    }
}

impl Engine {
    /// Holds every write while `gate` reads `false`: workload patches, Job creates and
    /// deletes, baselines, pause/resume, and notify-only reports. Everything else keeps
    /// running — watches, stores, the index, the queue — so a warm standby (a replica that is
    /// not the leader) has its caches synced and its work queued; when the gate opens, every
    /// queued workload is decided against the current state, and what the leader already
    /// applied is a no-op (the workload records the digest). Closing the gate stops new writes
    /// at once; writes already in flight finish (a conflict's retry waits for the gate). A
    /// dropped sender closes the gate for good.
    ///
    /// Leader election publishes exactly such a receiver (e.g. kube-lease-manager's
    /// `watch()`):
    ///
    /// ```no_run
    /// # async fn demo(engine: reload_core::engine::Engine, client: kube::Client) -> reload_core::Result<()> {
    /// let (leading, is_leader) = tokio::sync::watch::channel(false);
    /// let running = engine.write_gate(is_leader).spawn(client);
    /// // ... once this replica wins the election:
    /// let _ = leading.send(true);
    /// # running.stop().await
    /// # }
    /// ```
    #[doc(alias = "leader election")]
    #[must_use]
    pub fn write_gate(mut self, gate: watch::Receiver<bool>) -> Self {
        self.gate = Some(gate);
        self
    }

    /// Whether writes are allowed now: no gate, or a gate whose sender lives and reads `true`.
    pub(super) fn writes_open(&self) -> bool {
        self.gate
            .as_ref()
            .is_none_or(|gate| gate.has_changed().is_ok() && *gate.borrow())
    }

    /// Spawns [`Engine::run`] on the current tokio runtime and returns its handle.
    pub fn spawn(self, client: Client) -> EngineHandle {
        EngineHandle::spawn_with(move |stopped| {
            self.run(client, async move {
                let _ = stopped.await;
            })
        })
    }
}

/// Waits for the gate's next change: `Some(open)`, or `None` once its sender is dropped.
/// Pends forever without a gate.
pub(super) async fn gate_changed(gate: &mut Option<watch::Receiver<bool>>) -> Option<bool> {
    match gate {
        Some(gate) => match gate.changed().await {
            Ok(()) => Some(*gate.borrow_and_update()),
            Err(_) => None,
        },
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::EngineHandle;
    use crate::Error;

    #[tokio::test]
    async fn stop_signals_the_run_future_and_returns_its_result() {
        let running = EngineHandle::spawn_with(|stop| async move {
            stop.await
                .map_err(|_| Error::DigestKey("the signal was dropped".into()))?;
            Err(Error::DigestKey("returned after the signal".into()))
        });
        assert!(!running.is_finished());
        let error = running.stop().await.expect_err("the run future's own error");
        assert_eq!(error.to_string(), "invalid digest key: returned after the signal");
    }

    #[tokio::test]
    async fn a_panicking_engine_task_is_an_engine_task_error() {
        let running = EngineHandle::spawn_with(|_stop| async move {
            panic!("boom");
        });
        let error = running.stop().await.expect_err("a panic is reported");
        assert!(matches!(error, Error::EngineTask(_)), "{error:?}");
    }
}
