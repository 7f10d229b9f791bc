//! Content digests of sources.
//!
//! | hasher | output | when |
//! |---|---|---|
//! | [`ReloaderHasher`] (default) | 40 lowercase hex digits, byte-for-byte Reloader's SHA-1 | drop-in replacement: the digests already recorded by Reloader stay valid |
//! | [`KeyedHasher`] (opt-in) | `hmac-sha256:` + 64 hex digits | clusters where a bare SHA-1 of a low-entropy Secret in a pod annotation is unacceptable |
//!
//! [`delete_marker_digest`] is the digest Reloader's `annotations` strategy records when a
//! source is deleted.

mod keyed;
mod reloader;
#[cfg(test)]
mod tests;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::source::SourceContent;

pub use keyed::{KEYED_DIGEST_PREFIX, KeyedHasher};
pub use reloader::{DELETE_MARKER, ReloaderHasher, delete_marker_digest};

/// The digest of a source's content, in the text form that is written to workloads
/// (40 lowercase hex digits for the Reloader-compatible SHA-1).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Digest(String);

impl Digest {
    /// Wraps an already computed digest string.
    pub fn new(text: impl Into<String>) -> Self {
        Digest(text.into())
    }

    /// The digest as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Computes the digest of a source's content.
///
/// Pure and deterministic: the same content always gives the same digest, whatever the
/// iteration order of its maps. Closures `Fn(&SourceContent) -> Digest` implement it.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait Hasher: Send + Sync {
    /// The digest of `content`.
    // Implementations may still write `&SourceContent<'_>`.
    #[allow(
        clippy::elidable_lifetime_names,
        reason = "mockall's automock (feature `mock`) cannot expand `'_` in argument paths"
    )]
    fn digest<'a>(&self, content: &SourceContent<'a>) -> Digest;
}

impl<F> Hasher for F
where
    F: Fn(&SourceContent<'_>) -> Digest + Send + Sync,
{
    fn digest(&self, content: &SourceContent<'_>) -> Digest {
        self(content)
    }
}
