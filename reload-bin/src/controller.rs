//! `reloader run`: composes the library pieces into the controller process — client, HTTP
//! endpoints, Event publisher, alerts, leader election, and the engine — and shuts them down
//! on SIGTERM/SIGINT.

use std::sync::Arc;

use anyhow::Context as _;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use reload_core::engine::{CacheStats, Engine};
use reload_core::hash::ReloaderHasher;
use reload_core::{Hasher, WorkloadKind, WorkloadRef};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::alerts::Alerter;
use crate::cli::settings::Settings;
use crate::ha::{ElectionConfig, ElectionOutcome, LeaderElector};
use crate::http::{self, Health};
use crate::metrics::Metrics;
use crate::observe::{Effector, WorkloadEvent};
use crate::webhook::Webhook;
use crate::{compose, hash_cmd, meta_info};

/// Connects to the cluster named by the usual kubeconfig rules and checks it answers, so a
/// kubeconfig pointing nowhere fails at start-up with a message naming the server.
pub(crate) async fn connect() -> anyhow::Result<kube::Client> {
    let config = kube::Config::infer()
        .await
        .map_err(|e| anyhow::anyhow!("Unable to create Kubernetes client error = {e}"))?;
    let server = config.cluster_url.clone();
    let client = kube::Client::try_from(config)
        .map_err(|e| anyhow::anyhow!("Unable to create Kubernetes client error = {e}"))?;
    let version = client
        .apiserver_version()
        .await
        .with_context(|| format!("cannot reach the Kubernetes API server at {server}"))?;
    info!(
        "Connected to the Kubernetes API server at {server} (version {}.{})",
        version.major, version.minor
    );
    Ok(client)
}

/// Cancels `token` on SIGTERM or SIGINT.
fn cancel_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(error) => {
                    warn!("cannot listen for SIGTERM: {error}");
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::select! {
            () = terminate => info!("SIGTERM received, shutting down"),
            _ = tokio::signal::ctrl_c() => info!("SIGINT received, shutting down"),
        }
        token.cancel();
    });
}

/// The object reference of a workload, for Events.
fn object_reference(workload: &WorkloadRef) -> ObjectReference {
    let api_version = match workload.kind {
        WorkloadKind::Deployment | WorkloadKind::DaemonSet | WorkloadKind::StatefulSet => "apps/v1",
        WorkloadKind::CronJob | WorkloadKind::Job => "batch/v1",
        WorkloadKind::Rollout => "argoproj.io/v1alpha1",
        _ => "v1",
    };
    ObjectReference {
        api_version: Some(api_version.to_owned()),
        kind: Some(workload.kind.to_string()),
        name: Some(workload.name.clone()),
        namespace: Some(workload.namespace.clone()),
        ..ObjectReference::default()
    }
}

/// Publishes Events from a queue with one long-lived Recorder (it merges repeats into series).
fn spawn_event_publisher(client: kube::Client, instance: Option<String>) -> mpsc::Sender<WorkloadEvent> {
    let recorder = Recorder::new(
        client,
        Reporter {
            controller: "reloader".to_owned(),
            instance,
        },
    );
    let (sender, mut queue) = mpsc::channel::<WorkloadEvent>(1024);
    tokio::spawn(async move {
        while let Some(event) = queue.recv().await {
            let published = recorder
                .publish(
                    &Event {
                        type_: if event.warning {
                            EventType::Warning
                        } else {
                            EventType::Normal
                        },
                        reason: event.reason.to_owned(),
                        note: Some(event.note),
                        action: "Reload".to_owned(),
                        secondary: None,
                    },
                    &object_reference(&event.workload),
                )
                .await;
            if let Err(error) = published {
                warn!("could not publish an Event on {}: {error}", event.workload);
            }
        }
    });
    sender
}

/// Runs the controller until SIGTERM/SIGINT (or lost leadership in HA mode).
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let client = connect().await?;
    let token = CancellationToken::new();
    cancel_on_signal(token.clone());

    let metrics = Metrics::new(settings.metrics_by_namespace)?;
    let health = Arc::new(Health::default());
    let cache_stats = settings.debug_endpoints.then(CacheStats::default);
    let debug_cache: Option<http::DebugCache> = cache_stats.clone().map(|stats| {
        let produce: http::DebugCache =
            Arc::new(move || serde_json::to_value(stats.snapshot()).unwrap_or_default());
        produce
    });
    let (addr, server) = http::serve(
        settings.http_addr,
        http::router(metrics.clone(), health.clone(), debug_cache),
        token.clone().cancelled_owned(),
    )
    .await
    .with_context(|| format!("cannot listen on --http-addr {}", settings.http_addr))?;
    info!("Serving /metrics, /live and /ready on {addr}");

    meta_info::publish(client.clone(), &settings).await;
    let instance = settings.ha.as_ref().map(|ha| ha.pod_name.clone());
    let events = spawn_event_publisher(client.clone(), instance);
    let alerter = settings
        .alerts
        .as_ref()
        .map(Alerter::start)
        .transpose()
        .context("cannot set up alerts")?;
    let webhook = settings
        .webhook_url
        .clone()
        .map(Webhook::start)
        .transpose()
        .context("cannot set up --webhook-url")?;
    let hasher: Arc<dyn Hasher> = match &settings.hash_key_file {
        Some(path) => Arc::new(hash_cmd::read_hash_key(path)?),
        None => Arc::new(ReloaderHasher),
    };
    let engine = Engine::new(
        compose::engine_config(&settings),
        Arc::new(compose::matcher(&settings)),
        compose::strategy(&settings),
        hasher,
    )
    .observer(Arc::new(
        Effector::new(metrics, health.clone(), Some(events), alerter).webhook(webhook),
    ));
    let engine = match cache_stats {
        Some(stats) => engine.cache_stats(stats),
        None => engine,
    };

    match &settings.ha {
        None => engine.run(client, token.clone().cancelled_owned()).await?,
        Some(identity) => {
            let config = ElectionConfig::new(identity.pod_namespace.clone(), identity.pod_name.clone())
                .lease_name(identity.lease_name.clone())
                .lease_duration(identity.lease_duration)
                .renew_deadline(identity.renew_deadline)
                .retry_period(identity.retry_period)
                .release_on_cancel(identity.release_on_cancel);
            run_warm_standby(engine, client, config, &health, &token).await?;
        }
    }
    token.cancel();
    server.await.context("HTTP server task")?.context("HTTP server")?;
    Ok(())
}

/// HA with warm standbys: the engine runs on every replica from the start (watches, caches,
/// index and queue stay warm, `/ready` turns 200 once they synced), but its write gate is this
/// replica's leadership, so only the leader writes. A takeover decides what was queued
/// against the current state, with no re-list. Losing leadership closes the gate at once;
/// then, as in Reloader, `/live` answers 500 and the process exits so the pod restarts.
async fn run_warm_standby(
    engine: Engine,
    client: kube::Client,
    config: ElectionConfig,
    health: &Health,
    token: &CancellationToken,
) -> anyhow::Result<()> {
    let elector = LeaderElector::new(client.clone(), config).context("invalid leader election settings")?;
    let mut leading = elector.subscribe();
    let engine = engine.write_gate(leading.clone());
    let election = tokio::spawn(elector.run(token.clone().cancelled_owned()));
    let lost = async {
        if leading.wait_for(|leader| *leader).await.is_err() {
            // The elector stopped without ever leading (shutdown): nothing was lost.
            std::future::pending::<()>().await;
        }
        // Resolves when leadership ends (or the elector stops).
        let _ = leading.wait_for(|leader| !*leader).await;
    };
    tokio::select! {
        result = engine.run(client, token.clone().cancelled_owned()) => result?,
        () = lost => {
            // The engine's gate closed with the same change; dropping the engine abandons any
            // write still in flight.
            health.set_dead();
            token.cancel();
        }
    }
    token.cancel();
    match election.await.context("leader election task")? {
        ElectionOutcome::LostLeadership => {
            health.set_dead();
            warn!("leadership lost; exiting so the pod restarts");
        }
        ElectionOutcome::ShutDown { .. } => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_reference_workloads_by_their_api_group() {
        let reference = object_reference(&WorkloadRef::new(WorkloadKind::StatefulSet, "ns", "db"));
        assert_eq!(reference.api_version.as_deref(), Some("apps/v1"));
        assert_eq!(reference.kind.as_deref(), Some("StatefulSet"));
        assert_eq!(reference.namespace.as_deref(), Some("ns"));
        let reference = object_reference(&WorkloadRef::new(WorkloadKind::CronJob, "ns", "nightly"));
        assert_eq!(reference.api_version.as_deref(), Some("batch/v1"));
    }
}
