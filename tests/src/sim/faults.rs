//! Fault injection: failing the next N matching requests, added latency.

use std::sync::Mutex;
use std::time::Duration;

use serde::Deserialize;

use super::error::ApiError;

/// "Make the next `count` requests matching `verb`/`resource` fail with `status`."
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FailureRule {
    /// Kubernetes verb to match (`None`: any).
    #[serde(default)]
    pub verb: Option<String>,
    /// Plural resource to match (`None`: any).
    #[serde(default)]
    pub resource: Option<String>,
    /// How many requests fail.
    pub count: u32,
    /// HTTP status to answer (500, 503, 429, 409, ...).
    pub status: u16,
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
            count,
            status,
            retry_after_seconds: None,
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

    /// Sends `Retry-After: secs`.
    #[must_use]
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_seconds = Some(secs);
        self
    }

    fn matches(&self, verb: &str, resource: &str) -> bool {
        self.verb.as_deref().is_none_or(|v| v == verb)
            && self.resource.as_deref().is_none_or(|r| r == resource)
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

/// Active faults.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<FailureRule>>,
    latency: Mutex<Duration>,
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

    /// The latency to add.
    pub fn latency(&self) -> Duration {
        self.latency.lock().map(|l| *l).unwrap_or_default()
    }

    /// Removes every rule and the latency.
    pub fn clear(&self) {
        if let Ok(mut r) = self.rules.lock() {
            r.clear();
        }
        self.set_latency(Duration::ZERO);
    }

    /// Consumes one matching rule, returning the error to answer, if any.
    pub fn take(&self, verb: &str, resource: &str) -> Option<ApiError> {
        let mut rules = self.rules.lock().ok()?;
        let idx = rules
            .iter()
            .position(|r| r.count > 0 && r.matches(verb, resource))?;
        let rule = &mut rules[idx];
        rule.count -= 1;
        let err = rule.error();
        if rule.count == 0 {
            rules.remove(idx);
        }
        Some(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_fails_exactly_its_count_of_matching_requests() {
        let f = Faults::default();
        f.fail(FailureRule::new(503, 2).verb("patch").resource("deployments"));
        assert!(f.take("get", "deployments").is_none());
        assert_eq!(f.take("patch", "deployments").map(|e| e.code), Some(503));
        assert_eq!(
            f.take("patch", "deployments").map(|e| e.reason),
            Some("ServiceUnavailable")
        );
        assert!(f.take("patch", "deployments").is_none());
    }
}
