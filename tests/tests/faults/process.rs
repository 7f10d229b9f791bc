//! The real `reloader` process against the simulator: killed (SIGKILL) or stopped (SIGTERM)
//! mid-burst and started again, and two HA replicas whose leader is killed during a burst.
//! Each ends with the invariant.

use std::time::Duration;

use rand::Rng as _;
use reload_core::ReloadStrategy;
use reload_strategies::{AnnotationStrategy, EnvVarStrategy};
use reload_tests::sim::Simulator;
use serde_json::json;

use crate::binary_support::{Launch, Reloader};
use crate::faults_support::{Seed, Shape, burst, seed_world, settle, wait_quiet};

const SHAPE: Shape = Shape {
    namespaces: 2,
    sources: 4,
    workloads: 5,
};

/// A launch with the strategy of this seed, and the matching checker.
fn launch(sim: &Simulator, seed: Seed) -> (Launch, Box<dyn ReloadStrategy>) {
    if seed.0.is_multiple_of(2) {
        (Launch::new(sim), Box::new(EnvVarStrategy))
    } else {
        (
            Launch::new(sim).arg("--reload-strategy=annotations"),
            Box::new(AnnotationStrategy),
        )
    }
}

async fn started(launch: &Launch, sim: &Simulator) -> Reloader {
    let reloader = launch.start();
    reloader.wait_synced().await;
    wait_quiet(sim, Duration::from_secs(1), Duration::from_secs(10)).await;
    reloader
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_controller_killed_mid_burst_completes_the_burst_after_a_restart_without_duplicates() {
    let seed = Seed::new("sigkill");
    let sim = Simulator::start().await.expect("simulator");
    let mut rng = seed.rng();
    let world = seed_world(&sim, &mut rng, SHAPE);
    let (launch, checker) = launch(&sim, seed);
    let mut reloader = started(&launch, &sim).await;
    let kill_after = Duration::from_millis(rng.random_range(50..400));
    let mut burst_rng = seed.rng();
    tokio::join!(burst(&sim, &world, &mut burst_rng, 0, 20), async {
        tokio::time::sleep(kill_after).await;
        reloader.sigkill();
    });
    burst(&sim, &world, &mut rng, 1, 10).await;
    let again = launch.start();
    again.wait_synced().await;
    let report = settle(&sim, &*checker, seed, "sigkill").await;
    assert!(report.rollouts > 0, "sigkill ({seed}): nothing rolled: {report}");
    again.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_controller_stopped_mid_burst_exits_cleanly_and_the_next_start_completes_the_burst() {
    let seed = Seed::new("sigterm");
    let sim = Simulator::start().await.expect("simulator");
    let mut rng = seed.rng();
    let world = seed_world(&sim, &mut rng, SHAPE);
    let (launch, checker) = launch(&sim, seed);
    let mut reloader = started(&launch, &sim).await;
    let stop_after = Duration::from_millis(rng.random_range(50..400));
    let mut burst_rng = seed.rng();
    tokio::join!(burst(&sim, &world, &mut burst_rng, 0, 20), async {
        tokio::time::sleep(stop_after).await;
        reloader.sigterm();
    });
    let status = reloader.wait_exit().await;
    assert!(
        status.success(),
        "sigterm ({seed}): exit status {status}; output:\n{}",
        reloader.output()
    );
    burst(&sim, &world, &mut rng, 1, 10).await;
    let again = launch.start();
    again.wait_synced().await;
    let report = settle(&sim, &*checker, seed, "sigterm").await;
    assert!(report.rollouts > 0, "sigterm ({seed}): nothing rolled: {report}");
    again.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_ha_a_leader_killed_during_a_burst_is_replaced_and_nothing_is_lost_or_duplicated() {
    let seed = Seed::new("ha leader killed");
    let sim = Simulator::start().await.expect("simulator");
    let _ = sim.seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "reloader"}}));
    let mut rng = seed.rng();
    let world = seed_world(&sim, &mut rng, SHAPE);
    let (base, checker) = launch(&sim, seed);
    let replica = |pod: &str| base.start_ha_replica(pod);
    let mut one = replica("one");
    one.wait_line("became leader").await;
    one.wait_synced().await;
    let two = replica("two");
    two.wait_line("new leader is one").await;
    wait_quiet(&sim, Duration::from_secs(1), Duration::from_secs(10)).await;

    let kill_after = Duration::from_millis(rng.random_range(50..400));
    let mut burst_rng = seed.rng();
    tokio::join!(burst(&sim, &world, &mut burst_rng, 0, 20), async {
        tokio::time::sleep(kill_after).await;
        one.sigkill();
    });
    burst(&sim, &world, &mut rng, 1, 10).await;
    two.wait_line("became leader").await;
    let report = settle(&sim, &*checker, seed, "ha leader killed").await;
    assert!(
        report.rollouts > 0,
        "ha leader killed ({seed}): nothing rolled: {report}"
    );
    two.stop().await;
}
