//! Reloader's Prometheus metrics (`reloader-spec.md` §7.2) that this controller feeds, with the
//! same names, labels and buckets, so dashboards and alerts keep working:
//! `reloader_reload_executed_total{success}` (both series start at 0),
//! `reloader_reload_executed_total_by_namespace{success,namespace}` (with
//! `METRICS_COUNT_BY_NAMESPACE=enabled`), `reloader_action_total{workload_kind,result}`,
//! `reloader_action_latency_seconds{workload_kind}`, `reloader_workloads_matched_total{kind}`,
//! `reloader_skipped_total{reason}`, plus the process collector (`process_*`).
//!
//! Reloader's other families, with its names, labels and buckets but counted once (Reloader
//! records `reloader_reconcile_total` twice per item) and with what they mean for this engine:
//!
//! | metric | counts here |
//! |---|---|
//! | `reloader_reconcile_total{result}` | one per workload decided: `success` (written), `error` (the write failed for good), `skipped` (nothing to write, or a dry run) |
//! | `reloader_reconcile_duration_seconds{result}` | from a workload's decision to the end of its write |
//! | `reloader_workqueue_depth` | workloads pending in the engine's queue (one entry per workload: triggers coalesce) |
//! | `reloader_workqueue_adds_total` | triggers queued (a trigger for a pending workload joins it and still counts) |
//! | `reloader_workqueue_latency_seconds` | from when a workload became ready (its first trigger, plus `--debounce` if set) to its decision |
//! | `reloader_errors_total{type}` | `handler_error`: a workload write failed for good; `watch_error`: a watch failed (it retries with backoff) |
//! | `reloader_retries_total` | writes decided again: after a 409 conflict, or after a retryable error (transport, 429, 5xx) |
//! | `reloader_events_received_total{event_type,resource_type}` | ConfigMap/Secret/SecretProviderClassPodStatus watch events that reached the engine (`add`, `update`, `delete`); the initial list is a resync, not events, and events of ignored namespaces are dropped before |
//! | `reloader_events_processed_total{event_type,resource_type,result}` | the same events: `success` when they changed the digest (or deleted the source), `dropped` when they changed nothing it covers |
//! | `reloader_workloads_scanned_total{kind}` | workloads decided (the candidates of a change, from the index: this engine never lists per change) |

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
};

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
    queue: QueueMetrics,
}

/// The reconcile, workqueue, error and event families.
#[derive(Clone)]
struct QueueMetrics {
    reconcile_total: IntCounterVec,
    reconcile_duration: HistogramVec,
    workqueue_depth: IntGauge,
    workqueue_adds: IntCounter,
    workqueue_latency: Histogram,
    errors_total: IntCounterVec,
    retries_total: IntCounter,
    events_received: IntCounterVec,
    events_processed: IntCounterVec,
    workloads_scanned: IntCounterVec,
}

const RECONCILE_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
const QUEUE_BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

fn register<T: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    metric: T,
) -> prometheus::Result<T> {
    registry.register(Box::new(metric.clone()))?;
    Ok(metric)
}

impl QueueMetrics {
    fn new(registry: &Registry) -> prometheus::Result<Self> {
        Ok(QueueMetrics {
            reconcile_total: counter_vec(
                registry,
                "reloader_reconcile_total",
                "Total number of reconcile operations.",
                &["result"],
            )?,
            reconcile_duration: register(
                registry,
                HistogramVec::new(
                    HistogramOpts::new(
                        "reloader_reconcile_duration_seconds",
                        "Time spent in reconcile operations.",
                    )
                    .buckets(RECONCILE_BUCKETS.to_vec()),
                    &["result"],
                )?,
            )?,
            workqueue_depth: register(
                registry,
                IntGauge::new("reloader_workqueue_depth", "Current depth of the workqueue.")?,
            )?,
            workqueue_adds: register(
                registry,
                IntCounter::new(
                    "reloader_workqueue_adds_total",
                    "Total number of items added to the workqueue.",
                )?,
            )?,
            workqueue_latency: register(
                registry,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "reloader_workqueue_latency_seconds",
                        "Time an item waits in the workqueue before it is processed.",
                    )
                    .buckets(QUEUE_BUCKETS.to_vec()),
                )?,
            )?,
            errors_total: counter_vec(
                registry,
                "reloader_errors_total",
                "Total number of errors.",
                &["type"],
            )?,
            retries_total: register(
                registry,
                IntCounter::new("reloader_retries_total", "Total number of retries.")?,
            )?,
            events_received: counter_vec(
                registry,
                "reloader_events_received_total",
                "Total number of events received.",
                &["event_type", "resource_type"],
            )?,
            events_processed: counter_vec(
                registry,
                "reloader_events_processed_total",
                "Total number of events processed.",
                &["event_type", "resource_type", "result"],
            )?,
            workloads_scanned: counter_vec(
                registry,
                "reloader_workloads_scanned_total",
                "Total number of workloads scanned.",
                &["kind"],
            )?,
        })
    }
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
            queue: QueueMetrics::new(&registry)?,
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

    /// One workload reconciled: `result` is `success`, `error` or `skipped`.
    pub fn record_reconcile(
        &self,
        kind: &str,
        result: &str,
        seconds: f64,
        queued_seconds: f64,
        depth: usize,
    ) {
        let queue = &self.queue;
        queue.reconcile_total.with_label_values(&[result]).inc();
        queue
            .reconcile_duration
            .with_label_values(&[result])
            .observe(seconds);
        queue.workqueue_latency.observe(queued_seconds);
        queue.workloads_scanned.with_label_values(&[kind]).inc();
        queue
            .workqueue_depth
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
        if result == "error" {
            queue.errors_total.with_label_values(&["handler_error"]).inc();
        }
    }

    /// A trigger queued; `depth` workloads pending now.
    pub fn record_queued(&self, depth: usize) {
        self.queue.workqueue_adds.inc();
        self.queue
            .workqueue_depth
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }

    /// A write decided again (after a conflict or a retryable error).
    pub fn record_retry(&self) {
        self.queue.retries_total.inc();
    }

    /// An error of `kind` (`handler_error`, `watch_error`) outside a reconcile.
    pub fn record_error(&self, kind: &str) {
        self.queue.errors_total.with_label_values(&[kind]).inc();
    }

    /// A source event received and processed (`success`) or dropped (`dropped`).
    pub fn record_source_event(&self, event_type: &str, resource_type: &str, result: &str) {
        self.queue
            .events_received
            .with_label_values(&[event_type, resource_type])
            .inc();
        self.queue
            .events_processed
            .with_label_values(&[event_type, resource_type, result])
            .inc();
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
    fn reconciles_count_once_under_reloaders_families() {
        let metrics = Metrics::new(false).unwrap();
        metrics.record_queued(1);
        metrics.record_reconcile("Deployment", "success", 0.02, 0.003, 0);
        metrics.record_reconcile("Deployment", "error", 0.02, 0.003, 0);
        metrics.record_retry();
        metrics.record_source_event("update", "configmaps", "success");
        let text = metrics.render();
        for line in [
            "reloader_reconcile_total{result=\"success\"} 1",
            "reloader_reconcile_total{result=\"error\"} 1",
            "reloader_reconcile_duration_seconds_bucket{result=\"success\",le=\"0.025\"} 1",
            "reloader_workqueue_adds_total 1",
            "reloader_workqueue_depth 0",
            "reloader_workqueue_latency_seconds_bucket{le=\"0.005\"} 2",
            "reloader_errors_total{type=\"handler_error\"} 1",
            "reloader_retries_total 1",
            "reloader_workloads_scanned_total{kind=\"Deployment\"} 2",
            "reloader_events_received_total{event_type=\"update\",resource_type=\"configmaps\"} 1",
            "reloader_events_processed_total{event_type=\"update\",resource_type=\"configmaps\",result=\"success\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in {text}");
        }
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
