//! The real `reloader` process against the simulator: killed (SIGKILL, with CronJobs, Jobs and
//! Deployments paused by their pause-period among the workloads) or stopped (SIGTERM)
//! mid-burst and started again, and two HA replicas whose leader is killed, or stalled beyond
//! its lease (a network partition), during a burst. Each ends with the invariant.

use std::time::Duration;

use rand::Rng as _;
use reload_core::ReloadStrategy;
use reload_strategies::{AnnotationStrategy, EnvVarStrategy};
use reload_tests::sim::{Rule, Simulator};
use serde_json::{Value, json};

use crate::binary_support::{Launch, Reloader, temp_path};
use crate::faults_support::{
    MORE_KINDS, PAUSE_PERIOD, Seed, Shape, World, burst, seed_more_kinds, seed_world, set_source, settle,
    wait_quiet,
};

const SHAPE: Shape = Shape {
    namespaces: 2,
    sources: 4,
    workloads: 5,
};

/// A launch with the strategy of this seed, and the matching checker.
fn launch(sim: &Simulator, seed: Seed) -> (Launch, Box<dyn ReloadStrategy>) {
    with_strategy(Launch::new(sim), seed)
}

/// `launch` with the strategy of this seed, and the matching checker.
fn with_strategy(launch: Launch, seed: Seed) -> (Launch, Box<dyn ReloadStrategy>) {
    if seed.0.is_multiple_of(2) {
        (launch, Box::new(EnvVarStrategy))
    } else {
        (
            launch.arg("--reload-strategy=annotations"),
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
    killed_mid_burst(&["Deployment"]).await;
}

/// A CronJob's Job is created (under a name that identifies the reload) before the reload is
/// recorded, and a Job's copy is kept in a holder Job between its delete and its create, so a
/// kill between the two writes loses no run and the replay creates none twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_controller_killed_mid_burst_loses_no_cronjob_or_job_run() {
    killed_mid_burst(MORE_KINDS).await;
}

async fn killed_mid_burst(kinds: &[&str]) {
    let seed = Seed::new("sigkill");
    let sim = Simulator::start().await.expect("simulator");
    let mut rng = seed.rng();
    let mut world = seed_world(&sim, &mut rng, SHAPE);
    seed_more_kinds(&sim, &mut rng, &mut world, kinds);
    let (launch, checker) = launch(&sim, seed);
    let mut reloader = started(&launch, &sim).await;
    // Every pause-period Deployment is paused (2 s) when the controller is killed.
    pause_every_paused_deployment(&sim, &world).await;
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
    let paused = paused_deployments(&sim);
    assert!(paused.is_empty(), "sigkill ({seed}): left paused: {paused:?}");
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

/// The pause-period Deployments (`paused`) whose last committed version is paused.
fn paused_deployments(sim: &Simulator) -> Vec<String> {
    let mut last = std::collections::BTreeMap::new();
    for entry in sim.journal(0) {
        if entry.resource == "deployments" && entry.name == "paused" {
            last.insert(entry.namespace.clone(), entry.object.clone());
        }
    }
    last.into_iter()
        .filter(|(_, object)| {
            object
                .as_deref()
                .is_some_and(|o| o["spec"]["paused"] == json!(true))
        })
        .map(|(ns, _)| ns)
        .collect()
}

/// Changes a source of every pause-period Deployment and waits (bounded) until each is paused.
async fn pause_every_paused_deployment(sim: &Simulator, world: &World) {
    let deployments = sim.journal(0).into_iter().filter(|e| {
        e.resource == "deployments"
            && e.verb == "create"
            && e.object
                .as_deref()
                .is_some_and(|o| o["metadata"]["annotations"][PAUSE_PERIOD].is_string())
    });
    let mut namespaces = Vec::new();
    for entry in deployments {
        let used = entry.object.as_deref().map(Value::to_string).unwrap_or_default();
        let source = world
            .sources
            .iter()
            .find(|s| s.namespace == entry.namespace && used.contains(&format!("\"{}\"", s.name)))
            .expect("a paused Deployment uses a source");
        set_source(sim, source, "pause").await;
        namespaces.push(entry.namespace);
    }
    crate::binary_support::eventually("every pause-period Deployment paused", || {
        let paused = paused_deployments(sim);
        let all = namespaces.iter().all(|ns| paused.contains(ns));
        async move { all }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_ha_a_leader_stalled_beyond_its_lease_steps_down_and_never_writes_after_the_standby() {
    let seed = Seed::new("ha leader stalled");
    let sim = Simulator::config()
        .token("token-one", "one", vec![Rule::everything()])
        .token("token-two", "two", vec![Rule::everything()])
        .start()
        .await
        .expect("simulator");
    let _ = sim.seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "reloader"}}));
    let mut rng = seed.rng();
    let world = seed_world(&sim, &mut rng, SHAPE);
    let checker = with_strategy(Launch::new(&sim), seed).1;
    let replica = |pod: &str| {
        let kubeconfig = temp_path("kubeconfig.yaml");
        sim.write_kubeconfig_with_token(&kubeconfig, &format!("token-{pod}"))
            .expect("kubeconfig written");
        with_strategy(Launch::with_kubeconfig(kubeconfig), seed)
            .0
            .start_ha_replica(pod)
    };
    let one = replica("one");
    one.wait_line("became leader").await;
    one.wait_synced().await;
    let two = replica("two");
    two.wait_line("new leader is one").await;
    wait_quiet(&sim, Duration::from_secs(1), Duration::from_secs(10)).await;

    // Mid-burst, every request of the leader waits 6 s, three times the lease duration: it
    // can neither renew nor write, yet its process and its open watches live on.
    let stall_after = Duration::from_millis(rng.random_range(50..400));
    let mut burst_rng = seed.rng();
    tokio::join!(burst(&sim, &world, &mut burst_rng, 0, 20), async {
        tokio::time::sleep(stall_after).await;
        sim.set_user_latency("one", Duration::from_secs(6));
    });
    burst(&sim, &world, &mut rng, 1, 10).await;
    // A last change to every source: the standby has work whatever the burst touched.
    for source in &world.sources {
        set_source(&sim, source, "final").await;
    }
    two.wait_line("became leader").await;
    let mut one = one;
    one.wait_exit().await;
    assert!(
        one.count("no longer leader") == 1,
        "ha leader stalled ({seed}): the stalled leader did not step down; output:\n{}",
        one.output()
    );
    let report = settle(&sim, &*checker, seed, "ha leader stalled").await;
    assert!(
        report.rollouts > 0,
        "ha leader stalled ({seed}): nothing rolled: {report}"
    );

    // Never two writers: once the standby has written anything (its Lease take-over comes
    // first), the stalled leader has committed nothing.
    let journal = sim.journal(0);
    let takeover = journal
        .iter()
        .find(|e| e.user == "two")
        .map(|e| e.resource_version)
        .unwrap_or_else(|| panic!("ha leader stalled ({seed}): the standby never wrote"));
    let late: Vec<_> = journal
        .iter()
        .filter(|e| e.user == "one" && e.resource_version > takeover)
        .map(|e| {
            format!(
                "{} {}/{}/{} rv {}",
                e.verb, e.resource, e.namespace, e.name, e.resource_version
            )
        })
        .collect();
    assert!(
        late.is_empty(),
        "ha leader stalled ({seed}): the stalled leader wrote after the standby took over (rv {takeover}): {late:#?}"
    );
    let standby_rollouts = journal
        .iter()
        .filter(|e| {
            e.user == "two" && ["deployments", "statefulsets", "daemonsets"].contains(&e.resource.as_str())
        })
        .count();
    assert!(
        standby_rollouts > 0,
        "ha leader stalled ({seed}): the standby rolled nothing"
    );
    two.stop().await;
}
