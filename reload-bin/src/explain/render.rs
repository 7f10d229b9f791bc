//! The text form of an [`Explanation`].

use std::fmt::Write as _;

use super::{DigestState, Explanation, Location};

fn state(state: DigestState) -> &'static str {
    match state {
        DigestState::InSync => "in sync",
        DigestState::Stale => "stale (the controller would roll it)",
        DigestState::NoRecord => "no record (the controller would record a baseline, no roll)",
        DigestState::Missing => "source missing",
    }
}

/// Renders `explanation` for a terminal (one block per source).
pub fn text(explanation: &Explanation) -> String {
    let mut out = String::new();
    let e = explanation;
    let _ = writeln!(out, "{} {}/{}", e.kind, e.namespace, e.name);
    match &e.scope_note {
        None => out.push_str("namespace: watched\n"),
        Some(why) => {
            let _ = writeln!(out, "namespace: NOT watched ({why})");
        }
    }
    out.push_str("annotations:\n");
    if e.annotations.is_empty() {
        out.push_str("  (no reload annotations)\n");
    }
    for a in &e.annotations {
        let location = match a.location {
            Location::Metadata => "metadata",
            Location::Template => "template",
        };
        let applies = if a.applies { "applies" } else { "ignored" };
        let _ = write!(out, "  {}={:?} [{location}, {applies}", a.key, a.value);
        if let Some(note) = &a.note {
            let _ = write!(out, ": {note}");
        }
        out.push_str("]\n");
    }
    out.push_str("sources:\n");
    if e.sources.is_empty() {
        out.push_str("  (the pod template references no ConfigMap or Secret)\n");
    }
    for s in &e.sources {
        let verdict = if s.would_reload {
            "WOULD RELOAD"
        } else {
            "would not reload"
        };
        let _ = writeln!(out, "  {} {}: {verdict}: {}", s.kind, s.name, s.reason);
        for path in &s.paths {
            let _ = writeln!(out, "    via {path}");
        }
        let recorded = s.recorded_digest.as_deref().unwrap_or("-");
        let at = s
            .recorded_in
            .as_deref()
            .map(|at| format!(" ({at})"))
            .unwrap_or_default();
        let _ = writeln!(out, "    recorded digest: {recorded}{at}");
        let _ = writeln!(
            out,
            "    current digest:  {}",
            s.current_digest.as_deref().unwrap_or("-")
        );
        let _ = writeln!(out, "    state: {}", state(s.digest_state));
    }
    out
}
