//! Fault injection: failing the next N matching requests (with an HTTP status, or by cutting
//! the connection without an answer), added latency; either for every client or for one
//! authenticated user (a stalled or partitioned replica). Refusing every connection for a
//! while and cutting watches are faults of the server itself ([`super::Simulator`]).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::Deserialize;

use super::error::ApiError;

/// "Make the next `count` requests matching `verb`/`resource` fail with `status`", or, with
/// `reset`, "cut their connection without an answer".
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FailureRule {
    /// Kubernetes verb to match (`None`: any).
    #[serde(default)]
    pub verb: Option<String>,
    /// Plural resource to match (`None`: any).
    #[serde(default)]
    pub resource: Option<String>,
    /// Authenticated user to match (`None`: any; see `Authorizer::user_name`).
    #[serde(default)]
    pub user: Option<String>,
    /// Object name to match (`None`: any): the name in the URL, or for a create the body's
    /// `metadata.name`.
    #[serde(default)]
    pub name: Option<String>,
    /// How many requests fail.
    pub count: u32,
    /// HTTP status to answer (500, 503, 429, 409, ...); ignored with `reset`.
    #[serde(default)]
    pub status: u16,
    /// Cut the connection instead of answering: the request is read but never applied, and
    /// the client sees its connection closed before a response (a transport error).
    #[serde(default)]
    pub reset: bool,
    /// `Retry-After` seconds (sent with 429/503 when set).
    #[serde(default)]
    pub retry_after_seconds: Option<u64>,
}

impl FailureRule {
    /// Fails the next `count` requests with `status`, whatever their verb and resource.
    pub fn new(status: u16, count: u32) -> Self {
        Self {
            verb: None,
            resource: None,
            user: None,
            name: None,
            count,
            status,
            reset: false,
            retry_after_seconds: None,
        }
    }

    /// Cuts the connection of the next `count` requests, whatever their verb and resource,
    /// before they are applied: the client gets no answer (a transport error, as a connection
    /// reset by a dying API server or a proxy).
    pub fn reset(count: u32) -> Self {
        Self {
            reset: true,
            ..Self::new(0, count)
        }
    }

    /// Only for this verb.
    #[must_use]
    pub fn verb(mut self, verb: &str) -> Self {
        self.verb = Some(verb.to_string());
        self
    }

    /// Only for this plural resource.
    #[must_use]
    pub fn resource(mut self, resource: &str) -> Self {
        self.resource = Some(resource.to_string());
        self
    }

    /// Only for requests of this authenticated user.
    #[must_use]
    pub fn user(mut self, user: &str) -> Self {
        self.user = Some(user.to_string());
        self
    }

    /// Only for requests on the object of this name (a create: the name in its body).
    #[must_use]
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }

    /// Sends `Retry-After: secs`.
    #[must_use]
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_seconds = Some(secs);
        self
    }

    fn matches(&self, verb: &str, resource: &str, user: &str, name: &str) -> bool {
        self.verb.as_deref().is_none_or(|v| v == verb)
            && self.resource.as_deref().is_none_or(|r| r == resource)
            && self.user.as_deref().is_none_or(|u| u == user)
            && self.name.as_deref().is_none_or(|n| n == name)
    }

    fn injected(&self) -> Injected {
        if self.reset {
            Injected::Reset
        } else {
            Injected::Error(self.error())
        }
    }

    fn error(&self) -> ApiError {
        let reason = ApiError::reason_for_code(self.status);
        let mut e = ApiError::new(
            self.status,
            reason,
            format!("injected fault: {} {reason}", self.status),
        );
        e.retry_after = self.retry_after_seconds;
        e
    }
}

/// What a matching [`FailureRule`] does to a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Injected {
    /// Answer with this error.
    Error(ApiError),
    /// Cut the connection without an answer.
    Reset,
}

impl Injected {
    /// The HTTP status answered (0 for a reset).
    pub fn code(&self) -> u16 {
        match self {
            Injected::Error(e) => e.code,
            Injected::Reset => 0,
        }
    }
}

/// Active faults.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<FailureRule>>,
    latency: Mutex<Duration>,
    user_latency: Mutex<BTreeMap<String, Duration>>,
}

impl Faults {
    /// Adds a failure rule.
    pub fn fail(&self, rule: FailureRule) {
        if let Ok(mut r) = self.rules.lock() {
            r.push(rule);
        }
    }

    /// Sets the latency added to every API response (zero to remove).
    pub fn set_latency(&self, latency: Duration) {
        if let Ok(mut l) = self.latency.lock() {
            *l = latency;
        }
    }

    /// Sets the latency added to every API request of `user` (zero to remove): the
    /// simulator waits before reading the store, so a request whose client gives up (closes the
    /// connection) while it waits is never committed, as with a network partition.
    pub fn set_user_latency(&self, user: &str, latency: Duration) {
        if let Ok(mut l) = self.user_latency.lock() {
            if latency.is_zero() {
                l.remove(user);
            } else {
                l.insert(user.to_string(), latency);
            }
        }
    }

    /// The latency to add to every request.
    pub fn latency(&self) -> Duration {
        self.latency.lock().map(|l| *l).unwrap_or_default()
    }

    /// The latency to add to a request of `user`: the larger of the global one and `user`'s.
    pub fn latency_for(&self, user: &str) -> Duration {
        let own = self
            .user_latency
            .lock()
            .ok()
            .and_then(|l| l.get(user).copied())
            .unwrap_or_default();
        own.max(self.latency())
    }

    /// Removes every rule and every latency.
    pub fn clear(&self) {
        if let Ok(mut r) = self.rules.lock() {
            r.clear();
        }
        if let Ok(mut l) = self.user_latency.lock() {
            l.clear();
        }
        self.set_latency(Duration::ZERO);
    }

    /// Consumes one rule matching a request of `user` (on no named object), returning what to
    /// do instead of serving it, if anything.
    pub fn take(&self, verb: &str, resource: &str, user: &str) -> Option<Injected> {
        self.take_named(verb, resource, user, "")
    }

    /// Consumes one rule matching a request of `user` on the object `name`, returning what
    /// to do instead of serving it, if anything.
    pub fn take_named(&self, verb: &str, resource: &str, user: &str, name: &str) -> Option<Injected> {
        let mut rules = self.rules.lock().ok()?;
        let idx = rules
            .iter()
            .position(|r| r.count > 0 && r.matches(verb, resource, user, name))?;
        let rule = &mut rules[idx];
        rule.count -= 1;
        let injected = rule.injected();
        if rule.count == 0 {
            rules.remove(idx);
        }
        Some(injected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_fails_exactly_its_count_of_matching_requests() {
        let f = Faults::default();
        f.fail(FailureRule::new(503, 2).verb("patch").resource("deployments"));
        assert!(f.take("get", "deployments", "u").is_none());
        assert_eq!(f.take("patch", "deployments", "u").map(|e| e.code()), Some(503));
        assert!(matches!(
            f.take("patch", "deployments", "v"),
            Some(Injected::Error(e)) if e.reason == "ServiceUnavailable"
        ));
        assert!(f.take("patch", "deployments", "u").is_none());
    }

    #[test]
    fn a_rule_for_one_name_fails_only_requests_on_that_object() {
        let f = Faults::default();
        f.fail(FailureRule::new(500, 1).verb("create").name("copy"));
        assert!(f.take_named("create", "jobs", "u", "holder").is_none());
        assert!(f.take("create", "jobs", "u").is_none());
        assert_eq!(
            f.take_named("create", "jobs", "u", "copy").map(|e| e.code()),
            Some(500)
        );
        assert!(f.take_named("create", "jobs", "u", "copy").is_none());
    }

    #[test]
    fn a_rule_for_one_user_fails_only_that_users_requests() {
        let f = Faults::default();
        f.fail(FailureRule::new(500, 1).user("stalled"));
        assert!(f.take("patch", "deployments", "healthy").is_none());
        assert_eq!(
            f.take("patch", "deployments", "stalled").map(|e| e.code()),
            Some(500)
        );
        assert!(f.take("patch", "deployments", "stalled").is_none());
    }

    #[test]
    fn a_reset_rule_cuts_exactly_its_count_of_matching_requests() {
        let f = Faults::default();
        f.fail(
            FailureRule::reset(2)
                .verb("patch")
                .resource("deployments")
                .name("d-1"),
        );
        assert!(f.take_named("patch", "deployments", "u", "d-2").is_none());
        assert!(f.take_named("get", "deployments", "u", "d-1").is_none());
        for _ in 0..2 {
            assert_eq!(
                f.take_named("patch", "deployments", "u", "d-1"),
                Some(Injected::Reset)
            );
        }
        assert!(f.take_named("patch", "deployments", "u", "d-1").is_none());
    }

    #[test]
    fn a_reset_rule_reads_from_json_without_a_status() {
        let rule: FailureRule =
            serde_json::from_str(r#"{"verb":"patch","resource":"deployments","count":3,"reset":true}"#)
                .expect("parses");
        assert_eq!(rule, FailureRule::reset(3).verb("patch").resource("deployments"));
    }

    #[test]
    fn a_latency_for_one_user_delays_only_that_user_until_cleared() {
        let f = Faults::default();
        f.set_user_latency("stalled", Duration::from_secs(5));
        assert_eq!(f.latency_for("stalled"), Duration::from_secs(5));
        assert_eq!(f.latency_for("healthy"), Duration::ZERO);
        f.set_latency(Duration::from_secs(1));
        assert_eq!(f.latency_for("healthy"), Duration::from_secs(1));
        assert_eq!(
            f.latency_for("stalled"),
            Duration::from_secs(5),
            "the larger one applies"
        );
        f.set_user_latency("stalled", Duration::ZERO);
        assert_eq!(f.latency_for("stalled"), Duration::from_secs(1));
        f.set_user_latency("stalled", Duration::from_secs(5));
        f.clear();
        assert_eq!(f.latency_for("stalled"), Duration::ZERO);
    }
}
