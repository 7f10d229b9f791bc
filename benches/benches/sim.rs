//! kube-sim throughput: a full paginated list of 20 000 ConfigMaps of 4 KiB, watch fan-out of
//! one change to many open watches, and write throughput. Runs against the in-process
//! simulator over real HTTP through `kube::Client`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use futures::StreamExt as _;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, Patch, PatchParams, WatchEvent, WatchParams};
use reload_tests::sim::Simulator;
use serde_json::json;

const OBJECTS: usize = 20_000;
const WATCHERS: usize = 50;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn seeded(rt: &tokio::runtime::Runtime) -> Simulator {
    rt.block_on(async {
        let sim = Simulator::start().await.expect("simulator");
        let payload = "x".repeat(4096);
        for i in 0..OBJECTS {
            let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": format!("cm-{i:05}"), "namespace": "default"}, "data": {"payload": payload}});
            sim.seed(cm).expect("seed");
        }
        sim
    })
}

fn list(c: &mut Criterion) {
    let rt = runtime();
    let _entered = rt.enter();
    let sim = seeded(&rt);
    let api: Api<ConfigMap> = Api::default_namespaced(sim.client().expect("client"));
    let mut group = c.benchmark_group("kube-sim list");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.bench_function("20k ConfigMaps of 4 KiB, pages of 500", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut count = 0;
                let mut lp = ListParams::default().limit(500);
                loop {
                    let page = api.list(&lp).await.expect("list");
                    count += page.items.len();
                    match page.metadata.continue_.filter(|c| !c.is_empty()) {
                        Some(token) => lp = lp.continue_token(&token),
                        None => break,
                    }
                }
                assert_eq!(black_box(count), OBJECTS);
            });
        });
    });
    group.finish();
}

fn fan_out(c: &mut Criterion) {
    let rt = runtime();
    let _entered = rt.enter();
    let sim = rt.block_on(async {
        let sim = Simulator::start().await.expect("simulator");
        sim.seed(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "hot", "namespace": "default"}}))
            .expect("seed");
        sim
    });
    let api: Api<ConfigMap> = Api::default_namespaced(sim.client().expect("client"));
    let rv = sim.current_resource_version().to_string();
    let mut streams = rt.block_on(async {
        let mut streams = Vec::new();
        for _ in 0..WATCHERS {
            let wp = WatchParams::default().disable_bookmarks().timeout(3600);
            streams.push(api.watch(&wp, &rv).await.expect("watch").boxed());
        }
        streams
    });
    let mut n = 0u64;
    let mut group = c.benchmark_group("kube-sim watch fan-out");
    group.bench_function("one patch delivered to 50 watches", |b| {
        b.iter(|| {
            n += 1;
            rt.block_on(async {
                let patch = Patch::Merge(json!({"data": {"n": n.to_string()}}));
                api.patch("hot", &PatchParams::default(), &patch)
                    .await
                    .expect("patch");
                for s in &mut streams {
                    match s.next().await {
                        Some(Ok(WatchEvent::Modified(_))) => {}
                        other => panic!("unexpected watch item {other:?}"),
                    }
                }
            });
        });
    });
    group.finish();
}

fn writes(c: &mut Criterion) {
    let rt = runtime();
    let _entered = rt.enter();
    let sim = rt.block_on(Simulator::start()).expect("simulator");
    sim.seed(
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "w", "namespace": "default"}}),
    )
    .expect("seed");
    let api: Api<ConfigMap> = Api::default_namespaced(sim.client().expect("client"));
    let mut n = 0u64;
    c.bench_function("kube-sim merge patch round trip", |b| {
        b.iter(|| {
            n += 1;
            rt.block_on(api.patch(
                "w",
                &PatchParams::default(),
                &Patch::Merge(json!({"data": {"n": n.to_string()}})),
            ))
            .expect("patch");
        });
    });
}

criterion_group!(benches, list, fan_out, writes);
criterion_main!(benches);
