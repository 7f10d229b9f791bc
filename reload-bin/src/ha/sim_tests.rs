//! [`LeaderElector`] through the real path: `kube::Api<Lease>` against the Kubernetes API
//! simulator. Short durations keep the suite quick; waits are bounded, nothing asserts speed.

use std::time::{Duration, SystemTime};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use kube::Api;
use reload_tests::sim::{FailureRule, Simulator};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use super::{ElectionConfig, ElectionOutcome, LeaderElector};

struct Replica {
    leading: watch::Receiver<bool>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<ElectionOutcome>,
}

fn start(sim: &Simulator, config: ElectionConfig) -> Replica {
    let client = sim.client().expect("simulator client");
    let elector = LeaderElector::new(client, config).expect("valid config");
    let leading = elector.subscribe();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(elector.run(async move {
        let _ = stopped.await;
    }));
    Replica { leading, stop, task }
}

impl Replica {
    fn leads(&self) -> bool {
        *self.leading.borrow()
    }

    async fn wait_until(&mut self, leading: bool) {
        tokio::time::timeout(Duration::from_secs(30), self.leading.wait_for(|l| *l == leading))
            .await
            .expect("leadership changes within 30 s")
            .expect("the elector runs");
    }

    async fn shut_down(self) -> ElectionOutcome {
        let _ = self.stop.send(());
        self.task.await.expect("elector task")
    }
}

async fn lease(sim: &Simulator) -> LeaseSpec {
    let api: Api<Lease> = Api::namespaced(sim.client().expect("client"), "default");
    api.get("stakater-reloader-lock")
        .await
        .expect("the Lease exists")
        .spec
        .expect("the Lease has a spec")
}

fn quick(identity: &str) -> ElectionConfig {
    ElectionConfig::new("default", identity)
        .lease_duration(Duration::from_secs(3))
        .renew_deadline(Duration::from_secs(2))
        .retry_period(Duration::from_millis(200))
}

#[tokio::test]
async fn of_two_electors_on_one_simulator_exactly_one_leads() {
    let sim = Simulator::start().await.expect("simulator starts");
    let a = start(&sim, quick("pod-a"));
    let b = start(&sim, quick("pod-b"));
    tokio::time::timeout(Duration::from_secs(30), async {
        while !a.leads() && !b.leads() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("someone leads within 30 s");
    // Over several lease periods, never two leaders, and the Lease names the one that leads.
    for _ in 0..40 {
        assert!(!(a.leads() && b.leads()), "two leaders at once");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let leader = if a.leads() { "pod-a" } else { "pod-b" };
    let spec = lease(&sim).await;
    assert_eq!(spec.holder_identity.as_deref(), Some(leader));
    assert_eq!(spec.lease_duration_seconds, Some(3));
    assert_eq!(spec.lease_transitions, Some(0));
    assert!(spec.acquire_time.is_some() && spec.renew_time.is_some());
    assert!(spec.renew_time > spec.acquire_time, "the leader renews");
    b.shut_down().await;
    a.shut_down().await;
}

#[tokio::test]
async fn the_leaders_shutdown_releases_the_lease_and_the_other_takes_over() {
    let sim = Simulator::start().await.expect("simulator starts");
    // A minute-long lease: the follower can only lead within the wait below if it was released.
    let long = |identity| {
        quick(identity)
            .lease_duration(Duration::from_secs(60))
            .renew_deadline(Duration::from_secs(40))
    };
    let mut a = start(&sim, long("pod-a"));
    a.wait_until(true).await;
    let mut b = start(&sim, long("pod-b"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!b.leads());

    assert_eq!(
        a.shut_down().await,
        ElectionOutcome::ShutDown {
            was_leader: true,
            released: true
        }
    );
    b.wait_until(true).await;
    let spec = lease(&sim).await;
    assert_eq!(spec.holder_identity.as_deref(), Some("pod-b"));
    assert_eq!(spec.lease_transitions, Some(1));
    b.shut_down().await;
    assert_eq!(lease(&sim).await.holder_identity.as_deref(), Some(""));
}

#[tokio::test]
async fn a_leader_whose_api_calls_fail_steps_down_before_its_lease_expires() {
    let sim = Simulator::start().await.expect("simulator starts");
    let config = |identity| quick(identity).lease_duration(Duration::from_secs(10));
    let mut a = start(&sim, config("pod-a"));
    a.wait_until(true).await;
    let mut b = start(&sim, config("pod-b"));
    tokio::time::sleep(Duration::from_secs(1)).await;

    sim.fail_next(FailureRule::new(500, 1_000_000).resource("leases"));
    a.wait_until(false).await;
    let stepped_down = SystemTime::now();
    assert!(!b.leads(), "b leads while a still did");
    sim.clear_faults();
    let spec = lease(&sim).await;
    assert_eq!(
        spec.holder_identity.as_deref(),
        Some("pod-a"),
        "nobody could write meanwhile"
    );
    let renewed = spec.renew_time.expect("renewTime").0;
    let expires = SystemTime::from(renewed) + Duration::from_secs(10);
    assert!(
        stepped_down < expires,
        "a stepped down only after its lease expired"
    );
    assert_eq!(
        a.task.await.expect("elector task"),
        ElectionOutcome::LostLeadership
    );

    b.wait_until(true).await;
    assert_eq!(lease(&sim).await.holder_identity.as_deref(), Some("pod-b"));
    b.shut_down().await;
}
