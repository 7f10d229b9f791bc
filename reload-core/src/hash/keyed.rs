//! An opt-in keyed digest: HMAC-SHA-256 over an unambiguous encoding.

use std::fmt;

use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;

use super::{Digest, Hasher};
use crate::error::{Error, Result};
use crate::source::SourceContent;

/// The visible prefix of every [`KeyedHasher`] digest, so nobody mistakes it for Reloader's
/// SHA-1 (and a switch of hasher is visible in the recorded state).
pub const KEYED_DIGEST_PREFIX: &str = "hmac-sha256:";

/// Version tag mixed into every keyed digest, so a future encoding can never collide with this one.
const ENCODING_TAG: &[u8] = b"reload-rs/keyed-digest/v1";

/// HMAC-SHA-256 of a source's content with an operator-provided key, as
/// `hmac-sha256:<64 hex digits>`.
///
/// For clusters where a bare SHA-1 of a low-entropy Secret (a short password) in a pod
/// annotation or env var is unacceptable: without the key, the digest cannot be used to test
/// guesses of the value. Opt-in, because it changes every digest (switching rolls every managed
/// workload once).
///
/// The encoding is unambiguous. Writing `F(x)` for a field (big-endian `u64` length of `x`,
/// then `x`) and `N(n)` for a big-endian `u64` count, the MAC input is
/// `F("reload-rs/keyed-digest/v1")` followed by
/// - ConfigMap: `F("configmap") N(#data) [F(key) F(value)]* N(#binaryData) [F(key) F(bytes)]*`;
/// - Secret: `F("secret") N(#data) [F(key) F(bytes)]*`;
/// - CSI pod status: `F("secretproviderclasspodstatus") F(class) N(#objects) [F(id) F(version)]*`
///   (an absent `objects` list counts as empty),
///
/// with entries in byte order of key (objects sorted by id, then version). So, unlike
/// [`super::ReloaderHasher`], `{a: "b;c=d"}` and `{a: "b", c: "d"}` differ. The format is
/// pinned by golden tests: changing it would roll every workload managed in keyed mode.
///
/// The key is never printed (`Debug` redacts it).
///
/// ```
/// use std::collections::BTreeMap;
/// use reload_core::hash::{Hasher, KeyedHasher};
/// use reload_core::SourceContent;
///
/// let hasher = KeyedHasher::new(b"operator key")?;
/// let data = BTreeMap::from([("a".to_string(), "b".to_string())]);
/// let binary_data = BTreeMap::new();
/// let digest = hasher.digest(&SourceContent::ConfigMap { data: &data, binary_data: &binary_data });
/// assert!(digest.as_str().starts_with("hmac-sha256:"));
/// assert_eq!(digest.as_str().len(), "hmac-sha256:".len() + 64);
/// # Ok::<(), reload_core::Error>(())
/// ```
#[derive(Clone)]
pub struct KeyedHasher {
    /// The MAC, already keyed; cloned for every digest.
    mac: Hmac<Sha256>,
}

impl KeyedHasher {
    /// A hasher with `key` (any bytes; at least 32 random bytes are advisable).
    ///
    /// # Errors
    ///
    /// [`Error::DigestKey`] when `key` is empty.
    pub fn new(key: impl AsRef<[u8]>) -> Result<Self> {
        let key = key.as_ref();
        if key.is_empty() {
            return Err(Error::DigestKey("the key is empty".to_string()));
        }
        let mac = Hmac::<Sha256>::new_from_slice(key)
            .map_err(|_| Error::DigestKey("the key was rejected by HMAC-SHA-256".to_string()))?;
        Ok(KeyedHasher { mac })
    }
}

impl fmt::Debug for KeyedHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedHasher").field("key", &"<redacted>").finish()
    }
}

/// Feeds length-prefixed fields into a MAC.
struct Encoder(Hmac<Sha256>);

impl Encoder {
    fn field(&mut self, bytes: &[u8]) {
        self.count(bytes.len());
        self.0.update(bytes);
    }

    fn count(&mut self, n: usize) {
        // usize -> u64 never truncates on the platforms Rust supports.
        self.0.update(&(n as u64).to_be_bytes());
    }
}

impl Hasher for KeyedHasher {
    fn digest(&self, content: &SourceContent<'_>) -> Digest {
        let mut enc = Encoder(self.mac.clone());
        enc.field(ENCODING_TAG);
        match content {
            SourceContent::ConfigMap { data, binary_data } => {
                enc.field(b"configmap");
                enc.count(data.len());
                for (k, v) in *data {
                    enc.field(k.as_bytes());
                    enc.field(v.as_bytes());
                }
                enc.count(binary_data.len());
                for (k, v) in *binary_data {
                    enc.field(k.as_bytes());
                    enc.field(&v.0);
                }
            }
            SourceContent::Secret { data } => {
                enc.field(b"secret");
                enc.count(data.len());
                for (k, v) in *data {
                    enc.field(k.as_bytes());
                    enc.field(&v.0);
                }
            }
            SourceContent::SecretProviderClassPodStatus { class_name, objects } => {
                enc.field(b"secretproviderclasspodstatus");
                enc.field(class_name.as_bytes());
                let mut objects: Vec<&(String, String)> = objects.unwrap_or_default().iter().collect();
                objects.sort_unstable();
                enc.count(objects.len());
                for (id, version) in objects {
                    enc.field(id.as_bytes());
                    enc.field(version.as_bytes());
                }
            }
        }
        let tag = enc.0.finalize().into_bytes();
        Digest::new(format!("{KEYED_DIGEST_PREFIX}{}", hex::encode(tag)))
    }
}
