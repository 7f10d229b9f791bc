//! Printing scenario reports: JSON (`--json`), a markdown table (`--markdown`) and plain text.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::run::ScenarioReport;
use super::stats::percentile;

/// Change → rollout latency percentile `q` in milliseconds.
#[expect(clippy::cast_precision_loss, reason = "nanosecond latencies far below 2^52")]
pub fn latency_ms(report: &ScenarioReport, q: f64) -> Option<f64> {
    percentile(&report.accounting.latencies_nanos, q).map(|n| n as f64 / 1e6)
}

/// The reloader's requests of `verb` per harness update.
#[expect(clippy::cast_precision_loss, reason = "request counts far below 2^52")]
pub fn per_update(report: &ScenarioReport, verb: &str) -> f64 {
    report.reloader_requests.get(verb).copied().unwrap_or(0) as f64 / report.updates.max(1) as f64
}

/// One report as JSON.
pub fn to_json(report: &ScenarioReport) -> Value {
    let a = &report.accounting;
    json!({
        "scenario": report.scenario.id(),
        "controller": report.controller,
        "duration_seconds": report.duration.as_secs_f64(),
        "updates": report.updates,
        "data_changes": a.data_changes,
        "naive_expected_reloads": a.naive_expected,
        "expected_reloads": a.expected,
        "rollouts": a.rollouts,
        "workload_patches": report.workload_patches,
        "reload_executed_total": report.executed_metric,
        "lost": a.lost,
        "duplicated": a.duplicated,
        "unknown_digests": a.unknown_digests,
        "coalesced": a.coalesced,
        "stale_rollouts": a.stale_rollouts,
        "exact": a.is_exact(),
        "latency_ms": { "p50": latency_ms(report, 0.5), "p95": latency_ms(report, 0.95), "p99": latency_ms(report, 0.99) },
        "reloader_requests": report.reloader_requests,
        "rss_mib": { "peak": report.usage.peak_rss_mib, "avg": report.usage.avg_rss_mib },
        "cpu_cores": { "peak": report.usage.peak_cpu_cores, "avg": report.usage.avg_cpu_cores },
        "log_warnings_and_errors": report.log_problems,
        "pod_rollouts": a.pod_rollouts,
        "extra": report.extra,
    })
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.1}"))
}

/// The markdown table of `reports`.
pub fn to_markdown(reports: &[ScenarioReport]) -> String {
    let mut out = String::from(
        "| scenario | controller | s | updates | data changes | expected (×fan-out) | rollouts | patches | executed metric | lost | dup | coalesced | latency p50 / p95 / p99 ms | GET+LIST / PATCH per update | RSS peak / avg MiB | CPU peak / avg cores | warn/error logs | notes |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in reports {
        let a = &r.accounting;
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} | {} | {} | {} ({}) | {} | {} | {} | {} | {} | {} | {} / {} / {} | {:.2} / {:.2} | {:.1} / {:.1} | {:.2} / {:.3} | {} | {} |",
            r.scenario.id(),
            r.controller,
            r.duration.as_secs_f64(),
            r.updates,
            a.data_changes,
            a.expected,
            a.naive_expected,
            a.rollouts,
            r.workload_patches,
            r.executed_metric
                .map_or_else(|| "–".to_owned(), |v| format!("{v:.0}")),
            a.lost,
            a.duplicated,
            a.coalesced,
            ms(latency_ms(r, 0.5)),
            ms(latency_ms(r, 0.95)),
            ms(latency_ms(r, 0.99)),
            per_update(r, "get") + per_update(r, "list"),
            per_update(r, "patch"),
            r.usage.peak_rss_mib,
            r.usage.avg_rss_mib,
            r.usage.peak_cpu_cores,
            r.usage.avg_cpu_cores,
            r.log_problems,
            notes_with_stale(r),
        );
    }
    out
}

fn notes_with_stale(r: &ScenarioReport) -> String {
    let notes = notes(r);
    match (r.accounting.stale_rollouts, notes.is_empty()) {
        (0, _) => notes,
        (n, true) => format!("stale rollouts {n}"),
        (n, false) => format!("stale rollouts {n}, {notes}"),
    }
}

/// The scenario-specific figures as `key value, …`.
pub fn notes(r: &ScenarioReport) -> String {
    r.extra
        .iter()
        .map(|(k, v)| match v.as_f64() {
            Some(f) if v.is_f64() => format!("{k} {f:.0}"),
            _ => format!("{k} {v}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A few human-readable lines for one report.
pub fn to_text(r: &ScenarioReport) -> String {
    let a = &r.accounting;
    format!(
        "{id} ({controller}): {verdict}\n  updates {u}, data changes {d}, expected reloads {e} (upstream's updates × fan-out: {n}), rollouts {ro}, \
         workload PATCHes {p}, reload_executed_total +{x}\n  lost {l}, duplicated {dup}, coalesced {c}, unknown digests {unk}, stale rollouts {st}\n  \
         change→rollout latency p50 {p50} ms, p95 {p95} ms, p99 {p99} ms\n  reloader requests {req:?}\n  \
         reloader RSS peak {rp:.1} MiB avg {ra:.1} MiB, CPU peak {cp:.2} avg {ca:.3} cores\n  \
         warning/error log lines {logs}; pod rollouts {pods}; {notes}\n",
        id = r.scenario.id(),
        controller = r.controller,
        logs = r.log_problems,
        pods = a.pod_rollouts,
        notes = notes(r),
        verdict = if a.is_exact() { "exact" } else { "NOT EXACT" },
        u = r.updates,
        d = a.data_changes,
        e = a.expected,
        n = a.naive_expected,
        ro = a.rollouts,
        p = r.workload_patches,
        x = r
            .executed_metric
            .map_or_else(|| "?".to_owned(), |v| format!("{v:.0}")),
        l = a.lost,
        dup = a.duplicated,
        c = a.coalesced,
        unk = a.unknown_digests,
        st = a.stale_rollouts,
        p50 = ms(latency_ms(r, 0.5)),
        p95 = ms(latency_ms(r, 0.95)),
        p99 = ms(latency_ms(r, 0.99)),
        req = r.reloader_requests,
        rp = r.usage.peak_rss_mib,
        ra = r.usage.avg_rss_mib,
        cp = r.usage.peak_cpu_cores,
        ca = r.usage.avg_cpu_cores,
    )
}

/// The reloader against the bare loop, scenario by scenario: latency percentiles and their
/// ratios (reloader ÷ floor), rollouts and CPU.
pub fn floor_markdown(reports: &[ScenarioReport], floors: &[ScenarioReport]) -> String {
    let mut out = String::from(
        "| scenario | latency p50 ms reloader / floor (ratio) | p95 | p99 | rollouts reloader / floor | CPU avg cores reloader / floor | RSS peak MiB reloader / floor |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for floor in floors {
        let Some(ours) = reports.iter().find(|r| r.scenario == floor.scenario) else {
            continue;
        };
        let cell = |q: f64| match (latency_ms(ours, q), latency_ms(floor, q)) {
            (Some(a), Some(b)) if b > 0.0 => format!("{a:.1} / {b:.1} ({:.2}×)", a / b),
            (a, b) => format!("{} / {}", ms(a), ms(b)),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} / {} | {:.3} / {:.3} | {:.1} / {:.1} |",
            floor.scenario.id(),
            cell(0.5),
            cell(0.95),
            cell(0.99),
            ours.accounting.rollouts,
            floor.accounting.rollouts,
            ours.usage.avg_cpu_cores,
            floor.usage.avg_cpu_cores,
            ours.usage.peak_rss_mib,
            floor.usage.peak_rss_mib,
        );
    }
    out
}
