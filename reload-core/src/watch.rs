//! The event interface between watches and the engine.

use async_trait::async_trait;

use crate::error::Result;

/// One event of a watch, kube-runtime's `watcher::Event` in our own terms.
///
/// `ResyncStarted` .. `ResyncItem`* .. `ResyncDone` is a full state swap (the initial list, or a
/// re-list after the watch lost its place): consumers must treat it as "this is now the whole
/// state", never as a burst of changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent<T> {
    /// An object was created or modified.
    Applied(T),
    /// An object was deleted (its last known state).
    Deleted(T),
    /// A full re-list begins.
    ResyncStarted,
    /// One object of the re-list.
    ResyncItem(T),
    /// The re-list is complete: objects not seen in it are gone.
    ResyncDone,
}

/// A source of typed watch events.
///
/// Implementations recover from transient errors themselves (backoff, re-list); an `Err`
/// item is reported and the stream goes on. `None` means the watch ended for good.
#[async_trait]
pub trait Watcher<T: Send>: Send {
    /// The next event.
    async fn next_event(&mut self) -> Option<Result<WatchEvent<T>>>;
}
