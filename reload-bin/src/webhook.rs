//! Reloader's `--webhook-url` mode (`reloader-spec.md` §6.6): no workload is reloaded; each
//! qualifying source change POSTs `{"webhook":"update successful"}` (as `application/json`) to
//! the URL instead.
//!
//! Sending never blocks the engine: changes go through a bounded queue to one background task.
//! Transport errors are retried (three attempts in all, as Reloader's queue retries them); the
//! HTTP status is ignored, as in Reloader, and the response body is logged at info.

use std::time::Duration;

use reload_core::SourceRef;
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::alerts::http_client;

/// The body Reloader posts.
pub const BODY: &str = r#"{"webhook":"update successful"}"#;

/// How many times one change is tried on transport errors.
const ATTEMPTS: u32 = 3;

/// Reloader's log line for one change in webhook mode.
pub fn log_line(source: &SourceRef, url: &str) -> String {
    format!(
        "Changes detected in '{}' of type '{}' in namespace '{}', Sending webhook to '{}'",
        source.name,
        source.kind.reloader_type(),
        source.namespace,
        url
    )
}

/// Posts webhooks in the background.
#[derive(Clone)]
pub struct Webhook {
    url: String,
    queue: mpsc::Sender<SourceRef>,
}

impl Webhook {
    /// Starts the background sender for `url`.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn start(url: String) -> reqwest::Result<Self> {
        let client = http_client(None)?;
        let (queue, mut receiver) = mpsc::channel::<SourceRef>(1024);
        let target = url.clone();
        tokio::spawn(async move {
            while let Some(source) = receiver.recv().await {
                match deliver(&client, &target).await {
                    Ok(body) => info!("{body}"),
                    Err(error) => warn!("Sending webhook for '{}' failed: {error}", source.name),
                }
            }
        });
        Ok(Webhook { url, queue })
    }

    /// Logs Reloader's line and queues the POST for one change; never waits.
    pub fn changed(&self, source: &SourceRef) {
        info!("{}", log_line(source, &self.url));
        if self.queue.try_send(source.clone()).is_err() {
            warn!(
                "webhook queue full: the webhook for '{}' was dropped",
                source.name
            );
        }
    }
}

/// POSTs [`BODY`] to `url`, retrying transport errors; returns the response body.
///
/// # Errors
/// The last transport error after [`ATTEMPTS`] tries.
pub async fn deliver(client: &reqwest::Client, url: &str) -> Result<String, String> {
    let mut last_error = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
        }
        match client
            .post(url)
            .header("Content-Type", "application/json")
            .body(BODY)
            .send()
            .await
        {
            Ok(response) => return Ok(response.text().await.unwrap_or_default()),
            Err(error) => last_error = error.to_string(),
        }
    }
    Err(last_error)
}

#[cfg(test)]
mod tests {
    use reload_core::SourceKind;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    #[test]
    fn the_log_line_is_reloaders() {
        let source = SourceRef::new(SourceKind::Secret, "a", "db");
        assert_eq!(
            log_line(&source, "http://127.0.0.1:1/hook"),
            "Changes detected in 'db' of type 'SECRET' in namespace 'a', Sending webhook to 'http://127.0.0.1:1/hook'"
        );
    }

    #[tokio::test]
    async fn a_change_posts_reloaders_body_as_json_and_returns_the_answer() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accept");
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            while !String::from_utf8_lossy(&request).contains(BODY) {
                let n = socket.read(&mut buffer).await.expect("read");
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buffer[..n]);
            }
            socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
                .await
                .expect("write");
            String::from_utf8_lossy(&request).into_owned()
        });
        let client = http_client(None).expect("client");
        let answer = deliver(&client, &format!("http://{addr}/hook")).await;
        assert_eq!(answer, Ok("ok".to_owned()));
        let request = server.await.expect("server");
        assert!(request.starts_with("POST /hook "), "{request}");
        assert!(
            request
                .to_ascii_lowercase()
                .contains("content-type: application/json"),
            "{request}"
        );
        assert!(request.ends_with(BODY), "{request}");
    }

    #[tokio::test]
    async fn a_dead_receiver_fails_after_bounded_attempts() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let client = http_client(None).expect("client");
        assert!(deliver(&client, &format!("http://{addr}/hook")).await.is_err());
    }
}
