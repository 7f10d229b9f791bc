//! Reloader's Prometheus metrics (`reloader-spec.md` §7.2): same names, labels and buckets, so
//! dashboards and alerts keep working. Unlike Reloader, `reloader_reconcile_total` is counted
//! once per item, and `reloader_events_processed_total` carries the real event type.

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
};

/// Outcome labels of `reloader_reconcile_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReconcileResult {
    /// The item was handled.
    Success,
    /// The item failed.
    Error,
    /// Nothing to do (e.g. no data change).
    Skipped,
}

impl ReconcileResult {
    fn label(self) -> &'static str {
        match self {
            ReconcileResult::Success => "success",
            ReconcileResult::Error => "error",
            ReconcileResult::Skipped => "skipped",
        }
    }
}

/// Every Reloader metric, registered in one registry.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    reload_executed: IntCounterVec,
    reload_executed_by_namespace: Option<IntCounterVec>,
    reconcile_total: IntCounterVec,
    reconcile_duration: HistogramVec,
    action_total: IntCounterVec,
    action_latency: HistogramVec,
    skipped_total: IntCounterVec,
    workqueue_depth: IntGauge,
    workqueue_adds: IntCounter,
    workqueue_latency: Histogram,
    errors_total: IntCounterVec,
    retries_total: IntCounter,
    events_received: IntCounterVec,
    events_processed: IntCounterVec,
    workloads_scanned: IntCounterVec,
    workloads_matched: IntCounterVec,
}

const RECONCILE_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
const ACTION_BUCKETS: &[f64] = &[0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];
const QUEUE_BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

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

fn histogram_vec(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: &[f64],
) -> prometheus::Result<HistogramVec> {
    let metric = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets.to_vec()), labels)?;
    registry.register(Box::new(metric.clone()))?;
    Ok(metric)
}

impl Metrics {
    /// Registers every metric; `by_namespace` adds `reloader_reload_executed_total_by_namespace`
    /// (Reloader's `METRICS_COUNT_BY_NAMESPACE=enabled`).
    #[expect(
        clippy::too_many_lines,
        reason = "a flat list of registrations reads best in one place"
    )]
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
        let workqueue_depth = IntGauge::new("reloader_workqueue_depth", "Current depth of the work queue.")?;
        registry.register(Box::new(workqueue_depth.clone()))?;
        let workqueue_adds = IntCounter::new(
            "reloader_workqueue_adds_total",
            "Total number of items added to the work queue.",
        )?;
        registry.register(Box::new(workqueue_adds.clone()))?;
        let workqueue_latency = Histogram::with_opts(
            HistogramOpts::new(
                "reloader_workqueue_latency_seconds",
                "Time an item waits in the work queue.",
            )
            .buckets(QUEUE_BUCKETS.to_vec()),
        )?;
        registry.register(Box::new(workqueue_latency.clone()))?;
        let retries_total = IntCounter::new("reloader_retries_total", "Total number of retries.")?;
        registry.register(Box::new(retries_total.clone()))?;
        Ok(Metrics {
            reconcile_total: counter_vec(
                &registry,
                "reloader_reconcile_total",
                "Total number of reconcile operations.",
                &["result"],
            )?,
            reconcile_duration: histogram_vec(
                &registry,
                "reloader_reconcile_duration_seconds",
                "Duration of reconcile operations.",
                &["result"],
                RECONCILE_BUCKETS,
            )?,
            action_total: counter_vec(
                &registry,
                "reloader_action_total",
                "Total number of workload actions.",
                &["workload_kind", "result"],
            )?,
            action_latency: histogram_vec(
                &registry,
                "reloader_action_latency_seconds",
                "Time from the start of a workload update to its write.",
                &["workload_kind"],
                ACTION_BUCKETS,
            )?,
            skipped_total: counter_vec(
                &registry,
                "reloader_skipped_total",
                "Total number of skipped operations.",
                &["reason"],
            )?,
            errors_total: counter_vec(
                &registry,
                "reloader_errors_total",
                "Total number of errors.",
                &["type"],
            )?,
            events_received: counter_vec(
                &registry,
                "reloader_events_received_total",
                "Total number of events received.",
                &["event_type", "resource_type"],
            )?,
            events_processed: counter_vec(
                &registry,
                "reloader_events_processed_total",
                "Total number of events processed.",
                &["event_type", "resource_type", "result"],
            )?,
            workloads_scanned: counter_vec(
                &registry,
                "reloader_workloads_scanned_total",
                "Total number of workloads scanned.",
                &["kind"],
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
            workqueue_depth,
            workqueue_adds,
            workqueue_latency,
            retries_total,
        })
    }

    /// The registry, for the `/metrics` endpoint.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buffer = String::new();
        match prometheus::TextEncoder::new().encode_utf8(&self.registry.gather(), &mut buffer) {
            Ok(()) => buffer,
            Err(error) => format!("# error encoding metrics: {error}\n"),
        }
    }

    /// One workload write attempted: `reloader_reload_executed_total`, `reloader_action_*`,
    /// `reloader_workloads_matched_total`.
    pub fn record_reload(&self, workload_kind: &str, namespace: &str, success: bool, latency_seconds: f64) {
        let success_label = if success { "true" } else { "false" };
        self.reload_executed.with_label_values(&[success_label]).inc();
        if let Some(by_namespace) = &self.reload_executed_by_namespace {
            by_namespace.with_label_values(&[success_label, namespace]).inc();
        }
        let result = if success { "success" } else { "error" };
        self.action_total
            .with_label_values(&[workload_kind, result])
            .inc();
        self.action_latency
            .with_label_values(&[workload_kind])
            .observe(latency_seconds);
        self.workloads_matched.with_label_values(&[workload_kind]).inc();
    }

    /// A workload considered for a change (Reloader counts every listed workload; we count the
    /// index candidates).
    pub fn record_scanned(&self, workload_kind: &str, count: u64) {
        self.workloads_scanned
            .with_label_values(&[workload_kind])
            .inc_by(count);
    }

    /// A reconcile of one source event finished.
    pub fn record_reconcile(&self, result: ReconcileResult, seconds: f64) {
        self.reconcile_total.with_label_values(&[result.label()]).inc();
        self.reconcile_duration
            .with_label_values(&[result.label()])
            .observe(seconds);
    }

    /// Something was skipped: `no_data_change`, `strategy_not_updated`, `ignored_or_not_selected`.
    pub fn record_skipped(&self, reason: &str) {
        self.skipped_total.with_label_values(&[reason]).inc();
    }

    /// A source event arrived (`add`/`update`/`delete`, `configmaps`/`secrets`/...).
    pub fn record_event_received(&self, event_type: &str, resource_type: &str) {
        self.events_received
            .with_label_values(&[event_type, resource_type])
            .inc();
    }

    /// A source event was processed (`success`) or dropped (`dropped`).
    pub fn record_event_processed(&self, event_type: &str, resource_type: &str, result: &str) {
        self.events_processed
            .with_label_values(&[event_type, resource_type, result])
            .inc();
    }

    /// An error of `kind` (`handler_error`, ...).
    pub fn record_error(&self, kind: &str) {
        self.errors_total.with_label_values(&[kind]).inc();
    }

    /// A retry.
    pub fn record_retry(&self) {
        self.retries_total.inc();
    }

    /// Work-queue depth and additions.
    pub fn record_queue(&self, depth: i64, added: u64, waited_seconds: Option<f64>) {
        self.workqueue_depth.set(depth);
        self.workqueue_adds.inc_by(added);
        if let Some(seconds) = waited_seconds {
            self.workqueue_latency.observe(seconds);
        }
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
        metrics.record_reload("Deployment", "team-a", true, 0.02);
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
    fn reconcile_is_counted_once_per_item() {
        let metrics = Metrics::new(false).unwrap();
        metrics.record_reconcile(ReconcileResult::Skipped, 0.001);
        let text = metrics.render();
        assert!(
            text.contains("reloader_reconcile_total{result=\"skipped\"} 1"),
            "{text}"
        );
        assert!(
            !text.contains("reloader_reconcile_total{result=\"success\"}"),
            "{text}"
        );
    }
}
