//! Table tests and property tests of the pure election rules.

use std::time::Duration;

use jiff::Timestamp;
use proptest::prelude::*;
use tokio::time::Instant;

use super::decision::{Action, LeaseRecord, Observation, decide, must_step_down, release_record};
use super::{ConfigError, ElectionConfig};

fn config(identity: &str) -> ElectionConfig {
    ElectionConfig::new("reloader", identity)
}

fn wall(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + seconds).expect("a valid timestamp")
}

fn held_by(holder: &str, transitions: i32) -> LeaseRecord {
    LeaseRecord {
        holder: holder.to_string(),
        lease_duration_seconds: 15,
        acquire_time: Some(wall(0)),
        renew_time: Some(wall(5)),
        transitions,
    }
}

fn seen(record: &LeaseRecord, since: Instant) -> Observation {
    Observation {
        record: Some(record.clone()),
        since: Some(since),
    }
}

#[test]
fn defaults_are_reloaders() {
    let config = config("pod-a");
    assert_eq!(config.lease_name_value(), "stakater-reloader-lock");
    assert_eq!(config.lease_duration_value(), Duration::from_secs(15));
    assert_eq!(config.renew_deadline_value(), Duration::from_secs(10));
    assert_eq!(config.retry_period_value(), Duration::from_secs(2));
    assert!(config.release_on_cancel_value());
    assert_eq!(config.validate(), Ok(()));
}

#[test]
fn durations_out_of_order_are_rejected() {
    let config = config("pod-a").renew_deadline(Duration::from_secs(20));
    assert!(matches!(config.validate(), Err(ConfigError::Durations { .. })));
    let config = ElectionConfig::new("reloader", "");
    assert_eq!(config.validate(), Err(ConfigError::Empty("identity")));
}

#[test]
fn a_missing_lease_is_created_held_by_us() {
    let now = Instant::now();
    let (action, observed) = decide(None, &Observation::default(), &config("pod-a"), now, wall(9));
    let expected = LeaseRecord {
        holder: "pod-a".into(),
        lease_duration_seconds: 15,
        acquire_time: Some(wall(9)),
        renew_time: Some(wall(9)),
        transitions: 0,
    };
    assert_eq!(action, Action::Create(expected));
    assert_eq!(observed.since, Some(now));
}

#[test]
fn our_own_lease_is_renewed_keeping_acquire_time_and_transitions() {
    let now = Instant::now();
    let current = held_by("pod-a", 3);
    let (action, _) = decide(
        Some(&current),
        &seen(&current, now),
        &config("pod-a"),
        now,
        wall(20),
    );
    let Action::Renew(record) = action else {
        panic!("expected a renewal, got {action:?}");
    };
    assert_eq!(record.holder, "pod-a");
    assert_eq!(record.acquire_time, Some(wall(0)));
    assert_eq!(record.renew_time, Some(wall(20)));
    assert_eq!(record.transitions, 3);
}

#[test]
fn a_lease_first_seen_now_is_followed_for_its_full_duration() {
    let now = Instant::now();
    let current = held_by("pod-b", 1);
    let (action, observed) = decide(
        Some(&current),
        &Observation::default(),
        &config("pod-a"),
        now,
        wall(0),
    );
    assert_eq!(
        action,
        Action::Follow {
            holder: "pod-b".into(),
            until: now + Duration::from_secs(15)
        }
    );
    assert_eq!(observed, seen(&current, now));
}

#[test]
fn a_lease_that_keeps_changing_is_never_taken_over() {
    let start = Instant::now();
    let first = held_by("pod-b", 1);
    let observed = seen(&first, start);
    let later = start + Duration::from_secs(14);
    let renewed = LeaseRecord {
        renew_time: Some(wall(19)),
        ..first
    };
    let (action, observed) = decide(Some(&renewed), &observed, &config("pod-a"), later, wall(19));
    assert!(matches!(action, Action::Follow { until, .. } if until == later + Duration::from_secs(15)));
    assert_eq!(observed.since, Some(later));
}

#[test]
fn an_unchanged_lease_is_taken_over_once_its_duration_passed_from_our_view() {
    let start = Instant::now();
    let current = held_by("pod-b", 4);
    let observed = seen(&current, start);
    let just_before = start + Duration::from_millis(14_999);
    let (action, _) = decide(Some(&current), &observed, &config("pod-a"), just_before, wall(20));
    assert!(matches!(action, Action::Follow { .. }));
    let expired = start + Duration::from_secs(15);
    let (action, _) = decide(Some(&current), &observed, &config("pod-a"), expired, wall(20));
    let Action::TakeOver(record) = action else {
        panic!("expected a takeover, got {action:?}");
    };
    assert_eq!(record.holder, "pod-a");
    assert_eq!(record.transitions, 5);
    assert_eq!(record.acquire_time, Some(wall(20)));
}

#[test]
fn a_released_lease_is_taken_over_at_once() {
    let now = Instant::now();
    let released = release_record(&held_by("pod-b", 2), &config("pod-b"), wall(30)).expect("held by pod-b");
    assert_eq!(released.holder, "");
    assert_eq!(released.lease_duration_seconds, 1);
    assert_eq!(released.transitions, 2);
    let (action, _) = decide(
        Some(&released),
        &Observation::default(),
        &config("pod-a"),
        now,
        wall(31),
    );
    assert!(matches!(action, Action::TakeOver(record) if record.transitions == 3));
}

#[test]
fn a_lease_held_by_someone_else_is_not_released() {
    assert_eq!(
        release_record(&held_by("pod-b", 2), &config("pod-a"), wall(0)),
        None
    );
}

#[test]
fn a_leader_steps_down_exactly_at_the_renew_deadline() {
    let config = config("pod-a");
    let renewed = Instant::now();
    assert!(!must_step_down(
        renewed,
        renewed + Duration::from_millis(9_999),
        &config
    ));
    assert!(must_step_down(
        renewed,
        renewed + Duration::from_secs(10),
        &config
    ));
}

#[test]
fn the_record_round_trips_through_a_lease_spec() {
    let record = held_by("pod-a", 7);
    let mut spec = k8s_openapi::api::coordination::v1::LeaseSpec {
        strategy: Some("OldestEmulationVersion".into()),
        ..Default::default()
    };
    record.write_to(&mut spec);
    assert_eq!(LeaseRecord::from_spec(&spec), record);
    assert_eq!(spec.strategy.as_deref(), Some("OldestEmulationVersion"));
    let json = serde_json::to_value(&spec).expect("serialisable");
    assert_eq!(json["holderIdentity"], "pod-a");
    assert_eq!(json["leaseDurationSeconds"], 15);
    assert_eq!(json["leaseTransitions"], 7);
    assert!(
        json["renewTime"]
            .as_str()
            .is_some_and(|t| t.starts_with("2023-11-14T22:13:25"))
    );
}

/// A clock running at `rate` times real time, in milliseconds since `base`.
fn clock(base: Instant, rate: f64, real_ms: u64) -> Instant {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "test times are small and positive"
    )]
    let local = (real_ms as f64 * rate) as u64;
    base + Duration::from_millis(local)
}

proptest! {
    /// Safety: whenever a follower decides to take over a Lease it saw renewed, the leader that
    /// wrote that renewal has already stepped down on its own clock, for any timing and clock
    /// rates within ±15% (the stated assumption needs their ratio above RenewDeadline /
    /// LeaseDuration = 2/3; 0.85 / 1.15 > 0.73). Clock offsets are arbitrary: each clock has
    /// its own base.
    #[test]
    fn a_follower_never_takes_over_while_the_leader_still_thinks_it_leads(
        leader_rate in 0.85f64..1.15,
        follower_rate in 0.85f64..1.15,
        renew_at in 0u64..100_000,
        write_delay in 0u64..20_000,
        observe_delay in 0u64..20_000,
        decide_after in 0u64..40_000,
        transitions in 0i32..100,
    ) {
        let config_leader = config("pod-a");
        let config_follower = config("pod-b");
        let leader_base = Instant::now();
        let follower_base = leader_base + Duration::from_secs(3_600);
        // The leader renews at real time `renew_at` (its instant is taken before the request).
        let last_renewed = clock(leader_base, leader_rate, renew_at);
        let renewed = LeaseRecord { transitions, ..held_by("pod-a", transitions) };
        // The follower sees the write only after it happened; before, it saw an older record.
        let observed_at = renew_at + write_delay + observe_delay;
        let older = Observation {
            record: Some(LeaseRecord { renew_time: Some(wall(-2)), ..renewed.clone() }),
            since: Some(follower_base),
        };
        let (first, observed) = decide(Some(&renewed), &older, &config_follower,
            clock(follower_base, follower_rate, observed_at), wall(0));
        let first_is_follow = matches!(first, Action::Follow { .. });
        prop_assert!(first_is_follow);
        // Later, the record unchanged, the follower decides again.
        let at = observed_at + decide_after;
        let (action, _) = decide(Some(&renewed), &observed, &config_follower,
            clock(follower_base, follower_rate, at), wall(0));
        if matches!(action, Action::TakeOver(_)) {
            prop_assert!(must_step_down(last_renewed, clock(leader_base, leader_rate, at), &config_leader));
        }
    }

    /// Liveness of stepping down: a leader that has not renewed for RenewDeadline always steps
    /// down, and never before.
    #[test]
    fn a_leader_that_cannot_renew_before_the_deadline_steps_down(
        elapsed_ms in 0u64..60_000,
        deadline_s in 2u64..30,
    ) {
        let config = config("pod-a")
            .lease_duration(Duration::from_secs(deadline_s + 5))
            .renew_deadline(Duration::from_secs(deadline_s));
        let renewed = Instant::now();
        let now = renewed + Duration::from_millis(elapsed_ms);
        prop_assert_eq!(must_step_down(renewed, now, &config), elapsed_ms >= deadline_s * 1_000);
    }

    /// Whatever the Lease holds, the decision writes only records held by us, never lowers the
    /// transition count, and counts a transition exactly when the holder changes.
    #[test]
    fn decisions_write_only_our_own_holdership(
        holder in prop_oneof![Just(String::new()), Just("pod-a".to_string()), Just("pod-b".to_string())],
        transitions in 0i32..1_000,
        duration in -5i32..60,
        since_ms in 0u64..100_000,
        now_ms in 0u64..100_000,
    ) {
        let base = Instant::now();
        let current = LeaseRecord { lease_duration_seconds: duration, ..held_by(&holder, transitions) };
        let observed = seen(&current, base + Duration::from_millis(since_ms));
        let now = base + Duration::from_millis(since_ms.max(now_ms));
        let (action, _) = decide(Some(&current), &observed, &config("pod-a"), now, wall(50));
        match &action {
            Action::Follow { holder: followed, until } => {
                prop_assert_eq!(followed, &holder);
                prop_assert!(*until > now);
            }
            Action::Renew(record) => {
                prop_assert_eq!(&holder, "pod-a");
                prop_assert_eq!(record.transitions, transitions);
            }
            Action::TakeOver(record) => {
                prop_assert_ne!(&holder, "pod-a");
                prop_assert_eq!(record.transitions, transitions + 1);
            }
            Action::Create(_) => prop_assert!(false, "the Lease exists"),
        }
        if let Some(record) = action.record() {
            prop_assert_eq!(&record.holder, "pod-a");
            prop_assert_eq!(record.renew_time, Some(wall(50)));
        }
    }
}
