use super::*;
use crate::source::SourceKind;
use crate::workload::{Container, NamedSource, WorkloadKind};

fn deployment(name: &str, env_from: &[&str]) -> IndexedWorkload {
    let mut workload = Workload::new(WorkloadRef::new(WorkloadKind::Deployment, "ns", name));
    workload.template.containers.push(Container {
        name: "app".into(),
        env_from: env_from
            .iter()
            .map(|cm| NamedSource::new(SourceKind::ConfigMap, *cm))
            .collect(),
        ..Container::default()
    });
    IndexedWorkload::new(workload).with_resource_version("1")
}

fn cm(name: &str) -> SourceRef {
    SourceRef::new(SourceKind::ConfigMap, "ns", name)
}

fn index() -> WorkloadIndex {
    WorkloadIndex::new(vec!["configmap.reloader.stakater.com/reload".into()])
}

#[test]
fn candidates_are_the_workloads_referencing_the_source() {
    let mut index = index();
    index.upsert(0, deployment("a", &["cm1"]));
    index.upsert(0, deployment("b", &["cm1", "cm2"]));
    index.upsert(0, deployment("c", &["cm3"]));
    let names: Vec<String> = index.candidates(&cm("cm1")).into_iter().map(|w| w.name).collect();
    assert_eq!(names, vec!["a", "b"]);
    assert!(
        index
            .candidates(&SourceRef::new(SourceKind::ConfigMap, "other", "cm1"))
            .is_empty()
    );
}

#[test]
fn named_reload_workloads_are_candidates_for_every_source_of_their_namespace() {
    let mut index = index();
    let mut named = deployment("named", &[]);
    named
        .workload
        .annotations
        .insert("configmap.reloader.stakater.com/reload".into(), "app-.*".into());
    index.upsert(0, named);
    assert_eq!(index.candidates(&cm("anything")).len(), 1);
    assert!(
        index
            .candidates(&SourceRef::new(SourceKind::ConfigMap, "other", "x"))
            .is_empty()
    );
}

#[test]
fn updating_a_workload_moves_its_reverse_entries() {
    let mut index = index();
    assert!(index.upsert(0, deployment("a", &["cm1"])));
    assert!(!index.upsert(0, deployment("a", &["cm2"])));
    assert!(index.candidates(&cm("cm1")).is_empty());
    assert_eq!(index.candidates(&cm("cm2")).len(), 1);
    index.remove(&WorkloadRef::new(WorkloadKind::Deployment, "ns", "a"));
    assert!(index.candidates(&cm("cm2")).is_empty());
    assert!(index.is_empty());
}

#[test]
fn last_applied_configuration_is_not_kept() {
    let mut index = index();
    let mut w = deployment("a", &[]);
    w.workload.annotations.insert(
        "kubectl.kubernetes.io/last-applied-configuration".into(),
        "{...}".into(),
    );
    index.upsert(0, w);
    let id = WorkloadRef::new(WorkloadKind::Deployment, "ns", "a");
    assert!(index.get(&id).is_some_and(|w| w.workload.annotations.is_empty()));
}

#[test]
fn relist_returns_new_and_changed_workloads_and_drops_vanished_ones() {
    let mut index = index();
    index.resync_started(0);
    index.resync_item(0, deployment("a", &["cm1"]));
    index.resync_item(0, deployment("b", &["cm1"]));
    let first = index.resync_done(0);
    assert_eq!(first.len(), 2);
    assert!(first.iter().all(|(_, new)| *new));

    index.resync_started(0);
    index.resync_item(0, deployment("a", &["cm1"]));
    index.resync_item(0, deployment("c", &["cm1"]).with_resource_version("9"));
    let second = index.resync_done(0);
    assert_eq!(
        second,
        vec![(WorkloadRef::new(WorkloadKind::Deployment, "ns", "c"), true)]
    );
    assert_eq!(index.len(), 2);
    assert!(
        index
            .get(&WorkloadRef::new(WorkloadKind::Deployment, "ns", "b"))
            .is_none()
    );
}

#[test]
fn a_write_response_older_than_the_watched_state_does_not_roll_the_index_back() {
    let mut index = index();
    index.upsert(0, deployment("a", &["cm1"]).with_resource_version("10"));
    assert!(!index.refresh(deployment("a", &["cm2"]).with_resource_version("9")));
    assert_eq!(index.candidates(&cm("cm1")).len(), 1);
    assert!(index.refresh(deployment("a", &["cm2"]).with_resource_version("11")));
    assert_eq!(index.candidates(&cm("cm2")).len(), 1);
}

#[test]
fn candidates_are_sorted_and_name_a_workload_once_when_it_both_references_and_names_the_source() {
    let mut index = index();
    let mut both = deployment("b-named", &["cm1"]);
    both.workload
        .annotations
        .insert("configmap.reloader.stakater.com/reload".into(), "cm1".into());
    index.upsert(0, deployment("c", &["cm1", "cm1"]));
    index.upsert(0, both);
    index.upsert(0, deployment("a", &["cm1"]));
    index.upsert(0, deployment("d", &["cm2"]));
    let names: Vec<String> = index.candidates(&cm("cm1")).into_iter().map(|w| w.name).collect();
    assert_eq!(names, vec!["a", "b-named", "c"]);
    let names: Vec<String> = index.candidates(&cm("cm2")).into_iter().map(|w| w.name).collect();
    assert_eq!(names, vec!["b-named", "d"]);
    index.remove(&WorkloadRef::new(WorkloadKind::Deployment, "ns", "a"));
    index.remove(&WorkloadRef::new(WorkloadKind::Deployment, "ns", "c"));
    let names: Vec<String> = index.candidates(&cm("cm1")).into_iter().map(|w| w.name).collect();
    assert_eq!(names, vec!["b-named"]);
}
