//! RBAC sufficiency of the Helm chart (issue 7; Reloader #1041 shipped a ClusterRole without
//! `secrets`): the chart is rendered for each scope mode (global, single namespace, namespaces
//! list, namespace selector), with and without HA; the simulator gives a bearer token EXACTLY the
//! rules the chart binds to its ServiceAccount (a RoleBinding's namespace decides where its Role
//! applies); the real `reloader` binary runs with the rendered container args and env and a
//! kubeconfig carrying that token. A ConfigMap and a Secret change
//! must then reload a Deployment and a CronJob, write Events, and (HA) acquire the Lease, with
//! zero 403 answered to that user. A negative control removes `secrets` from the rules and
//! checks that the 403 is seen, so the check can fail.
//!
//! `deploy/tests/rbac_inputs.py` renders the chart with the real Helm SDK and resolves the
//! bindings; everything else is here.

mod binary_support;
mod python_support;

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::process::Command;

use binary_support::{Launch, Reloader, eventually, namespace, temp_path};
use futures::FutureExt as _;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, Patch, PatchParams};
use python_support::{ensure_python_packages, report, run};
use reload_tests::binaries::repo_root;
use reload_tests::sim::{Rule, Simulator};
use serde::Deserialize;
use serde_json::{Value, json};

const TOKEN: &str = "chart-service-account-token";
/// Reloader's default Lease name (`--leader-election-lease-name`).
const LEASE: &str = "stakater-reloader-lock";

/// What the chart renders for one set of values (see `deploy/tests/rbac_inputs.py`).
#[derive(Debug, Deserialize)]
struct Rendered {
    /// The release namespace.
    namespace: String,
    /// `system:serviceaccount:<namespace>:<service account>`.
    user: String,
    /// One Role (in its binding's namespace) or ClusterRole per binding of the ServiceAccount.
    roles: Vec<Value>,
    /// The container's args.
    args: Vec<String>,
    /// The container's env, resolved as the kubelet would.
    env: BTreeMap<String, String>,
}

impl Rendered {
    fn of(values: &Value) -> Self {
        let root = repo_root();
        ensure_python_packages(&root);
        let output = run(Command::new("python3")
            .arg("deploy/tests/rbac_inputs.py")
            .arg(values.to_string())
            .current_dir(&root));
        assert!(
            output.status.success(),
            "rendering {values} failed:\n{}",
            report(&output)
        );
        serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|error| panic!("rbac_inputs.py printed no JSON ({error}):\n{}", report(&output)))
    }

    /// The rendered rules, as the simulator enforces them.
    fn rules(&self) -> Vec<Rule> {
        self.roles
            .iter()
            .flat_map(|role| Rule::from_role(role).unwrap_or_else(|e| panic!("{}: {role}", e.message)))
            .collect()
    }

    /// The leader-election identity, when the chart turned HA on.
    fn pod_name(&self) -> Option<&str> {
        self.env.get("POD_NAME").map(String::as_str)
    }

    /// `reloader` against `sim` with this token, the rendered args and env (and a free port).
    fn launch(&self, sim: &Simulator) -> Reloader {
        let kubeconfig = temp_path("token-kubeconfig.yaml");
        sim.write_kubeconfig_with_token(&kubeconfig, TOKEN)
            .expect("kubeconfig written");
        let mut launch = Launch::with_kubeconfig(kubeconfig);
        for arg in &self.args {
            launch = launch.arg(arg);
        }
        for (key, value) in &self.env {
            launch = launch.env(key, value);
        }
        launch.start()
    }
}

/// The chart's scope modes.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// `watchGlobally: true`: a ClusterRole.
    Global,
    /// `watchGlobally: false`: a Role in the release namespace.
    Single,
    /// `namespaces: [team-a, team-b]`: a Role in each (and in the release namespace).
    Namespaces,
    /// `namespaceSelector: team=reload`: the ClusterRole plus `namespaces` list/watch.
    Selector,
}

impl Mode {
    fn values(self, ha: bool) -> Value {
        let scope = match self {
            Mode::Global => json!({"watchGlobally": true}),
            Mode::Single => json!({"watchGlobally": false}),
            Mode::Namespaces => json!({"watchGlobally": false, "namespaces": ["team-a", "team-b"]}),
            Mode::Selector => json!({"watchGlobally": true, "namespaceSelector": "team=reload"}),
        };
        let mut reloader = scope;
        reloader["enableHA"] = json!(ha);
        json!({ "reloader": reloader })
    }

    /// Where the test puts workloads: namespaces the mode watches (not only the release one).
    fn app_namespaces(self) -> &'static [&'static str] {
        match self {
            Mode::Global => &["team-a", "team-b"],
            Mode::Single => &["reloader"],
            Mode::Namespaces | Mode::Selector => &["team-a", "team-b"],
        }
    }

    /// The labels of the app namespaces (the selector mode selects them by label).
    fn namespace_labels(self) -> Value {
        match self {
            Mode::Selector => json!({"team": "reload"}),
            Mode::Global | Mode::Single | Mode::Namespaces => json!({}),
        }
    }
}

/// ConfigMap `app-config`, Secret `app-secret`, and Deployment `web` plus CronJob `nightly`
/// (both `reloader.stakater.com/auto`) that take both through `envFrom`.
fn seed_apps(sim: &Simulator, ns: &str, labels: Value) {
    namespace(sim, ns, labels);
    let env_from = json!([{"configMapRef": {"name": "app-config"}}, {"secretRef": {"name": "app-secret"}}]);
    let auto = json!({"reloader.stakater.com/auto": "true"});
    let objects = [
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "app-config", "namespace": ns}, "data": {"k": "v1"}}),
        json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "app-secret", "namespace": ns}, "data": {"k": "czE="}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": ns, "annotations": auto},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": "nginx", "envFrom": env_from}]}}}}),
        json!({"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "nightly", "namespace": ns, "annotations": auto},
            "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {
                "spec": {"restartPolicy": "Never",
                    "containers": [{"name": "batch", "image": "busybox", "envFrom": env_from}]}}}}}}),
    ];
    for object in objects {
        sim.seed(object).expect("fixture seeded");
    }
}

/// Names of the env vars on Deployment `ns/web`'s container.
async fn web_env(sim: &Simulator, ns: &str) -> Vec<String> {
    let deployment = Api::<Deployment>::namespaced(sim.client().expect("client"), ns)
        .get("web")
        .await
        .expect("deployment read");
    deployment
        .spec
        .and_then(|s| s.template.spec)
        .map(|s| s.containers)
        .unwrap_or_default()
        .into_iter()
        .flat_map(|c| c.env.unwrap_or_default())
        .map(|e| e.name)
        .collect()
}

/// Jobs in `ns` created from CronJob `nightly`.
async fn nightly_jobs(sim: &Simulator, ns: &str) -> usize {
    Api::<Job>::namespaced(sim.client().expect("client"), ns)
        .list(&ListParams::default())
        .await
        .expect("jobs listed")
        .items
        .iter()
        .filter(|job| {
            job.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.kind == "CronJob" && o.name == "nightly")
        })
        .count()
}

/// events.k8s.io Events in `ns` about object `name`.
async fn events_about(sim: &Simulator, ns: &str, name: &str) -> usize {
    Api::<Event>::namespaced(sim.client().expect("client"), ns)
        .list(&ListParams::default())
        .await
        .expect("events listed")
        .items
        .iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .count()
}

/// Changes ConfigMap `app-config` then Secret `app-secret` in `ns` and waits for each to reload
/// Deployment `web` and CronJob `nightly`, and for an Event on `web`.
async fn change_sources_and_see_reloads(sim: &Simulator, ns: &str, reloader: &Reloader) {
    let admin = sim.client().expect("client");
    Api::<ConfigMap>::namespaced(admin.clone(), ns)
        .patch(
            "app-config",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"k": "v2"}})),
        )
        .await
        .expect("configmap changed");
    let what = format!("{ns}: the ConfigMap change to reload web and nightly");
    eventually(&what, || async {
        web_env(sim, ns)
            .await
            .contains(&"STAKATER_APP_CONFIG_CONFIGMAP".to_owned())
            && nightly_jobs(sim, ns).await >= 1
    })
    .await;
    Api::<Secret>::namespaced(admin, ns)
        .patch(
            "app-secret",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"k": "czI="}})),
        )
        .await
        .expect("secret changed");
    let what = format!("{ns}: the Secret change to reload web and nightly");
    eventually(&what, || async {
        web_env(sim, ns)
            .await
            .contains(&"STAKATER_APP_SECRET_SECRET".to_owned())
            && nightly_jobs(sim, ns).await >= 2
    })
    .await;
    let what = format!("{ns}: an Event on web (output:\n{})", reloader.output());
    eventually(&what, || async { events_about(sim, ns, "web").await > 0 }).await;
}

/// Every request `user` was refused with 403, as `verb group/resource in namespace`.
fn denials(sim: &Simulator, user: &str) -> Vec<String> {
    sim.stats()
        .responses_with(user, 403)
        .map(|r| {
            format!(
                "{} {}/{} in {:?} (x{})",
                r.verb, r.group, r.resource, r.namespace, r.count
            )
        })
        .collect()
}

async fn chart_rules_suffice(mode: Mode, ha: bool) {
    let rendered = Rendered::of(&mode.values(ha));
    assert_eq!(
        rendered.pod_name().is_some(),
        ha,
        "POD_NAME rendered iff HA: {rendered:?}"
    );
    let sim = Simulator::config()
        .token(TOKEN, &rendered.user, rendered.rules())
        .start()
        .await
        .expect("simulator starts");
    namespace(&sim, &rendered.namespace, json!({}));
    for ns in mode.app_namespaces() {
        seed_apps(&sim, ns, mode.namespace_labels());
    }

    let reloader = rendered.launch(&sim);
    // A missing rule usually shows up as a wait that times out: name the denials then.
    let exercised =
        AssertUnwindSafe(async {
            if let Some(pod) = rendered.pod_name() {
                let leases = Api::<Lease>::namespaced(sim.client().expect("client"), &rendered.namespace);
                eventually(&format!("{pod} to hold Lease {LEASE}"), || async {
                    leases.get_opt(LEASE).await.ok().flatten().is_some_and(|lease| {
                        lease.spec.and_then(|s| s.holder_identity).as_deref() == Some(pod)
                    })
                })
                .await;
            }
            reloader.wait_synced().await;
            for ns in mode.app_namespaces() {
                change_sources_and_see_reloads(&sim, ns, &reloader).await;
            }
        })
        .catch_unwind()
        .await;
    if let Err(panic) = exercised {
        let denied = denials(&sim, &rendered.user);
        eprintln!(
            "{mode:?} (HA {ha}): requests denied to {}: {denied:#?}",
            rendered.user
        );
        std::panic::resume_unwind(panic);
    }
    // Shutdown requests (the Lease release) count too.
    reloader.stop().await;

    let stats = sim.stats();
    assert!(
        stats.status_count(&rendered.user, 200) > 0,
        "the binary's requests were not made as {}",
        rendered.user
    );
    assert_eq!(
        stats.status_count(&rendered.user, 401),
        0,
        "the token was not accepted"
    );
    // What the binary used, for reviewing the rules' width (`-- --nocapture` shows it).
    let used: std::collections::BTreeSet<String> = stats
        .responses
        .iter()
        .filter(|r| r.user == rendered.user)
        .map(|r| format!("{} {}/{} [{}]", r.verb, r.group, r.resource, r.status))
        .collect();
    println!("{mode:?} (HA {ha}) used: {used:#?}");
    let denied = denials(&sim, &rendered.user);
    assert!(
        denied.is_empty(),
        "{mode:?} (HA {ha}): the chart's rules do not cover: {denied:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_mode_rules_suffice_for_reloads_and_events() {
    chart_rules_suffice(Mode::Global, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_mode_rules_with_ha_suffice_for_leader_election_too() {
    chart_rules_suffice(Mode::Global, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_namespace_rules_suffice_for_reloads_and_events() {
    chart_rules_suffice(Mode::Single, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_namespace_rules_with_ha_suffice_for_leader_election_too() {
    chart_rules_suffice(Mode::Single, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_list_rules_suffice_for_reloads_and_events() {
    chart_rules_suffice(Mode::Namespaces, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_list_rules_with_ha_suffice_for_leader_election_too() {
    chart_rules_suffice(Mode::Namespaces, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_selector_rules_suffice_for_reloads_and_events() {
    chart_rules_suffice(Mode::Selector, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_selector_rules_with_ha_suffice_for_leader_election_too() {
    chart_rules_suffice(Mode::Selector, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_without_secrets_list_is_caught_by_a_403() {
    let rendered = Rendered::of(&Mode::Global.values(false));
    let mut rules = rendered.rules();
    let mut removed = 0;
    for rule in &mut rules {
        let before = rule.resources.len();
        rule.resources.retain(|r| r != "secrets");
        removed += before - rule.resources.len();
    }
    assert_eq!(
        removed, 1,
        "the global rules grant secrets in exactly one rule: {rules:#?}"
    );
    rules.retain(|rule| !rule.resources.is_empty());
    let sim = Simulator::config()
        .token(TOKEN, &rendered.user, rules)
        .start()
        .await
        .expect("simulator starts");
    namespace(&sim, &rendered.namespace, json!({}));
    seed_apps(&sim, "team-a", json!({}));

    let reloader = rendered.launch(&sim);
    eventually("a 403 on listing secrets", || async {
        denials(&sim, &rendered.user)
            .iter()
            .any(|d| d.starts_with("list /secrets"))
    })
    .await;
    drop(reloader);
}
