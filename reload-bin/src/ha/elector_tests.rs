//! [`LeaderElector`] over an in-memory Lease, on tokio's paused clock: the loop's timing
//! logic without a network.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep};

use super::decision::LeaseRecord;
use super::lock::{LeaseLock, LockError, ReadLease};
use super::{ElectionConfig, ElectionOutcome, LeaderElector};

/// One Lease shared by several electors, with a resourceVersion per write.
#[derive(Default)]
struct Store {
    lease: Option<(LeaseRecord, u64)>,
    version: u64,
    /// `(when, holder)` of every successful write.
    writes: Vec<(Instant, String)>,
}

/// One elector's handle on the shared store; `failing` makes its requests fail.
#[derive(Clone)]
struct MemoryLease {
    store: Arc<Mutex<Store>>,
    failing: Arc<AtomicBool>,
}

impl MemoryLease {
    fn new(store: &Arc<Mutex<Store>>) -> Self {
        MemoryLease {
            store: store.clone(),
            failing: Arc::new(AtomicBool::new(false)),
        }
    }

    fn check(&self) -> Result<std::sync::MutexGuard<'_, Store>, LockError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(LockError::Request {
                lease: self.describe(),
                source: "injected failure".into(),
            });
        }
        Ok(self.store.lock().expect("store lock"))
    }
}

fn write(store: &mut Store, record: &LeaseRecord) {
    store.version += 1;
    store.lease = Some((record.clone(), store.version));
    store.writes.push((Instant::now(), record.holder.clone()));
}

impl LeaseLock for MemoryLease {
    fn describe(&self) -> String {
        "reloader/stakater-reloader-lock".into()
    }

    async fn get(&self) -> Result<Option<ReadLease>, LockError> {
        let store = self.check()?;
        Ok(store.lease.as_ref().map(|(record, version)| {
            let mut lease = Lease::default();
            lease.metadata.resource_version = Some(version.to_string());
            let mut spec = LeaseSpec::default();
            record.write_to(&mut spec);
            lease.spec = Some(spec);
            ReadLease {
                record: record.clone(),
                object: lease,
            }
        }))
    }

    async fn create(&self, record: &LeaseRecord) -> Result<(), LockError> {
        let mut store = self.check()?;
        if store.lease.is_some() {
            return Err(LockError::Conflict {
                lease: self.describe(),
            });
        }
        write(&mut store, record);
        Ok(())
    }

    async fn update(&self, read: &ReadLease, record: &LeaseRecord) -> Result<(), LockError> {
        let mut store = self.check()?;
        let current = store.lease.as_ref().map(|(_, version)| version.to_string());
        if current != read.object.metadata.resource_version {
            return Err(LockError::Conflict {
                lease: self.describe(),
            });
        }
        write(&mut store, record);
        Ok(())
    }
}

struct Replica {
    leading: watch::Receiver<bool>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<ElectionOutcome>,
    lock: MemoryLease,
}

fn start(store: &Arc<Mutex<Store>>, identity: &str) -> Replica {
    let lock = MemoryLease::new(store);
    let elector = LeaderElector::with_lock(lock.clone(), ElectionConfig::new("reloader", identity))
        .expect("valid config");
    let leading = elector.subscribe();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(elector.run(async move {
        let _ = stopped.await;
    }));
    Replica {
        leading,
        stop: Some(stop),
        task,
        lock,
    }
}

impl Replica {
    fn leads(&self) -> bool {
        *self.leading.borrow()
    }

    async fn shut_down(mut self) -> ElectionOutcome {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await.expect("elector task")
    }
}

fn holder(store: &Arc<Mutex<Store>>) -> Option<String> {
    store
        .lock()
        .expect("store lock")
        .lease
        .as_ref()
        .map(|(r, _)| r.holder.clone())
}

#[tokio::test(start_paused = true)]
async fn of_two_electors_exactly_one_leads_and_keeps_leading() {
    let store = Arc::new(Mutex::new(Store::default()));
    let a = start(&store, "pod-a");
    let b = start(&store, "pod-b");
    for _ in 0..30 {
        sleep(Duration::from_secs(1)).await;
        let leaders = [&a, &b].iter().filter(|r| r.leads()).count();
        let settled = store.lock().expect("store lock").lease.is_some();
        assert!(leaders <= 1, "two leaders at once");
        if settled {
            assert_eq!(leaders, 1, "the Lease is held but nobody leads");
        }
    }
    let leader = if a.leads() { "pod-a" } else { "pod-b" };
    assert_eq!(holder(&store).as_deref(), Some(leader));
    let holders: Vec<String> = store
        .lock()
        .expect("store lock")
        .writes
        .iter()
        .map(|(_, h)| h.clone())
        .collect();
    assert!(holders.len() > 5, "the leader renews every retry period");
    assert!(
        holders.iter().all(|h| h == leader),
        "the follower never wrote: {holders:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_leader_that_shuts_down_releases_and_the_other_takes_over_within_a_retry_period() {
    let store = Arc::new(Mutex::new(Store::default()));
    let a = start(&store, "pod-a");
    sleep(Duration::from_secs(1)).await;
    assert!(a.leads());
    let mut b = start(&store, "pod-b");
    sleep(Duration::from_secs(5)).await;
    assert!(!b.leads());

    let released_at = Instant::now();
    assert_eq!(
        a.shut_down().await,
        ElectionOutcome::ShutDown {
            was_leader: true,
            released: true
        }
    );
    assert_eq!(holder(&store).as_deref(), Some(""));
    b.leading
        .wait_for(|leading| *leading)
        .await
        .expect("b's elector runs");
    assert!(Instant::now() - released_at <= Duration::from_secs(2));
    assert_eq!(holder(&store).as_deref(), Some("pod-b"));
    let transitions = store
        .lock()
        .expect("store lock")
        .lease
        .as_ref()
        .map(|(r, _)| r.transitions);
    assert_eq!(transitions, Some(1));
}

#[tokio::test(start_paused = true)]
async fn a_leader_whose_requests_fail_steps_down_before_its_lease_expires() {
    let store = Arc::new(Mutex::new(Store::default()));
    let mut a = start(&store, "pod-a");
    sleep(Duration::from_secs(1)).await;
    assert!(a.leads());
    let mut b = start(&store, "pod-b");
    sleep(Duration::from_secs(5)).await;

    a.lock.failing.store(true, Ordering::SeqCst);
    a.leading
        .wait_for(|leading| !*leading)
        .await
        .expect("a's elector runs");
    let stepped_down = Instant::now();
    let last_write = store
        .lock()
        .expect("store lock")
        .writes
        .last()
        .map(|(at, _)| *at)
        .expect("a wrote");
    assert!(
        stepped_down < last_write + Duration::from_secs(15),
        "stepped down only after the lease expired"
    );
    assert!(stepped_down >= last_write + Duration::from_secs(10) - Duration::from_secs(2));
    assert!(!b.leads(), "b took over while a still led");

    b.leading
        .wait_for(|leading| *leading)
        .await
        .expect("b's elector runs");
    assert!(Instant::now() >= last_write + Duration::from_secs(15));
    assert_eq!(
        a.task.await.expect("elector task"),
        ElectionOutcome::LostLeadership
    );
    assert_eq!(holder(&store).as_deref(), Some("pod-b"));
}

#[tokio::test(start_paused = true)]
async fn a_follower_that_shuts_down_writes_nothing() {
    let store = Arc::new(Mutex::new(Store::default()));
    let a = start(&store, "pod-a");
    sleep(Duration::from_secs(1)).await;
    let b = start(&store, "pod-b");
    sleep(Duration::from_secs(3)).await;
    assert_eq!(
        b.shut_down().await,
        ElectionOutcome::ShutDown {
            was_leader: false,
            released: false
        }
    );
    assert_eq!(holder(&store).as_deref(), Some("pod-a"));
    assert!(a.leads());
}

/// Collects formatted log lines.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn electors_log_reloaders_leadership_lines() {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .without_time()
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let store = Arc::new(Mutex::new(Store::default()));
    let a = start(&store, "pod-a");
    sleep(Duration::from_secs(1)).await;
    let b = start(&store, "pod-b");
    sleep(Duration::from_secs(5)).await;
    a.shut_down().await;
    let mut b = b;
    b.leading
        .wait_for(|leading| *leading)
        .await
        .expect("b's elector runs");
    b.shut_down().await;

    let text = String::from_utf8(logs.0.lock().expect("log buffer").clone()).expect("UTF-8 logs");
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(" INFO "))
        .map(|l| l.rsplit(": ").next().unwrap_or(l))
        .collect();
    assert_eq!(
        lines,
        [
            "still the leader!",
            "became leader, starting controllers",
            "new leader is pod-a",
            "no longer leader, shutting down",
            "still the leader!",
            "became leader, starting controllers",
            "no longer leader, shutting down",
        ],
        "{text}"
    );
}
