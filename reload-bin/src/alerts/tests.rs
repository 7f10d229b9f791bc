use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;

use super::*;

#[test]
fn message_is_reloaders_text_with_optional_prefix() {
    assert_eq!(
        reload_message(None, "cm", "CONFIGMAP", "ns", "app", "Deployment"),
        "Reloader detected changes in *cm* of type *CONFIGMAP* in namespace *ns*. Hence reloaded *app* of type *Deployment* in namespace *ns*"
    );
    assert!(
        reload_message(Some("prod-eu"), "cm", "CONFIGMAP", "ns", "app", "Deployment")
            .starts_with("prod-eu : Reloader detected")
    );
}

#[test]
fn payloads_match_each_sink() {
    assert_eq!(
        payload(Sink::Slack, "m").1,
        r#"{"attachments":[{"color":"good","author_name":"Reloader","text":"m"}]}"#
    );
    assert_eq!(
        payload(Sink::Teams, "m"),
        ("application/json", r#"{"text":"m"}"#.to_owned())
    );
    assert_eq!(
        payload(Sink::GChat, "m"),
        ("application/json", r#"{"text":"m"}"#.to_owned())
    );
    assert_eq!(payload(Sink::Raw, "*a* b"), ("text/plain", "a b".to_owned()));
}

#[test]
fn sink_setting_is_trimmed_lowercased_and_defaults_to_raw() {
    assert_eq!(Sink::from_setting(" Slack "), Sink::Slack);
    assert_eq!(Sink::from_setting("webhook"), Sink::Raw);
    assert_eq!(Sink::from_setting(""), Sink::Raw);
}

#[test]
fn acceptance_follows_reloaders_per_sink_rules() {
    assert!(accepted(Sink::Slack, 204) && !accepted(Sink::Slack, 400));
    assert!(accepted(Sink::Teams, 200) && !accepted(Sink::Teams, 202));
    assert!(accepted(Sink::Raw, 302) && !accepted(Sink::Raw, 500));
}

type Received = Arc<Mutex<Vec<(String, String)>>>;

async fn receiver(status: StatusCode) -> (String, Received) {
    let received: Received = Arc::default();
    let store = received.clone();
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: String| {
            let store = store.clone();
            async move {
                let content_type = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                store.lock().unwrap().push((content_type, body));
                status
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

#[tokio::test]
async fn slack_alert_reaches_a_local_receiver_as_json() {
    let (url, received) = receiver(StatusCode::OK).await;
    let client = http_client(None).unwrap();
    deliver(&client, Sink::Slack, &url, "hello *x*").await.unwrap();
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "application/json");
    assert_eq!(
        got[0].1,
        r#"{"attachments":[{"color":"good","author_name":"Reloader","text":"hello *x*"}]}"#
    );
}

#[tokio::test]
async fn raw_alert_is_plain_text_without_stars() {
    let (url, received) = receiver(StatusCode::OK).await;
    deliver(&http_client(None).unwrap(), Sink::Raw, &url, "hello *x*")
        .await
        .unwrap();
    assert_eq!(
        received.lock().unwrap()[0],
        ("text/plain".to_owned(), "hello x".to_owned())
    );
}

#[tokio::test]
async fn teams_alert_fails_when_the_sink_does_not_answer_200() {
    let (url, received) = receiver(StatusCode::ACCEPTED).await;
    let error = deliver(&http_client(None).unwrap(), Sink::Teams, &url, "m")
        .await
        .unwrap_err();
    assert!(error.contains("202"), "{error}");
    assert_eq!(
        received.lock().unwrap().len(),
        1,
        "status failures are not retried"
    );
}

#[tokio::test]
async fn redirects_are_refused() {
    let app = Router::new().route(
        "/hook",
        post(|| async { (StatusCode::FOUND, [("location", "http://127.0.0.1:9/x")]) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let error = deliver(&http_client(None).unwrap(), Sink::Slack, &url, "m")
        .await
        .unwrap_err();
    assert_eq!(error, "incorrect token (redirection)");
}

#[tokio::test]
async fn transport_errors_do_not_reveal_the_webhook_url() {
    // Port 9 on loopback (discard) is closed here: the connection is refused.
    let url = "http://127.0.0.1:9/services/T0KEN";
    let error = deliver(&http_client(None).unwrap(), Sink::Slack, url, "m")
        .await
        .unwrap_err();
    assert!(!error.contains("T0KEN"), "{error}");
}
