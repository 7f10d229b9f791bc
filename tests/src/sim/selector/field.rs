//! Field selectors: the grammar and matching of `k8s.io/apimachinery/pkg/fields`.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use super::SelectorError;

/// A parsed field selector, as the `fieldSelector` query parameter carries it.
///
/// Grammar: comma-joined terms `field=value`, `field==value` or `field!=value`, where `field` is a dotted
/// path (`metadata.name`, `metadata.namespace`, `type`, `spec.nodeName`, ...) and `\`, `,` and `=` in values
/// are escaped with a backslash. As on the real server, whitespace is not trimmed: it is part of the field
/// name or value. Terms are kept in a canonical order, so [`Display`](fmt::Display) parses back to an
/// equal selector.
///
/// Matching reads the dotted path from the object's JSON: strings compare as they are, numbers and booleans
/// by their JSON text, and a missing field (or an object or list) compares as the empty string. The real
/// server instead has a fixed table of field labels per kind, some of them computed (`spec.hostNetwork`,
/// Event `source`); check a selector against that table with [`FieldSelector::check_supported`].
///
/// ```
/// use reload_tests::sim::selector::FieldSelector;
/// use serde_json::json;
///
/// let selector: FieldSelector = "metadata.name=a,type!=helm.sh/release.v1".parse().unwrap();
/// assert!(selector.matches(&json!({"metadata": {"name": "a"}, "type": "Opaque"})));
/// assert!(!selector.matches(&json!({"metadata": {"name": "a"}, "type": "helm.sh/release.v1"})));
/// assert!(selector.check_supported(&["metadata.name", "metadata.namespace"]).is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    terms: Vec<Term>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Term {
    field: String,
    negated: bool,
    value: String,
}

impl FieldSelector {
    /// The selector that matches every object (the empty string).
    pub fn everything() -> Self {
        Self::default()
    }

    /// Whether this selector has no terms and so matches everything.
    pub fn is_everything(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether `object` is selected: every term's field, read as a dotted path, equals (`=`, `==`) or
    /// differs from (`!=`) the term's value.
    pub fn matches(&self, object: &Value) -> bool {
        self.terms
            .iter()
            .all(|term| (field_value(object, &term.field) == term.value) != term.negated)
    }

    /// The field names this selector tests, in canonical order.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.terms.iter().map(|term| term.field.as_str())
    }

    /// Rejects a selector on a field the kind does not support, with the real server's message
    /// (`field label not supported: spec.foo`).
    pub fn check_supported(&self, supported: &[&str]) -> Result<(), SelectorError> {
        match self.fields().find(|field| !supported.contains(field)) {
            Some(field) => Err(SelectorError(format!("field label not supported: {field}"))),
            None => Ok(()),
        }
    }
}

fn field_value(object: &Value, path: &str) -> String {
    let mut current = object;
    for part in path.split('.') {
        match current.get(part) {
            Some(next) => current = next,
            None => return String::new(),
        }
    }
    match current {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null | Value::Array(_) | Value::Object(_) => String::new(),
    }
}

/// Escapes `\`, `,` and `=` in a value, as Go's `fields.EscapeValue`.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn unescape(value: &str) -> Result<String, SelectorError> {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped @ ('\\' | ',' | '=')) => out.push(escaped),
                Some(other) => {
                    return Err(SelectorError(format!(
                        "invalid field selector: invalid escape sequence: \\{other}"
                    )));
                }
                None => {
                    return Err(SelectorError(
                        "invalid field selector: invalid escape sequence: \\".into(),
                    ));
                }
            },
            ',' | '=' => {
                return Err(SelectorError(format!(
                    "invalid field selector: unescaped character in value: {c}"
                )));
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

/// Splits on commas not escaped by a backslash.
fn split_terms(selector: &str) -> Vec<&str> {
    let mut terms = Vec::new();
    let mut start = 0;
    let mut in_slash = false;
    for (i, c) in selector.char_indices() {
        if in_slash {
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' {
            terms.push(&selector[start..i]);
            start = i + 1;
        }
    }
    terms.push(&selector[start..]);
    terms
}

/// Splits a term at the first operator, trying `!=`, `==`, `=` at each position.
fn split_term(term: &str) -> Option<(&str, &str, &str)> {
    term.char_indices().find_map(|(i, _)| {
        let rest = &term[i..];
        ["!=", "==", "="]
            .into_iter()
            .find(|op| rest.starts_with(op))
            .map(|op| (&term[..i], op, &rest[op.len()..]))
    })
}

impl FromStr for FieldSelector {
    type Err = SelectorError;

    fn from_str(selector: &str) -> Result<Self, Self::Err> {
        let mut terms = Vec::new();
        for part in split_terms(selector) {
            if part.is_empty() {
                continue;
            }
            let Some((field, op, value)) = split_term(part) else {
                return Err(SelectorError(format!(
                    "invalid selector: '{selector}'; can't understand '{part}'"
                )));
            };
            terms.push(Term {
                field: field.to_owned(),
                negated: op == "!=",
                value: unescape(value)?,
            });
        }
        terms.sort();
        Ok(Self { terms })
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, term) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            let op = if term.negated { "!=" } else { "=" };
            write!(f, "{}{op}{}", term.field, escape(&term.value))?;
        }
        Ok(())
    }
}
