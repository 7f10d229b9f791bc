//! Strategic merge of lists: merge keys, `$patch` list entries, `$deleteFromPrimitiveList` and
//! `$setElementOrder`.

use serde_json::{Map, Value};

use super::super::{PatchError, gofmt};
use super::order::{self, Identity};
use super::schema::{ListMeta, Strategy};
use super::{clean, extract_key, merge_map, no_merge_key, unknown_patch_type};

const SET_ELEMENT_ORDER: &str = "$setElementOrder";

/// Merges `patch` into the live list `original` of a field with metadata `meta`. `is_delete_list` marks a
/// `$deleteFromPrimitiveList/<field>` list, which removes entries whatever the field's strategy.
pub(super) fn merge_field(
    original: Vec<Value>,
    patch: &[Value],
    meta: ListMeta,
    is_delete_list: bool,
    path: &mut Vec<String>,
) -> Result<Vec<Value>, PatchError> {
    if meta.strategy == Strategy::Merge || is_delete_list {
        merge(original, patch, meta.merge_key, is_delete_list, path)
    } else {
        Ok(clean_list(patch))
    }
}

/// A patch list stored as is (atomic lists, lists new to the object): directives and nulls removed.
pub(super) fn clean_list(items: &[Value]) -> Vec<Value> {
    items.iter().filter_map(clean).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ElementKind {
    Null,
    Bool,
    Number,
    String,
    Map,
}

fn element_kind(lists: &[&[Value]]) -> Result<ElementKind, PatchError> {
    let mut kind = None;
    for item in lists.iter().flat_map(|list| list.iter()) {
        let this = match item {
            Value::Null => ElementKind::Null,
            Value::Bool(_) => ElementKind::Bool,
            Value::Number(_) => ElementKind::Number,
            Value::String(_) => ElementKind::String,
            Value::Object(_) => ElementKind::Map,
            Value::Array(_) => return Err(PatchError::invalid("lists of lists are not supported")),
        };
        match kind {
            None => kind = Some(this),
            Some(previous) if previous != this => {
                let all: Vec<Value> = lists.iter().map(|list| Value::Array(list.to_vec())).collect();
                return Err(PatchError::internal(format!(
                    "list element types are not identical: {}",
                    gofmt::value(&Value::Array(all))
                )));
            }
            Some(_) => {}
        }
    }
    kind.ok_or_else(|| PatchError::internal("no elements in any of the given slices"))
}

fn merge(
    original: Vec<Value>,
    patch: &[Value],
    merge_key: Option<&'static str>,
    is_delete_list: bool,
    path: &mut Vec<String>,
) -> Result<Vec<Value>, PatchError> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    if element_kind(&[&original, patch])? != ElementKind::Map {
        if is_delete_list {
            return Ok(original
                .into_iter()
                .filter(|item| !patch.iter().any(|p| gofmt::scalar_eq(p, item)))
                .collect());
        }
        let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
        for item in original.iter().chain(patch) {
            if !merged.iter().any(|seen| gofmt::scalar_eq(seen, item)) {
                merged.push(item.clone());
            }
        }
        let (patch_items, server_only) = order::partition(merged, patch, Identity::Value)?;
        return order::normalize(patch_items, server_only, patch, &original, Identity::Value);
    }
    let Some(key) = merge_key else {
        let field = path.last().map_or("", String::as_str);
        return Err(PatchError::internal(format!(
            "cannot merge lists without merge key for {field}"
        )));
    };
    let (original, patch) = apply_special_entries(original, patch, key)?;
    let merged = merge_entries(original.clone(), &patch, key, path)?;
    let (patch_items, server_only) = order::partition(merged, &patch, Identity::Key(key))?;
    order::normalize(patch_items, server_only, &patch, &original, Identity::Key(key))
}

/// Applies the entries carrying `$patch` (`delete` removes the live entries with that key, `replace` makes
/// the other patch entries the whole list) and returns the live list and the plain patch entries.
fn apply_special_entries(
    mut original: Vec<Value>,
    patch: &[Value],
    key: &str,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for entry in patch {
        let Some(map) = entry.as_object() else {
            return Err(PatchError::internal(format!(
                "expected a map[string]interface {{}}, but received a {}",
                gofmt::type_name(entry)
            )));
        };
        let Some(directive) = map.get("$patch") else {
            plain.push(entry.clone());
            continue;
        };
        match directive.as_str() {
            Some("delete") => {
                let Some(wanted) = map.get(key) else {
                    return Err(no_merge_key(entry, key));
                };
                find_entry(&original, key, wanted)?;
                original.retain(|live| !live.get(key).is_some_and(|v| gofmt::scalar_eq(v, wanted)));
            }
            Some("replace") => replace = true,
            Some("merge") => {
                return Err(PatchError::internal(
                    "merging lists cannot yet be specified in the patch",
                ));
            }
            _ => return Err(unknown_patch_type(directive, entry)),
        }
    }
    if replace {
        Ok((clean_list(&plain), Vec::new()))
    } else {
        Ok((original, plain))
    }
}

/// The index of the live entry whose `key` equals `wanted`; every live entry must be a map.
fn find_entry(list: &[Value], key: &str, wanted: &Value) -> Result<Option<usize>, PatchError> {
    for (index, item) in list.iter().enumerate() {
        let Some(map) = item.as_object() else {
            return Err(PatchError::internal(format!(
                "value for key {index} is not a map"
            )));
        };
        if map.get(key).is_some_and(|v| gofmt::scalar_eq(v, wanted)) {
            return Ok(Some(index));
        }
    }
    Ok(None)
}

/// Merges each plain patch entry into the live entry with the same key, or appends it.
fn merge_entries(
    mut original: Vec<Value>,
    patch: &[Value],
    key: &str,
    path: &mut Vec<String>,
) -> Result<Vec<Value>, PatchError> {
    for entry in patch {
        let Some(wanted) = entry.get(key) else {
            return Err(no_merge_key(entry, key));
        };
        let patch_map = entry.as_object().map_or_else(Map::new, Clone::clone);
        match find_entry(&original, key, wanted)? {
            Some(index) => {
                if let Some(Value::Object(live)) = original.get_mut(index) {
                    // Plain entries carry no `$patch`, so the entry is never deleted here.
                    merge_map(live, &patch_map, path)?;
                }
            }
            None => original.extend(clean(entry)),
        }
    }
    Ok(original)
}

fn bad_arg_type(actual: &Value) -> PatchError {
    PatchError::internal(format!(
        "expected a []interface {{}}, but received a {}",
        gofmt::type_name(actual)
    ))
}

fn as_list(value: Option<&Value>) -> Result<Option<&Vec<Value>>, PatchError> {
    match value {
        None => Ok(None),
        Some(Value::Array(items)) => Ok(Some(items)),
        Some(other) => Err(bad_arg_type(other)),
    }
}

/// Processes one `$setElementOrder/<field>` directive of the map `original` is merged with: merges the
/// field's patch list and orders the result by the directive. Returns the field name, which the caller
/// must not merge again.
pub(super) fn apply_set_element_order(
    original: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    directive_key: &str,
    order_value: &Value,
    path: &mut Vec<String>,
) -> Result<Option<String>, PatchError> {
    let Value::Array(order) = order_value else {
        return Err(bad_arg_type(order_value));
    };
    let field = extract_key(directive_key, SET_ELEMENT_ORDER)?;
    let live = as_list(original.get(field))?.cloned();
    let patch_list = as_list(patch.get(field))?;
    let meta = super::schema::list_meta(path, field);
    validate_order(patch_list.map_or(&[][..], Vec::as_slice), order, meta.merge_key)?;
    path.push(field.to_owned());
    let merged = match (&live, patch_list) {
        (Some(live), None) => Ok(live.clone()),
        (None, Some(patch_list)) => Ok(clean_list(patch_list)),
        (Some(live), Some(patch_list)) => merge_field(live.clone(), patch_list, meta, false, path),
        (None, None) => {
            path.pop();
            return Ok(None);
        }
    };
    path.pop();
    let merged = merged?;
    let live = live.unwrap_or_default();
    let kind = element_kind(&[&live, patch_list.map_or(&[][..], Vec::as_slice)])?;
    let identity = match (meta.merge_key, kind) {
        (Some(key), _) => Identity::Key(key),
        (None, ElementKind::Map) => {
            return Err(PatchError::internal(
                "runtime error: hash of unhashable type map[string]interface {}",
            ));
        }
        (None, _) => Identity::Value,
    };
    let (patch_items, server_only) = order::partition(merged, order, identity)?;
    let ordered = order::normalize(patch_items, server_only, order, &live, identity)?;
    original.insert(field.to_owned(), Value::Array(ordered));
    Ok(Some(field.to_owned()))
}

/// Checks that the patch list names its entries in the relative order of the `$setElementOrder` list
/// (entries deleting with `$patch` are ignored).
fn validate_order(patch_list: &[Value], order: &[Value], merge_key: Option<&str>) -> Result<(), PatchError> {
    if order.is_empty() || patch_list.is_empty() {
        return Ok(());
    }
    let mut entries: Vec<&Value> = Vec::with_capacity(patch_list.len());
    for entry in patch_list {
        if merge_key.is_some() {
            let Some(map) = entry.as_object() else {
                return Err(PatchError::internal(format!(
                    "expected a map[string]interface {{}}, but received a {}",
                    gofmt::type_name(entry)
                )));
            };
            if map.get("$patch").and_then(Value::as_str) == Some("delete") {
                continue;
            }
        }
        entries.push(entry);
    }
    let (mut patch_index, mut order_index) = (0, 0);
    while patch_index < entries.len() && order_index < order.len() {
        let entry = entries[patch_index];
        if entry.as_object().is_some_and(|m| m.contains_key("$patch")) {
            patch_index += 1;
            continue;
        }
        let equal = match merge_key {
            None => gofmt::scalar_eq(entry, &order[order_index]),
            Some(key) => {
                let left = entry.get(key).ok_or_else(|| no_merge_key(entry, key))?;
                let right = order[order_index]
                    .get(key)
                    .ok_or_else(|| no_merge_key(&order[order_index], key))?;
                gofmt::scalar_eq(left, right)
            }
        };
        if equal {
            patch_index += 1;
        }
        order_index += 1;
    }
    if patch_index < entries.len() {
        return Err(PatchError::internal(format!(
            "the order in patch list:\n{}\n doesn't match {SET_ELEMENT_ORDER} list:\n{}",
            gofmt::value(&Value::Array(patch_list.to_vec())),
            gofmt::value(&Value::Array(order.to_vec()))
        )));
    }
    Ok(())
}
