//! Reloader's SHA-1 digest, byte for byte (`reloader-spec.md` §4).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest as _, Sha1};

use super::{Digest, Hasher};
use crate::source::SourceContent;

/// The string whose SHA-1 Reloader's `annotations` strategy records when a source is deleted
/// (`reloader-spec.md` §3.3).
pub const DELETE_MARKER: &str = "__RELOADER_EMPTY_DELETE_MARKER__";

/// SHA-1 of [`DELETE_MARKER`]: `aae45badef99284e4dae01d6046154ea9d99532f`.
///
/// ```
/// assert_eq!(
///     reload_core::hash::delete_marker_digest().as_str(),
///     "aae45badef99284e4dae01d6046154ea9d99532f"
/// );
/// ```
pub fn delete_marker_digest() -> Digest {
    ReloaderHasher::digest_bytes(DELETE_MARKER.as_bytes())
}

/// Reloader's content digest: SHA-1, lowercase hex, of the sorted `key=value` entries joined
/// by `;` (`internal/pkg/util/util.go`).
///
/// - ConfigMap: `data` entries as `k=v`, `binaryData` entries as `k=base64(v)` (standard,
///   padded), in **one** list sorted byte-wise as whole strings.
/// - Secret: `data` entries as `k=` followed by the decoded bytes (never converted to UTF-8).
/// - `SecretProviderClassPodStatus`: `id=version` per object plus
///   `SecretProviderClassName=<class>`; an absent `objects` list hashes like an empty one (what
///   Reloader computes for the *new* object; see [`ReloaderHasher::previous_digest`] for the
///   old one).
///
/// Metadata, name and namespace are not hashed: a ConfigMap and a Secret with the same entries
/// hash the same.
///
/// # Known collision (kept for compatibility)
///
/// The serialisation is ambiguous: `{a: "b;c=d"}` and `{a: "b", c: "d"}` both serialise to
/// `a=b;c=d` and get the same digest, so a change from one to the other is not seen as a
/// change. Reloader has the same blind spot, and changing the serialisation would change every
/// recorded digest (and roll every managed workload on migration). [`super::KeyedHasher`]
/// uses an unambiguous encoding.
///
/// ```
/// use std::collections::BTreeMap;
/// use reload_core::hash::{Hasher, ReloaderHasher};
/// use reload_core::SourceContent;
///
/// let data = BTreeMap::from([("test.url".to_string(), "www.google.com".to_string())]);
/// let binary_data = BTreeMap::new();
/// let digest = ReloaderHasher.digest(&SourceContent::ConfigMap { data: &data, binary_data: &binary_data });
/// assert_eq!(digest.as_str(), "2834cb2f26ce41acf3a5c4c63b1815df75bae06e");
/// ```
#[doc(alias = "reloader")]
#[doc(alias = "GetSHAfromConfigmap")]
#[doc(alias = "GetSHAfromSecret")]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReloaderHasher;

impl ReloaderHasher {
    /// SHA-1 of raw bytes, lowercase hex (Reloader's `crypto.GenerateSHA`).
    pub fn digest_bytes(bytes: &[u8]) -> Digest {
        Digest::new(hex::encode(Sha1::digest(bytes)))
    }

    /// The digest Reloader computes for the **old** object of an update event.
    ///
    /// Identical to [`Hasher::digest`] except for a `SecretProviderClassPodStatus` whose
    /// `objects` field is absent: Reloader then uses the empty string as the old digest, so the
    /// update always counts as a change (`internal/pkg/handler/update.go`). Only an engine
    /// that copies Reloader's old-versus-new comparison needs this.
    pub fn previous_digest(&self, old: &SourceContent<'_>) -> Digest {
        match old {
            SourceContent::SecretProviderClassPodStatus { objects: None, .. } => Digest::new(""),
            _ => self.digest(old),
        }
    }

    /// The exact byte string Reloader hashes. Holds Secret values: crate-private, tests only.
    pub(crate) fn serialise(content: &SourceContent<'_>) -> Vec<u8> {
        let mut entries: Vec<Vec<u8>> = match content {
            SourceContent::ConfigMap { data, binary_data } => data
                .iter()
                .map(|(k, v)| entry(k.as_bytes(), v.as_bytes()))
                .chain(
                    binary_data
                        .iter()
                        .map(|(k, v)| entry(k.as_bytes(), STANDARD.encode(&v.0).as_bytes())),
                )
                .collect(),
            SourceContent::Secret { data } => data.iter().map(|(k, v)| entry(k.as_bytes(), &v.0)).collect(),
            SourceContent::SecretProviderClassPodStatus { class_name, objects } => objects
                .unwrap_or_default()
                .iter()
                .map(|(id, version)| entry(id.as_bytes(), version.as_bytes()))
                .chain(std::iter::once(entry(
                    b"SecretProviderClassName",
                    class_name.as_bytes(),
                )))
                .collect(),
        };
        // Go's sort.Strings compares bytes, exactly like Vec<u8>'s Ord.
        entries.sort_unstable();
        entries.join(&b';')
    }
}

fn entry(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 1 + value.len());
    out.extend_from_slice(key);
    out.push(b'=');
    out.extend_from_slice(value);
    out
}

impl Hasher for ReloaderHasher {
    fn digest(&self, content: &SourceContent<'_>) -> Digest {
        Self::digest_bytes(&Self::serialise(content))
    }
}
