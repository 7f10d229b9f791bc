//! Token buckets for the client-side write limit and the optional rollout limits.
//!
//! Time comes from `tokio::time::Instant`, so tests drive it with a paused clock.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use super::config::Rate;

/// A token bucket: starts full, refills `rate.per_second` tokens per second, up to `rate.burst`.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: Rate,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn new(rate: Rate, now: Instant) -> Self {
        TokenBucket {
            rate,
            tokens: f64::from(rate.burst.max(1)),
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate.per_second).min(f64::from(self.rate.burst.max(1)));
        self.last = now;
    }

    /// How long until a token is available (zero if one is available now).
    pub fn wait_time(&mut self, now: Instant) -> Duration {
        self.refill(now);
        if self.tokens >= 1.0 {
            return Duration::ZERO;
        }
        if self.rate.per_second <= 0.0 {
            return Duration::from_secs(3600);
        }
        Duration::from_secs_f64((1.0 - self.tokens) / self.rate.per_second)
    }

    /// Takes a token if one is available now.
    pub fn try_take(&mut self, now: Instant) -> bool {
        if self.wait_time(now).is_zero() {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The optional global and per-namespace rollout limits.
#[derive(Debug, Default)]
pub struct RolloutLimiter {
    global: Option<TokenBucket>,
    per_namespace: Option<Rate>,
    namespaces: HashMap<String, TokenBucket>,
}

impl RolloutLimiter {
    /// A limiter with the given rates (both optional).
    pub fn new(global: Option<Rate>, per_namespace: Option<Rate>, now: Instant) -> Self {
        RolloutLimiter {
            global: global.map(|r| TokenBucket::new(r, now)),
            per_namespace,
            namespaces: HashMap::new(),
        }
    }

    /// Takes one rollout token for `namespace` from both buckets, or returns how long to wait
    /// (then nothing is taken).
    pub fn acquire(&mut self, namespace: &str, now: Instant) -> Result<(), Duration> {
        let mut wait = self.global.as_mut().map_or(Duration::ZERO, |b| b.wait_time(now));
        if let Some(rate) = self.per_namespace {
            let bucket = self
                .namespaces
                .entry(namespace.to_owned())
                .or_insert_with(|| TokenBucket::new(rate, now));
            wait = wait.max(bucket.wait_time(now));
        }
        if !wait.is_zero() {
            return Err(wait);
        }
        if let Some(b) = self.global.as_mut() {
            b.try_take(now);
        }
        if let Some(b) = self.namespaces.get_mut(namespace) {
            b.try_take(now);
        }
        Ok(())
    }
}

/// A write limiter shared by concurrent writes.
#[derive(Debug)]
pub struct WriteLimiter {
    bucket: tokio::sync::Mutex<TokenBucket>,
}

impl WriteLimiter {
    /// A limiter with `rate`.
    pub fn new(rate: Rate) -> Self {
        WriteLimiter {
            bucket: tokio::sync::Mutex::new(TokenBucket::new(rate, Instant::now())),
        }
    }

    /// Waits until a write may proceed.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut bucket = self.bucket.lock().await;
                if bucket.try_take(Instant::now()) {
                    return;
                }
                bucket.wait_time(Instant::now())
            };
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bucket_allows_a_burst_then_refills_at_the_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(Rate::new(2.0, 3), start);
        assert!(bucket.try_take(start));
        assert!(bucket.try_take(start));
        assert!(bucket.try_take(start));
        assert!(!bucket.try_take(start));
        assert_eq!(bucket.wait_time(start), Duration::from_millis(500));
        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(bucket.try_take(Instant::now()));
        assert!(!bucket.try_take(Instant::now()));
    }

    #[tokio::test(start_paused = true)]
    async fn per_namespace_limit_does_not_slow_other_namespaces() {
        let now = Instant::now();
        let mut limiter = RolloutLimiter::new(None, Some(Rate::new(1.0, 1)), now);
        assert!(limiter.acquire("a", now).is_ok());
        assert_eq!(limiter.acquire("a", now), Err(Duration::from_secs(1)));
        assert!(limiter.acquire("b", now).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn global_limit_applies_across_namespaces_and_takes_nothing_when_waiting() {
        let now = Instant::now();
        let mut limiter = RolloutLimiter::new(Some(Rate::new(1.0, 1)), Some(Rate::new(10.0, 5)), now);
        assert!(limiter.acquire("a", now).is_ok());
        assert!(limiter.acquire("b", now).is_err());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(limiter.acquire("b", Instant::now()).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn write_limiter_spaces_writes_after_the_burst() {
        let limiter = WriteLimiter::new(Rate::new(5.0, 2));
        let start = Instant::now();
        for _ in 0..4 {
            limiter.acquire().await;
        }
        // two from the burst, two more at 5/s: 400 ms of (virtual) waiting.
        assert_eq!(Instant::now() - start, Duration::from_millis(400));
    }
}
