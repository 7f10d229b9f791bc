//! Percentiles and the few parsers the harness needs: `/proc/<pid>/status` and `/proc/<pid>/stat`
//! of the reloader process, and one counter from a Prometheus text exposition.

/// The `q`-th percentile (0.0–1.0) of `values` by the nearest-rank method, or `None` when empty.
///
/// ```
/// use reload_benches::loadtest::stats::percentile;
/// assert_eq!(percentile(&[5, 1, 3, 2, 4], 0.5), Some(3));
/// assert_eq!(percentile(&[], 0.99), None);
/// ```
pub fn percentile(values: &[u64], q: f64) -> Option<u64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "a rank within a slice of a few million entries, clamped below"
    )]
    let rank = ((q.clamp(0.0, 1.0) * n as f64).ceil() as usize).clamp(1, n);
    sorted.get(rank - 1).copied()
}

/// Resident set size in KiB from the text of `/proc/<pid>/status` (`VmRSS:` line).
pub fn rss_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// User + system CPU time in clock ticks from the text of `/proc/<pid>/stat` (fields 14 and 15;
/// the command name in field 2 may contain spaces and parentheses, so fields are counted after
/// its last `)`).
pub fn cpu_ticks(stat: &str) -> Option<u64> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_comm.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Sum of every sample of `name` whose labels contain `label` (e.g. `success="true"`) in a
/// Prometheus text exposition; `None` when no such sample exists.
pub fn counter(exposition: &str, name: &str, label: &str) -> Option<f64> {
    let mut found = None;
    for line in exposition.lines().filter(|l| !l.starts_with('#')) {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        let (labels, value) = match rest.strip_prefix('{') {
            Some(r) => match r.split_once('}') {
                Some((labels, value)) => (labels, value),
                None => continue,
            },
            None if rest.starts_with(' ') => ("", rest),
            None => continue,
        };
        if !labels.contains(label) {
            continue;
        }
        if let Some(v) = value
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<f64>().ok())
        {
            *found.get_or_insert(0.0) += v;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::{counter, cpu_ticks, percentile, rss_kib};

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 0.5), Some(50));
        assert_eq!(percentile(&values, 0.95), Some(95));
        assert_eq!(percentile(&values, 0.99), Some(99));
        assert_eq!(percentile(&values, 1.0), Some(100));
        assert_eq!(percentile(&[7], 0.0), Some(7));
    }

    #[test]
    fn rss_is_read_from_the_vmrss_line() {
        let status = "Name:\treloader\nVmPeak:\t  99999 kB\nVmRSS:\t   12345 kB\nThreads:\t4\n";
        assert_eq!(rss_kib(status), Some(12_345));
        assert_eq!(rss_kib("Name:\tzombie\n"), None);
    }

    #[test]
    fn cpu_ticks_survive_a_command_name_with_spaces_and_parentheses() {
        let stat = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 4 0 1";
        assert_eq!(cpu_ticks(stat), Some(325));
        assert_eq!(cpu_ticks("garbage"), None);
    }

    #[test]
    fn counters_sum_the_matching_labelled_samples() {
        let text = "# HELP reloader_reload_executed_total x\n\
                    reloader_reload_executed_total{success=\"false\"} 2\n\
                    reloader_reload_executed_total{success=\"true\"} 41\n\
                    reloader_reload_executed_total_by_namespace{success=\"true\",namespace=\"a\"} 9\n";
        assert_eq!(
            counter(text, "reloader_reload_executed_total", "success=\"true\""),
            Some(41.0)
        );
        assert_eq!(counter(text, "reloader_reload_executed_total", ""), Some(43.0));
        assert_eq!(counter(text, "reloader_missing_total", ""), None);
    }
}
