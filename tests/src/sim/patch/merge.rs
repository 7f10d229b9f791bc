//! RFC 7386 JSON merge patch (`application/merge-patch+json`).

use serde_json::Value;

use super::{PatchError, not_an_object};

/// Applies an RFC 7386 JSON merge patch: objects merge recursively, `null` deletes a key, every other value
/// (arrays included) replaces what was there.
///
/// The real server decodes the body with `evanphx/json-patch`: a `null` body is `400 Invalid JSON Patch`,
/// any other non-object body replaces the whole document and then fails to decode as an object (422).
/// On error `target` is unchanged.
///
/// ```
/// use reload_tests::sim::patch::apply_merge_patch;
/// use serde_json::json;
///
/// let mut cm = json!({"metadata": {"annotations": {"a": "1", "b": "2"}}, "data": {"k": "v"}});
/// apply_merge_patch(&mut cm, &json!({"metadata": {"annotations": {"a": null}}, "data": {"k": "w"}})).unwrap();
/// assert_eq!(cm, json!({"metadata": {"annotations": {"b": "2"}}, "data": {"k": "w"}}));
/// ```
pub fn apply_merge_patch(target: &mut Value, patch: &Value) -> Result<(), PatchError> {
    match patch {
        Value::Object(_) => {
            json_patch::merge(target, patch);
            Ok(())
        }
        Value::Null => Err(PatchError::bad_request("Invalid JSON Patch")),
        other => Err(not_an_object(other)),
    }
}
