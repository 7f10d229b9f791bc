//! Reloader's Prometheus metrics (`reloader-spec.md` §7.2) that this controller feeds, with the
//! same names, labels and buckets, so dashboards and alerts keep working:
//! `reloader_reload_executed_total{success}` (both series start at 0),
//! `reloader_reload_executed_total_by_namespace{success,namespace}` (with
//! `METRICS_COUNT_BY_NAMESPACE=enabled`), `reloader_action_total{workload_kind,result}`,
//! `reloader_action_latency_seconds{workload_kind}`, `reloader_workloads_matched_total{kind}`,
//! `reloader_skipped_total{reason}`, plus the process collector (`process_*`).

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

/// The metrics, registered in one registry.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    reload_executed: IntCounterVec,
    reload_executed_by_namespace: Option<IntCounterVec>,
    action_total: IntCounterVec,
    action_latency: HistogramVec,
    skipped_total: IntCounterVec,
    workloads_matched: IntCounterVec,
}

const ACTION_BUCKETS: &[f64] = &[0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

fn counter_vec(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> prometheus::Result<IntCounterVec> {
    let metric = IntCounterVec::new(Opts::new(name, help), labels)?;
    registry.register(Box::new(metric.clone()))?;
    Ok(metric)
}

impl Metrics {
    /// Registers every metric; `by_namespace` adds `reloader_reload_executed_total_by_namespace`.
    pub fn new(by_namespace: bool) -> prometheus::Result<Self> {
        let registry = Registry::new();
        #[cfg(target_os = "linux")]
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        let reload_executed = counter_vec(
            &registry,
            "reloader_reload_executed_total",
            "Counter of reloads executed by Reloader.",
            &["success"],
        )?;
        for success in ["true", "false"] {
            reload_executed.with_label_values(&[success]);
        }
        let reload_executed_by_namespace = if by_namespace {
            Some(counter_vec(
                &registry,
                "reloader_reload_executed_total_by_namespace",
                "Counter of reloads executed by Reloader by namespace.",
                &["success", "namespace"],
            )?)
        } else {
            None
        };
        let action_latency = HistogramVec::new(
            HistogramOpts::new(
                "reloader_action_latency_seconds",
                "Time from the start of a workload update to its write.",
            )
            .buckets(ACTION_BUCKETS.to_vec()),
            &["workload_kind"],
        )?;
        registry.register(Box::new(action_latency.clone()))?;
        Ok(Metrics {
            action_total: counter_vec(
                &registry,
                "reloader_action_total",
                "Total number of workload actions.",
                &["workload_kind", "result"],
            )?,
            skipped_total: counter_vec(
                &registry,
                "reloader_skipped_total",
                "Total number of skipped operations.",
                &["reason"],
            )?,
            workloads_matched: counter_vec(
                &registry,
                "reloader_workloads_matched_total",
                "Total number of workloads matched.",
                &["kind"],
            )?,
            registry,
            reload_executed,
            reload_executed_by_namespace,
            action_latency,
        })
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buffer = String::new();
        match prometheus::TextEncoder::new().encode_utf8(&self.registry.gather(), &mut buffer) {
            Ok(()) => buffer,
            Err(error) => format!("# error encoding metrics: {error}\n"),
        }
    }

    /// One workload write attempted.
    pub fn record_reload(
        &self,
        workload_kind: &str,
        namespace: &str,
        success: bool,
        latency_seconds: Option<f64>,
    ) {
        let success_label = if success { "true" } else { "false" };
        self.reload_executed.with_label_values(&[success_label]).inc();
        if let Some(by_namespace) = &self.reload_executed_by_namespace {
            by_namespace.with_label_values(&[success_label, namespace]).inc();
        }
        let result = if success { "success" } else { "error" };
        self.action_total
            .with_label_values(&[workload_kind, result])
            .inc();
        if let Some(seconds) = latency_seconds {
            self.action_latency
                .with_label_values(&[workload_kind])
                .observe(seconds);
        }
        self.workloads_matched.with_label_values(&[workload_kind]).inc();
    }

    /// Something was skipped: `no_data_change`, `strategy_not_updated`, `ignored_or_not_selected`.
    pub fn record_skipped(&self, reason: &str) {
        self.skipped_total.with_label_values(&[reason]).inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reload_counter_series_exist_at_zero_before_any_reload() {
        let text = Metrics::new(false).unwrap().render();
        assert!(
            text.contains("reloader_reload_executed_total{success=\"true\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("reloader_reload_executed_total{success=\"false\"} 0"),
            "{text}"
        );
        assert!(!text.contains("reloader_reload_executed_total_by_namespace"));
    }

    #[test]
    fn a_reload_counts_under_reloaders_names_and_labels() {
        let metrics = Metrics::new(true).unwrap();
        metrics.record_reload("Deployment", "team-a", true, Some(0.02));
        let text = metrics.render();
        assert!(
            text.contains("reloader_reload_executed_total{success=\"true\"} 1"),
            "{text}"
        );
        assert!(
            text.contains(
                "reloader_reload_executed_total_by_namespace{namespace=\"team-a\",success=\"true\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("reloader_action_total{result=\"success\",workload_kind=\"Deployment\"} 1"),
            "{text}"
        );
        assert!(
            text.contains(
                "reloader_action_latency_seconds_bucket{workload_kind=\"Deployment\",le=\"0.05\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("reloader_workloads_matched_total{kind=\"Deployment\"} 1"),
            "{text}"
        );
    }

    #[test]
    fn skips_count_under_reloaders_reason_labels() {
        let metrics = Metrics::new(false).unwrap();
        metrics.record_skipped("no_data_change");
        assert!(
            metrics
                .render()
                .contains("reloader_skipped_total{reason=\"no_data_change\"} 1")
        );
    }
}
