//! INTERIM stand-in for the `sim-patch` branch's selector module (removed when it is merged).
#![allow(missing_docs)]
use std::collections::BTreeMap;
use std::str::FromStr;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SelectorError(String);

#[derive(Debug, Clone, Default)]
pub struct LabelSelector(Vec<(String, Option<String>, bool)>);
impl LabelSelector {
    pub fn everything() -> Self {
        Self::default()
    }
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|(k, v, eq)| match v {
            Some(v) => (labels.get(k) == Some(v)) == *eq,
            None => labels.contains_key(k) == *eq,
        })
    }
}
impl FromStr for LabelSelector {
    type Err = SelectorError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = vec![];
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if let Some((k, v)) = part.split_once("!=") {
                out.push((k.trim().into(), Some(v.trim().into()), false));
            } else if let Some((k, v)) = part.split_once('=') {
                out.push((
                    k.trim().into(),
                    Some(v.trim_start_matches('=').trim().into()),
                    true,
                ));
            } else if let Some(k) = part.strip_prefix('!') {
                out.push((k.trim().into(), None, false));
            } else if part.contains(' ') || part.contains('(') {
                return Err(SelectorError(format!("unable to parse requirement: {part}")));
            } else {
                out.push((part.into(), None, true));
            }
        }
        Ok(Self(out))
    }
}

#[derive(Debug, Clone, Default)]
pub struct FieldSelector(Vec<(String, String, bool)>);
impl FieldSelector {
    pub fn everything() -> Self {
        Self::default()
    }
    pub fn matches(&self, object: &serde_json::Value) -> bool {
        self.0.iter().all(|(k, v, eq)| {
            let mut cur = object;
            for seg in k.split('.') {
                cur = &cur[seg];
            }
            (cur.as_str().unwrap_or("") == v) == *eq
        })
    }
}
impl FromStr for FieldSelector {
    type Err = SelectorError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = vec![];
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if let Some((k, v)) = part.split_once("!=") {
                out.push((k.trim().into(), v.trim().into(), false));
            } else if let Some((k, v)) = part.split_once('=') {
                out.push((k.trim().into(), v.trim_start_matches('=').trim().into(), true));
            } else {
                return Err(SelectorError(format!("invalid selector: '{part}'")));
            }
        }
        Ok(Self(out))
    }
}
