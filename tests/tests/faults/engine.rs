//! The engine in-process against the simulator: bursts of changes under watch drops (with
//! CronJobs, Jobs and pause-period Deployments among the workloads), compaction, simulator restarts, failing PATCHes, a forbidden namespace, and a migration from
//! Reloader's own records. Each ends with the invariant.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rand::Rng as _;
use reload_core::ReloadStrategy;
use reload_core::engine::EngineEvent;
use reload_core::matcher::MatcherConfig;
use reload_strategies::{AnnotationStrategy, EnvVarStrategy};
use reload_tests::sim::{FailureRule, Rule, Simulator};

use crate::engine_support::{self, Strategy, config};
use crate::faults_support::{MORE_KINDS, Seed, Shape, World, burst, seed_more_kinds, seed_world, settle};

fn checker(strategy: Strategy) -> Box<dyn ReloadStrategy> {
    match strategy {
        Strategy::EnvVars => Box::new(EnvVarStrategy),
        Strategy::Annotations => Box::new(AnnotationStrategy),
    }
}

/// The strategy for this seed (both get exercised across runs).
fn strategy_for(seed: Seed) -> Strategy {
    if seed.0.is_multiple_of(2) {
        Strategy::EnvVars
    } else {
        Strategy::Annotations
    }
}

/// A background fault: runs `fault` every `period` until dropped.
struct Repeating {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Repeating {
    fn start<F, Fut>(period_ms: std::ops::Range<u64>, seed: Seed, fault: F) -> Self
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let mut rng = seed.rng();
            while !flag.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(rng.random_range(period_ms.clone()))).await;
                fault().await;
            }
        });
        Repeating { stop, task }
    }

    async fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
    }
}

/// Seeds a world, starts the engine, waits for its baselines, and returns both.
async fn world_and_engine(
    sim: &Simulator,
    seed: Seed,
    shape: Shape,
) -> (World, engine_support::Running, Strategy, rand::rngs::StdRng) {
    world_and_engine_with(sim, seed, shape, false).await
}

/// [`world_and_engine`], with a CronJob, a Job and a pause-period Deployment per namespace
/// when `more_kinds`.
async fn world_and_engine_with(
    sim: &Simulator,
    seed: Seed,
    shape: Shape,
    more_kinds: bool,
) -> (World, engine_support::Running, Strategy, rand::rngs::StdRng) {
    let mut rng = seed.rng();
    let mut world = seed_world(sim, &mut rng, shape);
    if more_kinds {
        seed_more_kinds(sim, &mut rng, &mut world, MORE_KINDS);
    }
    let strategy = strategy_for(seed);
    let engine = engine_support::start(sim, strategy, config(), MatcherConfig::default()).await;
    engine.wait_baselined(world.workloads.len()).await;
    (world, engine, strategy, rng)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_streams_dropped_every_few_hundred_ms_lose_and_duplicate_nothing() {
    let seed = Seed::new("watch drops");
    let sim = Arc::new(Simulator::start().await.expect("simulator"));
    let (world, engine, strategy, mut rng) = world_and_engine_with(&sim, seed, Shape::default(), true).await;
    let target = sim.clone();
    let drops = Repeating::start(150..400, seed, move || {
        target.close_watches();
        std::future::ready(())
    });
    for round in 0..3 {
        burst(&sim, &world, &mut rng, round, 15).await;
    }
    drops.stop().await;
    let report = settle(&sim, &*checker(strategy), seed, "watch drops").await;
    assert!(
        report.rollouts > 0,
        "watch drops ({seed}): nothing rolled: {report}"
    );
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compacted_history_answers_410_on_rewatch_and_nothing_is_lost_or_duplicated() {
    let seed = Seed::new("compaction");
    let sim = Arc::new(
        Simulator::config()
            .history_limit(20)
            .start()
            .await
            .expect("simulator"),
    );
    let (world, engine, strategy, mut rng) = world_and_engine(&sim, seed, Shape::default()).await;
    let target = sim.clone();
    let faults = Repeating::start(200..500, seed, move || {
        target.compact();
        target.close_watches();
        std::future::ready(())
    });
    for round in 0..3 {
        burst(&sim, &world, &mut rng, round, 15).await;
    }
    faults.stop().await;
    let report = settle(&sim, &*checker(strategy), seed, "compaction").await;
    assert!(
        report.rollouts > 0,
        "compaction ({seed}): nothing rolled: {report}"
    );
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulator_restart_mid_burst_loses_and_duplicates_nothing() {
    let seed = Seed::new("simulator restart");
    let sim = Simulator::start().await.expect("simulator");
    let (world, engine, strategy, mut rng) = world_and_engine(&sim, seed, Shape::default()).await;
    burst(&sim, &world, &mut rng, 0, 10).await;
    let downtime = Duration::from_millis(rng.random_range(100..800));
    sim.restart(downtime)
        .await
        .expect("simulator restarts on the same port");
    burst(&sim, &world, &mut rng, 1, 10).await;
    sim.restart(downtime)
        .await
        .expect("simulator restarts on the same port");
    burst(&sim, &world, &mut rng, 2, 10).await;
    let report = settle(&sim, &*checker(strategy), seed, "simulator restart").await;
    assert!(
        report.rollouts > 0,
        "simulator restart ({seed}): nothing rolled: {report}"
    );
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patches_answered_409_429_500_and_503_for_a_while_are_retried_to_completion() {
    let seed = Seed::new("failing patches");
    let sim = Simulator::start().await.expect("simulator");
    let (world, engine, strategy, mut rng) = world_and_engine(&sim, seed, Shape::default()).await;
    for (round, status) in [409_u16, 429, 500, 503].into_iter().enumerate() {
        // Fewer 409s in a row than the engine's re-plans (5), so every write gets through;
        // 429 and 5xx are retried until they land, so they may outlast the old 5 attempts.
        let count = if status == 409 {
            rng.random_range(1..4)
        } else {
            rng.random_range(5..9)
        };
        let mut rule = FailureRule::new(status, count).verb("patch");
        for resource in ["deployments", "statefulsets", "daemonsets"] {
            rule = rule.clone().resource(resource);
            if status == 429 || status == 503 {
                sim.fail_next(rule.clone().retry_after(1));
            } else {
                sim.fail_next(rule.clone());
            }
        }
        burst(&sim, &world, &mut rng, round, 8).await;
    }
    let report = settle(&sim, &*checker(strategy), seed, "failing patches").await;
    assert!(
        report.rollouts > 0,
        "failing patches ({seed}): nothing rolled: {report}"
    );
    let failed = engine_support::count(&engine.events(), |e| matches!(e, EngineEvent::Failed { .. }));
    assert_eq!(failed, 0, "failing patches ({seed}): {:#?}", engine.events());
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forbidden_namespace_is_reported_and_every_other_namespace_keeps_reloading() {
    let seed = Seed::new("forbidden namespace");
    let all = |verbs: &[&str]| Rule {
        api_groups: vec!["*".into()],
        resources: vec!["*".into()],
        verbs: verbs.iter().map(|v| (*v).to_owned()).collect(),
        resource_names: Vec::new(),
        namespace: None,
    };
    let mut rules = vec![all(&["get", "list", "watch", "create"])];
    for ns in ["f0", "f1"] {
        rules.push(Rule {
            namespace: Some(ns.to_owned()),
            ..all(&["patch", "update"])
        });
    }
    let sim = Simulator::config()
        .token("reloader-token", "reloader", rules)
        .start()
        .await
        .expect("simulator");
    let mut rng = seed.rng();
    let shape = Shape {
        namespaces: 3,
        ..Shape::default()
    };
    let world = seed_world(&sim, &mut rng, shape);
    let strategy = strategy_for(seed);
    let client = sim.client_with_token("reloader-token").expect("client");
    let engine =
        engine_support::start_with_client(client, strategy, config(), MatcherConfig::default()).await;
    for round in 0..2 {
        burst(&sim, &world, &mut rng, round, 15).await;
    }
    // f2 is forbidden: its workloads are reported, not written; the others hold the invariant.
    let forbidden: Vec<_> = world.workloads.iter().filter(|(_, ns, _)| ns == "f2").collect();
    engine
        .wait_for("a forbidden failure in f2", |events| {
            events.iter().any(|e| {
                matches!(e, EngineEvent::Failed { kind: "forbidden", workload, .. } if workload.namespace == "f2")
            })
        })
        .await;
    // Quiet, then the invariant on every namespace but f2 (settle_filtered waits for it).
    let report = settle_filtered(&sim, strategy, seed).await;
    assert!(
        report.rollouts > 0,
        "forbidden namespace ({seed}): nothing rolled: {report}"
    );
    let f2_writes = sim
        .journal(0)
        .into_iter()
        .filter(|e| e.namespace == "f2" && e.field_manager == "Reloader")
        .count();
    assert_eq!(f2_writes, 0, "forbidden namespace ({seed}): {forbidden:?}");
    engine.stop().await;
}

async fn settle_filtered(sim: &Simulator, strategy: Strategy, seed: Seed) -> crate::faults_support::Report {
    for _ in 0..20 {
        crate::faults_support::wait_quiet(sim, Duration::from_secs(1), Duration::from_secs(10)).await;
        let journal: Vec<_> = sim
            .journal(0)
            .into_iter()
            .filter(|e| e.namespace != "f2")
            .collect();
        let report = crate::faults_support::check(&journal, &*checker(strategy));
        if report.holds() {
            return report;
        }
    }
    let journal: Vec<_> = sim
        .journal(0)
        .into_iter()
        .filter(|e| e.namespace != "f2")
        .collect();
    let report = crate::faults_support::check(&journal, &*checker(strategy));
    panic!("forbidden namespace ({seed}): the other namespaces do not hold the invariant: {report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workloads_already_reconciled_by_reloader_get_zero_writes_from_our_controller() {
    for strategy in Strategy::both() {
        let seed = Seed::new("migration");
        let mut rng = seed.rng();
        let sim = Simulator::start().await.expect("simulator");
        let world = crate::faults_support::engine::seed_migrated_world(&sim, &mut rng, strategy, 10);
        let since = sim.current_resource_version();
        let engine = engine_support::start(&sim, strategy, config(), MatcherConfig::default()).await;
        crate::faults_support::wait_quiet(&sim, Duration::from_secs(1), Duration::from_secs(10)).await;
        let writes = sim.journal(since);
        assert!(
            writes.is_empty(),
            "migration {strategy:?} ({seed}): our controller wrote: {writes:#?}"
        );
        // Still live: a change after the take-over rolls, once.
        burst(&sim, &world, &mut rng, 1, 5).await;
        let report = settle(&sim, &*checker(strategy), seed, "migration").await;
        assert!(report.rollouts > 0, "migration {strategy:?} ({seed}): {report}");
        engine.stop().await;
    }
}
