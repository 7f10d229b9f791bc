//! Parsers for annotation values: comma lists, Go booleans and named-reload regex lists.
//!
//! All of them accept any string and never panic.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use regex::Regex;

use crate::decision::MatchProblem;

/// The entries of a comma-separated annotation value, each trimmed (Go `strings.Split` on `,`
/// then `strings.TrimSpace`). Empty entries are kept, as in Reloader: `""` gives one empty
/// entry.
///
/// ```
/// use reload_core::matcher::comma_items;
/// assert_eq!(comma_items(" a, b ,,c").collect::<Vec<_>>(), ["a", "b", "", "c"]);
/// assert_eq!(comma_items("").collect::<Vec<_>>(), [""]);
/// ```
pub fn comma_items(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim)
}

/// Go's `strconv.ParseBool`, with errors read as `false` (how Reloader reads `auto`):
/// `1`, `t`, `T`, `TRUE`, `true`, `True` are true; everything else is false.
///
/// ```
/// use reload_core::matcher::parse_go_bool;
/// assert!(parse_go_bool("True") && parse_go_bool("1"));
/// assert!(!parse_go_bool("yes") && !parse_go_bool("tRUE") && !parse_go_bool(" true"));
/// ```
#[doc(alias = "ParseBool")]
pub fn parse_go_bool(value: &str) -> bool {
    matches!(value, "1" | "t" | "T" | "TRUE" | "true" | "True")
}

/// One entry of a named-reload list, compiled.
#[derive(Debug, Clone)]
struct PatternEntry {
    /// The trimmed entry as written.
    entry: String,
    /// The compiled `^entry$`, or the compiler's message.
    compiled: Result<Regex, String>,
}

/// A parsed named-reload annotation (`configmap.reloader.stakater.com/reload: "a,app-.*"`):
/// one regular expression per comma entry.
///
/// # The anchoring quirk (copied from Reloader on purpose)
///
/// Each trimmed entry is compiled as the literal string `"^" + entry + "$"` and tested with an
/// unanchored search, exactly as Reloader does (Go `regexp.Compile` + `re.Match`). That is a
/// full match only when the entry has no top-level `|`: `foo|bar` becomes `^foo|bar$`, which
/// matches every name that *starts* with `foo` or *ends* with `bar`. Wrapping the entry as
/// `^(?:entry)$` would be stricter, but would stop reloads that work with Reloader today.
///
/// Invalid entries are skipped, one by one: `bad[,my-secret` still matches `my-secret`, and
/// [`NamedPatterns::problems`] reports `bad[`. The syntax is the `regex` crate's, which is
/// RE2's for everything Kubernetes names can meet (ASCII `[a-z0-9.-]`); the rare constructs
/// where the two engines' syntax differs are reported and skipped like any invalid entry.
///
/// ```
/// use reload_core::matcher::NamedPatterns;
///
/// let patterns = NamedPatterns::parse("bad[, app-.* ,foo|bar");
/// assert_eq!(patterns.first_match("app-config"), Some("app-.*"));
/// assert_eq!(patterns.first_match("food-service"), Some("foo|bar")); // the quirk
/// assert_eq!(patterns.first_match("other"), None);
/// assert_eq!(patterns.problems("configmap.reloader.stakater.com/reload").len(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct NamedPatterns {
    entries: Vec<PatternEntry>,
}

impl NamedPatterns {
    /// Parses and compiles an annotation value (an absent annotation is `""`, whose only
    /// pattern `^$` matches no real name).
    pub fn parse(value: &str) -> Self {
        let entries = comma_items(value)
            .map(|entry| PatternEntry {
                entry: entry.to_string(),
                compiled: Regex::new(&format!("^{entry}$")).map_err(|e| e.to_string()),
            })
            .collect();
        NamedPatterns { entries }
    }

    /// The first entry (as written, trimmed) whose regex matches `name`.
    pub fn first_match(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.compiled.as_ref().is_ok_and(|re| re.is_match(name)))
            .map(|e| e.entry.as_str())
    }

    /// One [`MatchProblem::InvalidRegex`] per entry that does not compile, naming `annotation`.
    ///
    /// Reloader only reports the invalid entries it meets before the first match; we report
    /// all of them, so a typo is visible even when a later entry matches.
    pub fn problems(&self, annotation: &str) -> Vec<MatchProblem> {
        self.entries
            .iter()
            .filter_map(|e| {
                e.compiled
                    .as_ref()
                    .err()
                    .map(|message| MatchProblem::InvalidRegex {
                        annotation: annotation.to_string(),
                        entry: e.entry.clone(),
                        message: message.clone(),
                    })
            })
            .collect()
    }
}

/// A bounded cache of compiled [`NamedPatterns`], keyed by the annotation value.
///
/// The same few annotation values are evaluated for every workload on every change, and
/// compiling a regex costs far more than matching it. When full the cache is simply emptied
/// (values are few in practice; the bound only stops a hostile cluster from growing it
/// forever). Caching does not change any result: `decide` stays a pure function.
#[derive(Debug)]
pub(crate) struct PatternCache {
    entries: Mutex<HashMap<String, Arc<NamedPatterns>>>,
    capacity: usize,
}

impl PatternCache {
    /// An empty cache holding at most `capacity` values.
    pub(crate) fn new(capacity: usize) -> Self {
        PatternCache {
            entries: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// The compiled patterns of `value`, compiled now if not cached.
    pub(crate) fn get(&self, value: &str) -> Arc<NamedPatterns> {
        // A panic while holding the lock cannot leave the map inconsistent (inserts are
        // atomic), so a poisoned lock is still usable.
        if let Some(found) = self
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(value)
        {
            return Arc::clone(found);
        }
        // Compile outside the lock: other threads keep matching meanwhile.
        let compiled = Arc::new(NamedPatterns::parse(value));
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(value.to_string(), Arc::clone(&compiled));
        compiled
    }

    /// How many values are cached.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}
