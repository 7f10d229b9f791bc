//! Element order of merged lists, as the real server computes it (the "preserve order in strategic merge
//! patch" design): entries named by the patch (or its `$setElementOrder` list) keep the patch's order,
//! server-only entries keep their live order, and the two are interleaved by their live positions. Entries
//! new to the list come before server-only entries they cannot be placed against, which is why a patch that
//! adds an env var puts it first.

use serde_json::Value;

use super::super::{PatchError, gofmt};
use super::no_merge_key;

/// How list entries are identified: by a merge key (maps) or by value (primitives).
#[derive(Debug, Clone, Copy)]
pub(super) enum Identity<'a> {
    Key(&'a str),
    Value,
}

impl Identity<'_> {
    fn id(self, item: &Value) -> Option<&Value> {
        match self {
            Identity::Key(key) => item.as_object().and_then(|m| m.get(key)),
            Identity::Value => Some(item),
        }
    }

    /// Whether `a` and `b` are the same entry.
    pub(super) fn same(self, a: &Value, b: &Value) -> bool {
        match (self.id(a), self.id(b)) {
            (Some(x), Some(y)) => gofmt::scalar_eq(x, y),
            _ => false,
        }
    }

    fn index(self, list: &[Value], item: &Value) -> Option<usize> {
        list.iter().position(|candidate| self.same(item, candidate))
    }
}

/// Splits `merged` into the entries present in `by` and the rest, keeping order.
pub(super) fn partition(
    merged: Vec<Value>,
    by: &[Value],
    identity: Identity<'_>,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    if let Identity::Key(key) = identity {
        for item in &merged {
            require_key(item, key)?;
        }
        for item in by {
            if !item.is_object() {
                return Err(PatchError::internal("value for key is not a map"));
            }
        }
    }
    Ok(merged
        .into_iter()
        .partition(|item| identity.index(by, item).is_some()))
}

/// Orders `patch_items` by `patch_order` and `server_only` by `server_order`, then interleaves them.
pub(super) fn normalize(
    patch_items: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    identity: Identity<'_>,
) -> Result<Vec<Value>, PatchError> {
    let patch_items = sort_by_order(patch_items, patch_order, identity)?;
    let server_only = sort_by_order(server_only, server_order, identity)?;
    Ok(merge_sorted(server_only, patch_items, server_order, identity))
}

fn require_key(item: &Value, key: &str) -> Result<(), PatchError> {
    match item {
        Value::Object(map) if map.contains_key(key) => Ok(()),
        Value::Object(_) => Err(no_merge_key(item, key)),
        other => Err(PatchError::internal(format!(
            "expected a map[string]interface {{}}, but received a {}",
            gofmt::type_name(other)
        ))),
    }
}

fn sort_by_order(
    mut items: Vec<Value>,
    order: &[Value],
    identity: Identity<'_>,
) -> Result<Vec<Value>, PatchError> {
    if let Identity::Key(key) = identity {
        for item in items.iter().chain(order) {
            require_key(item, key)?;
        }
    }
    // Entries missing from `order` go last (the real comparator leaves them where the sort happens to).
    items.sort_by_key(|item| identity.index(order, item).unwrap_or(usize::MAX));
    Ok(items)
}

/// Inserts the `left` entries into `right`: a left entry goes first only when both are in `server_order`
/// and it comes earlier there.
fn merge_sorted(
    left: Vec<Value>,
    right: Vec<Value>,
    server_order: &[Value],
    identity: Identity<'_>,
) -> Vec<Value> {
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => match (identity.index(server_order, l), identity.index(server_order, r)) {
                (Some(li), Some(ri)) => li < ri,
                _ => false,
            },
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    out
}
