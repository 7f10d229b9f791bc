//! Label and field selectors of list and watch requests (`labelSelector`, `fieldSelector`), parsed and
//! evaluated like `k8s.io/apimachinery/pkg/labels` and `k8s.io/apimachinery/pkg/fields` do on the real API
//! server, with its error messages.
//!
//! ```
//! use std::collections::BTreeMap;
//! use reload_tests::sim::selector::{FieldSelector, LabelSelector};
//! use serde_json::json;
//!
//! let labels: LabelSelector = "app=web".parse().unwrap();
//! let fields: FieldSelector = "metadata.namespace=default".parse().unwrap();
//! let object = json!({"metadata": {"name": "a", "namespace": "default", "labels": {"app": "web"}}});
//! let object_labels = BTreeMap::from([("app".to_owned(), "web".to_owned())]);
//! assert!(labels.matches(&object_labels) && fields.matches(&object));
//! assert!(LabelSelector::everything().is_everything());
//! ```

mod field;
mod label;
mod validation;

#[cfg(test)]
mod tests;

pub use field::FieldSelector;
pub use label::LabelSelector;

/// A selector the real server would refuse; [`Display`](std::fmt::Display) gives its message, which the
/// server returns in a `400 BadRequest` `Status` (for example
/// `unable to parse requirement: found '', expected: identifier`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SelectorError(String);

impl SelectorError {
    /// The HTTP status the real server answers a bad selector with (400).
    pub fn status_code(&self) -> u16 {
        400
    }

    /// The `reason` of that `Status` (`BadRequest`).
    pub fn reason(&self) -> &'static str {
        "BadRequest"
    }

    /// The message of that `Status`.
    pub fn message(&self) -> &str {
        &self.0
    }
}
