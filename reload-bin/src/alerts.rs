//! Reloader's `ALERT_ON_RELOAD` sinks (slack, teams, gchat, raw), with Reloader's payloads (`reloader-spec.md` §6.6–6.7).
//!
//! Sending never blocks the reload path: messages go through a bounded queue to one background
//! task; when the queue is full the alert is dropped with a warning (reloads are never held up by
//! a slow chat service). Each alert is tried up to three times on transport errors; redirects are
//! refused as in Reloader.

use std::time::Duration;

use tokio::sync::mpsc;
use tracing::warn;

use crate::cli::settings::AlertSettings;

/// Which chat service the alert goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    /// Slack incoming webhook.
    Slack,
    /// Microsoft Teams.
    Teams,
    /// Google Chat.
    GChat,
    /// Plain text POST (anything else, as in Reloader).
    Raw,
}

impl Sink {
    /// Reloader's `ALERT_SINK` reading: lower-cased, trimmed; unknown means raw.
    pub fn from_setting(value: &str) -> Self {
        match value.trim().to_ascii_lowercase().as_str() {
            "slack" => Sink::Slack,
            "teams" => Sink::Teams,
            "gchat" => Sink::GChat,
            _ => Sink::Raw,
        }
    }
}

/// The alert text for one reload.
pub fn reload_message(
    additional_info: Option<&str>,
    source_name: &str,
    source_type: &str,
    namespace: &str,
    workload_name: &str,
    workload_kind: &str,
) -> String {
    let message = format!(
        "Reloader detected changes in *{source_name}* of type *{source_type}* in namespace *{namespace}*. Hence reloaded *{workload_name}* of type *{workload_kind}* in namespace *{namespace}*"
    );
    match additional_info {
        Some(info) => format!("{info} : {message}"),
        None => message,
    }
}

/// The request body and content type for `sink`.
pub fn payload(sink: Sink, message: &str) -> (&'static str, String) {
    match sink {
        Sink::Slack => {
            let attachment = SlackAttachment {
                color: "good",
                author_name: "Reloader",
                text: message,
            };
            let body = serde_json::to_string(&SlackMessage {
                attachments: [attachment],
            })
            .unwrap_or_default();
            ("application/json", body)
        }
        Sink::Teams | Sink::GChat => (
            "application/json",
            serde_json::json!({"text": message}).to_string(),
        ),
        Sink::Raw => ("text/plain", message.replace('*', "")),
    }
}

/// Slack's body, fields in Reloader's order.
#[derive(serde::Serialize)]
struct SlackMessage<'a> {
    attachments: [SlackAttachment<'a>; 1],
}

#[derive(serde::Serialize)]
struct SlackAttachment<'a> {
    color: &'a str,
    author_name: &'a str,
    text: &'a str,
}

/// Whether the sink's answer counts as delivered (Reloader's per-sink rule).
pub fn accepted(sink: Sink, status: u16) -> bool {
    match sink {
        Sink::Slack | Sink::Raw => status < 400,
        Sink::Teams | Sink::GChat => status == 200,
    }
}

/// Builds the HTTP client: optional proxy, no redirects, bounded timeouts.
pub fn http_client(proxy: Option<&str>) -> reqwest::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10));
    if let Some(proxy) = proxy {
        builder = builder.proxy(reqwest::Proxy::all(proxy)?);
    }
    builder.build()
}

/// Sends alerts in the background.
#[derive(Clone)]
pub struct Alerter {
    queue: mpsc::Sender<String>,
    additional_info: Option<String>,
}

impl Alerter {
    /// Starts the background sender for `settings`.
    pub fn start(settings: &AlertSettings) -> reqwest::Result<Self> {
        let client = http_client(settings.proxy.as_deref())?;
        let sink = Sink::from_setting(&settings.sink);
        let url = settings.webhook_url.clone();
        let (queue, mut receiver) = mpsc::channel::<String>(256);
        tokio::spawn(async move {
            while let Some(message) = receiver.recv().await {
                if let Err(error) = deliver(&client, sink, &url, &message).await {
                    warn!("Error sending alert: {error}");
                }
            }
        });
        Ok(Alerter {
            queue,
            additional_info: settings.additional_info.clone(),
        })
    }

    /// Queues the alert for one reload; never waits.
    pub fn reloaded(
        &self,
        source_name: &str,
        source_type: &str,
        namespace: &str,
        workload: &str,
        kind: &str,
    ) {
        let message = reload_message(
            self.additional_info.as_deref(),
            source_name,
            source_type,
            namespace,
            workload,
            kind,
        );
        if self.queue.try_send(message).is_err() {
            warn!("Error sending alert: alert queue full, alert dropped");
        }
    }
}

/// Posts one alert, retrying transport errors up to three times.
pub async fn deliver(client: &reqwest::Client, sink: Sink, url: &str, message: &str) -> Result<(), String> {
    if url.is_empty() {
        return Err("ALERT_WEBHOOK_URL env variable not provided".into());
    }
    let (content_type, body) = payload(sink, message);
    let mut last_error = String::new();
    for attempt in 0..3u32 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
        }
        match client
            .post(url)
            .header("Content-Type", content_type)
            .body(body.clone())
            .send()
            .await
        {
            Ok(response) if response.status().is_redirection() => {
                return Err("incorrect token (redirection)".into());
            }
            Ok(response) if accepted(sink, response.status().as_u16()) => return Ok(()),
            Ok(response) => return Err(format!("alert sink answered {}", response.status())),
            Err(error) => last_error = without_url(&error),
        }
    }
    Err(last_error)
}

/// A transport error's text without the URL (webhook URLs carry tokens).
fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), "<alert webhook>");
    }
    text
}

#[cfg(test)]
mod tests;
