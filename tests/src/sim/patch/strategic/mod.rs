//! Kubernetes strategic merge patch (`application/strategic-merge-patch+json`), modelled on
//! `k8s.io/apimachinery/pkg/util/strategicpatch` as the API server runs it (`MergeParallelList` and
//! `IgnoreUnmatchedNulls` on).

mod list;
mod order;
mod schema;

#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

use super::{PatchError, gofmt};

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";
const SET_ELEMENT_ORDER: &str = "$setElementOrder";

/// Applies a Kubernetes strategic merge patch.
///
/// - Maps merge recursively; `null` deletes a key.
/// - Lists merge by the real merge keys of the kinds `kube-sim` serves: `containers`, `initContainers`,
///   `ephemeralContainers`, `env`, `volumes`, `imagePullSecrets` by `name`; `volumeMounts` by `mountPath`;
///   container `ports` by `containerPort` (Service `ports` by `port`); `ownerReferences` by `uid`;
///   `conditions` by `type`; `finalizers` as a set of strings. Every other list (`tolerations`, `envFrom`,
///   `args`, `command`, ...) is replaced. Merged lists are ordered like the real server orders them: entries
///   the live list lacks come first.
/// - Directives: `$patch: delete` (on a list entry: delete the live entry with that key; on a map: delete
///   the map), `$patch: replace` (on a map: replace it; as a list entry: replace the list), `$retainKeys`,
///   `$setElementOrder/<list>`, `$deleteFromPrimitiveList/<list>`. `$patch: merge` is rejected with the
///   real server's 500 ("merging lists cannot yet be specified in the patch" in a list, "unknown patch type"
///   in a map). Directives are never stored.
///
/// Where this differs from the real server:
/// - merge keys are looked up by field name and parent field, not in the OpenAPI schema (see `schema.rs`);
///   field names are unambiguous for the kinds we serve. The real server answers 415 for custom resources;
///   the caller must do that (see [`PatchError::UnsupportedMediaType`]).
/// - values new to the object (new keys, appended list entries, replacing lists and maps) are stored with
///   their nulls and directives removed; the real server stores some of them raw and lets typed decoding
///   drop or reject them.
/// - `$patch: delete` on a map removes the key; the real server leaves an empty map, which typed decoding
///   mostly omits. On the object root it is a 422 here.
///
/// A `null` body is a no-op and any other non-object body is 400, as on the real server. On error
/// `target` is unchanged.
///
/// ```
/// use reload_tests::sim::patch::apply_strategic_merge_patch;
/// use serde_json::json;
///
/// let mut pod = json!({"metadata": {"annotations": {"a": "1", "b": "2"}}, "spec": {"containers": [
///     {"name": "app", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]}
/// ]}});
/// let patch = json!({"metadata": {"annotations": {"a": null}}, "spec": {"containers": [
///     {"name": "app", "env": [{"name": "X", "$patch": "delete"}]}
/// ]}});
/// apply_strategic_merge_patch(&mut pod, &patch).unwrap();
/// assert_eq!(pod, json!({"metadata": {"annotations": {"b": "2"}}, "spec": {"containers": [
///     {"name": "app", "env": [{"name": "Y", "value": "2"}]}
/// ]}}));
/// ```
pub fn apply_strategic_merge_patch(target: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let patch = match patch {
        Value::Null => return Ok(()),
        Value::Object(patch) => patch,
        other => {
            return Err(PatchError::bad_request(format!(
                "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                gofmt::json_kind(other)
            )));
        }
    };
    let Value::Object(original) = target else {
        return Err(super::not_an_object(target));
    };
    let mut merged = original.clone();
    if merge_map(&mut merged, patch, &mut Vec::new())? == Outcome::Delete {
        return Err(PatchError::invalid(
            "a strategic merge patch cannot delete the whole object with $patch",
        ));
    }
    *original = merged;
    Ok(())
}

/// What the caller does with a merged map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Keep,
    /// The patch was `{"$patch": "delete"}`: remove the map.
    Delete,
}

/// Merges `patch` into `original`, the map reached through `path` (field names from the root).
fn merge_map(
    original: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    path: &mut Vec<String>,
) -> Result<Outcome, PatchError> {
    if let Some(directive) = patch.get(DIRECTIVE) {
        return match directive.as_str() {
            Some("replace") => {
                *original = clean_map(patch);
                Ok(Outcome::Keep)
            }
            Some("delete") => Ok(Outcome::Delete),
            _ => Err(unknown_patch_type(directive, &Value::Object(patch.clone()))),
        };
    }
    apply_retain_keys(original, patch)?;
    let mut done: Vec<String> = Vec::new();
    for (key, value) in patch {
        if key.starts_with(SET_ELEMENT_ORDER) {
            done.extend(list::apply_set_element_order(original, patch, key, value, path)?);
        }
    }
    for (key, patch_value) in patch {
        if key == RETAIN_KEYS || key.starts_with(SET_ELEMENT_ORDER) || done.contains(key) {
            continue;
        }
        let (key, is_delete_list) = if key.starts_with(DELETE_FROM_PRIMITIVE_LIST) {
            (extract_key(key, DELETE_FROM_PRIMITIVE_LIST)?, true)
        } else {
            (key.as_str(), false)
        };
        if patch_value.is_null() {
            original.remove(key);
            continue;
        }
        let Some(live) = original.get_mut(key) else {
            if !is_delete_list && let Some(value) = clean(patch_value) {
                original.insert(key.to_owned(), value);
            }
            continue;
        };
        let keep = match (live, patch_value) {
            (Value::Object(live), Value::Object(patch_map)) => {
                path.push(key.to_owned());
                let outcome = merge_map(live, patch_map, path);
                path.pop();
                outcome? == Outcome::Keep
            }
            (Value::Array(live), Value::Array(patch_list)) => {
                let meta = schema::list_meta(path, key);
                path.push(key.to_owned());
                let merged = list::merge_field(std::mem::take(live), patch_list, meta, is_delete_list, path);
                path.pop();
                *live = merged?;
                true
            }
            _ if is_delete_list => true,
            (live, patch_value) => match clean(patch_value) {
                Some(value) => {
                    *live = value;
                    true
                }
                None => false,
            },
        };
        if !keep {
            original.remove(key);
        }
    }
    Ok(Outcome::Keep)
}

/// `$retainKeys`: every key the patch sets must be listed; live keys not listed are cleared.
fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &Map<String, Value>,
) -> Result<(), PatchError> {
    let Some(retain) = patch.get(RETAIN_KEYS) else {
        return Ok(());
    };
    let bad = || PatchError::bad_request("invalid patch format of retainKeys");
    let Value::Array(retain) = retain else {
        return Err(bad());
    };
    let listed = |key: &str| retain.iter().any(|r| r.as_str() == Some(key));
    for (key, value) in patch {
        if key == RETAIN_KEYS
            || value.is_null()
            || key.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            || key.starts_with(SET_ELEMENT_ORDER)
        {
            continue;
        }
        if !listed(key) {
            return Err(bad());
        }
    }
    original.retain(|key, _| listed(key));
    Ok(())
}

/// The list field named by a `<prefix>/<field>` directive key.
fn extract_key<'k>(key: &'k str, prefix: &str) -> Result<&'k str, PatchError> {
    match key.split_once('/') {
        Some((head, field)) if head == prefix => Ok(field),
        _ if prefix == DELETE_FROM_PRIMITIVE_LIST => {
            Err(PatchError::bad_request("invalid patch format of primitive list"))
        }
        _ => Err(PatchError::bad_request(
            "invalid patch format of setElementOrder list",
        )),
    }
}

fn is_directive_key(key: &str) -> bool {
    key == DIRECTIVE
        || key == RETAIN_KEYS
        || key.starts_with(SET_ELEMENT_ORDER)
        || key.starts_with(DELETE_FROM_PRIMITIVE_LIST)
}

/// A patch value as stored where nothing is merged: maps carrying `$patch` dropped, directive keys and null
/// map values removed, recursively. `None` when the value itself is dropped.
fn clean(value: &Value) -> Option<Value> {
    match value {
        Value::Object(map) if map.contains_key(DIRECTIVE) => None,
        Value::Object(map) => Some(Value::Object(clean_map(map))),
        Value::Array(items) => Some(Value::Array(list::clean_list(items))),
        other => Some(other.clone()),
    }
}

fn clean_map(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter()
        .filter(|(key, value)| !value.is_null() && !is_directive_key(key))
        .filter_map(|(key, value)| clean(value).map(|value| (key.clone(), value)))
        .collect()
}

fn no_merge_key(entry: &Value, key: &str) -> PatchError {
    PatchError::internal(format!(
        "map: {} does not contain declared merge key: {key}",
        gofmt::value(entry)
    ))
}

fn unknown_patch_type(directive: &Value, map: &Value) -> PatchError {
    PatchError::internal(format!(
        "unknown patch type: {} in map: {}",
        gofmt::value(directive),
        gofmt::value(map)
    ))
}
