//! RFC 6902 JSON patch (`application/json-patch+json`).

use json_patch::{PatchErrorKind, PatchOperation};
use serde_json::Value;

use super::{PatchError, gofmt, not_an_object};

/// Applies an RFC 6902 JSON patch atomically: either every operation applies or `target` is unchanged.
///
/// Operations are `add`, `remove`, `replace`, `move`, `copy` and `test`. A body that is not a list of
/// objects is 400 (as `evanphx/json-patch` decoding fails on the real server); a `null` body is an empty
/// patch. An unknown `op`, a missing `path`, a failed `test`, a path the document lacks or a result that is
/// not an object is 422 `Invalid`, with messages modelled on the real server's.
///
/// Simplification: `evanphx/json-patch` v4 lets `{"op": "test", "value": null}` pass on a missing path; here
/// that test fails like any other.
///
/// ```
/// use reload_tests::sim::patch::apply_json_patch;
/// use serde_json::json;
///
/// let mut cm = json!({"metadata": {"name": "a"}, "data": {"k": "v"}});
/// let patch = json!([
///     {"op": "test", "path": "/data/k", "value": "v"},
///     {"op": "replace", "path": "/data/k", "value": "w"}
/// ]);
/// apply_json_patch(&mut cm, &patch).unwrap();
/// assert_eq!(cm["data"]["k"], "w");
///
/// let failing = json!([
///     {"op": "remove", "path": "/data/k"},
///     {"op": "test", "path": "/metadata/name", "value": "b"}
/// ]);
/// let err = apply_json_patch(&mut cm, &failing).unwrap_err();
/// assert_eq!(err.status_code(), 422);
/// assert_eq!(cm["data"]["k"], "w", "nothing applied");
/// ```
pub fn apply_json_patch(target: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let operations = match patch {
        Value::Null => return Ok(()),
        Value::Array(operations) => operations,
        other => {
            return Err(PatchError::bad_request(format!(
                "json: cannot unmarshal {} into Go value of type jsonpatch.Patch",
                gofmt::json_kind(other)
            )));
        }
    };
    let parsed = operations
        .iter()
        .map(parse_operation)
        .collect::<Result<Vec<_>, _>>()?;
    // Work on a copy: `json_patch::patch` undoes on failure too, but panics if the undo itself fails.
    let mut patched = target.clone();
    json_patch::patch_unsafe(&mut patched, &parsed).map_err(|err| describe(&err, &parsed))?;
    if !patched.is_object() {
        return Err(not_an_object(&patched));
    }
    *target = patched;
    Ok(())
}

const KINDS: [&str; 6] = ["add", "remove", "replace", "move", "copy", "test"];

fn parse_operation(operation: &Value) -> Result<PatchOperation, PatchError> {
    let Value::Object(fields) = operation else {
        return Err(PatchError::bad_request(format!(
            "json: cannot unmarshal {} into Go value of type jsonpatch.Operation",
            gofmt::json_kind(operation)
        )));
    };
    let kind = fields.get("op").and_then(Value::as_str).unwrap_or("unknown");
    if !KINDS.contains(&kind) {
        return Err(PatchError::invalid(format!("Unexpected kind: {kind}")));
    }
    let Some(path) = fields.get("path").and_then(Value::as_str) else {
        return Err(PatchError::invalid(format!(
            "{kind} operation failed to decode path: missing value"
        )));
    };
    let mut fields = fields.clone();
    if matches!(kind, "add" | "replace" | "test") && !fields.contains_key("value") {
        // evanphx/json-patch reads a missing value as JSON null.
        fields.insert("value".to_owned(), Value::Null);
    }
    if matches!(kind, "move" | "copy") && !fields.get("from").is_some_and(Value::is_string) {
        return Err(PatchError::invalid(format!(
            "{kind} operation failed to decode from: missing value"
        )));
    }
    let path = path.to_owned();
    serde_json::from_value(Value::Object(fields)).map_err(|err| {
        PatchError::invalid(format!(
            "{kind} operation does not apply: doc is missing path: \"{path}\": {err}"
        ))
    })
}

fn describe(err: &json_patch::PatchError, operations: &[PatchOperation]) -> PatchError {
    let path = err.path.as_str();
    let operation = operations.get(err.operation);
    let kind = match operation {
        Some(PatchOperation::Add(_)) => "add",
        Some(PatchOperation::Remove(_)) => "remove",
        Some(PatchOperation::Replace(_)) => "replace",
        Some(PatchOperation::Move(_)) => "move",
        Some(PatchOperation::Copy(_)) => "copy",
        Some(PatchOperation::Test(_)) | None => "test",
    };
    let message = match &err.kind {
        PatchErrorKind::TestFailed => format!("testing value {path} failed: test failed"),
        PatchErrorKind::InvalidPointer => {
            format!("{kind} operation does not apply: doc is missing path: \"{path}\": missing value")
        }
        PatchErrorKind::InvalidFromPointer => {
            let from = match operation {
                Some(PatchOperation::Move(op)) => op.from.as_str(),
                Some(PatchOperation::Copy(op)) => op.from.as_str(),
                _ => path,
            };
            format!("{kind} operation does not apply: doc is missing from path: \"{from}\": missing value")
        }
        other => format!("{kind} operation does not apply: {other}"),
    };
    PatchError::invalid(message)
}
