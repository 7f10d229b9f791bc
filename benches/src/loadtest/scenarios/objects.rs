//! Creating and updating the scenarios' objects through the API, as upstream's harness does
//! (one POST per object, GET + UPDATE per change).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::Client;
use kube::api::{Api, PostParams};
use reload_core::SourceKind;
use reload_strategies::env_var_name;
use serde_json::{Value, json};

/// The image of upstream's test workloads (never pulled: the simulator runs no pods).
pub const IMAGE: &str = "gcr.io/google-containers/busybox:1.27";

/// One ConfigMap or Secret a workload references.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SourceId {
    /// ConfigMap or Secret.
    pub kind: SourceKind,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl SourceId {
    /// A ConfigMap of `namespace`.
    pub fn config_map(namespace: &str, name: &str) -> Self {
        Self {
            kind: SourceKind::ConfigMap,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }

    /// A Secret of `namespace`.
    pub fn secret(namespace: &str, name: &str) -> Self {
        Self {
            kind: SourceKind::Secret,
            ..Self::config_map(namespace, name)
        }
    }

    /// The key the accounting uses (`<namespace>/STAKATER_<NAME>_<KIND>`).
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, env_var_name(self.kind, &self.name))
    }
}

/// Sources each workload (accounting key `<namespace>/<plural>/<name>`) references.
pub type References = BTreeMap<String, Vec<SourceId>>;

/// A container of upstream's test workloads with `envFrom`.
pub fn container(name: &str, env_from: &Value) -> Value {
    json!({ "name": name, "image": IMAGE, "command": ["sleep", "999999999"], "envFrom": env_from,
            "resources": { "requests": { "cpu": "1m", "memory": "4Mi" }, "limits": { "cpu": "10m", "memory": "16Mi" } } })
}

/// `envFrom` entries for `sources`.
pub fn env_from(sources: &[&SourceId]) -> Value {
    Value::Array(
        sources
            .iter()
            .map(|s| match s.kind {
                SourceKind::Secret => json!({ "secretRef": { "name": s.name } }),
                _ => json!({ "configMapRef": { "name": s.name } }),
            })
            .collect(),
    )
}

/// A pod spec with one `app` container taking `sources` through `envFrom`.
pub fn simple_pod_spec(sources: &[&SourceId]) -> Value {
    pod_spec(
        &json!([container("app", &env_from(sources))]),
        &json!([]),
        &json!([]),
    )
}

/// A pod spec.
pub fn pod_spec(containers: &Value, init_containers: &Value, volumes: &Value) -> Value {
    json!({ "containers": containers, "initContainers": init_containers, "volumes": volumes,
            "terminationGracePeriodSeconds": 0 })
}

/// Creates namespace `name`.
pub async fn create_namespace(client: &Client, name: &str) -> anyhow::Result<()> {
    let ns: Namespace = serde_json::from_value(json!({ "metadata": { "name": name } }))?;
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await?;
    Ok(())
}

/// Creates ConfigMap `name` in `namespace` with `data`.
pub async fn create_config_map(
    client: &Client,
    namespace: &str,
    name: &str,
    data: Value,
) -> anyhow::Result<()> {
    let cm: ConfigMap = serde_json::from_value(json!({ "metadata": { "name": name }, "data": data }))?;
    Api::<ConfigMap>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &cm)
        .await?;
    Ok(())
}

/// Creates Secret `name` in `namespace` with `string_data` (folded into `data` by the server).
pub async fn create_secret(
    client: &Client,
    namespace: &str,
    name: &str,
    string_data: Value,
) -> anyhow::Result<()> {
    let secret: Secret =
        serde_json::from_value(json!({ "metadata": { "name": name }, "stringData": string_data }))?;
    Api::<Secret>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &secret)
        .await?;
    Ok(())
}

/// A workload to create: kind (plural), namespace, name, pod spec, extra metadata annotations.
#[derive(Debug, Clone)]
pub struct WorkloadSpec<'a> {
    /// `deployments`, `statefulsets` or `daemonsets`.
    pub kind: &'a str,
    /// Namespace.
    pub namespace: &'a str,
    /// Name.
    pub name: &'a str,
    /// The pod template's spec.
    pub pod_spec: Value,
    /// Metadata annotations besides `reloader.stakater.com/auto: "true"`.
    pub annotations: &'a [(&'a str, &'a str)],
}

impl<'a> WorkloadSpec<'a> {
    /// A Deployment of upstream's shape with no extra annotations.
    pub fn deployment(namespace: &'a str, name: &'a str, pod_spec: Value) -> Self {
        Self {
            kind: "deployments",
            namespace,
            name,
            pod_spec,
            annotations: &[],
        }
    }

    /// The workload as a JSON object.
    pub fn to_object(&self) -> Value {
        let name = self.name;
        let mut spec = json!({
            "replicas": 1,
            "selector": { "matchLabels": { "app": name } },
            "template": { "metadata": { "labels": { "app": name } }, "spec": self.pod_spec },
        });
        match self.kind {
            "deployments" => {
                spec["strategy"] = json!({ "type": "RollingUpdate", "rollingUpdate": { "maxSurge": 1, "maxUnavailable": 1 } });
            }
            "statefulsets" => spec["serviceName"] = json!(name),
            _ => drop(spec.as_object_mut().map(|s| s.remove("replicas"))),
        }
        let mut annotations =
            serde_json::Map::from_iter([("reloader.stakater.com/auto".to_owned(), json!("true"))]);
        for (k, v) in self.annotations {
            annotations.insert((*k).to_owned(), json!(v));
        }
        json!({ "metadata": { "name": name, "namespace": self.namespace, "annotations": annotations }, "spec": spec })
    }

    /// The accounting key `<namespace>/<plural>/<name>`.
    pub fn key(&self) -> String {
        format!("{}/{}/{}", self.namespace, self.kind, self.name)
    }

    /// Creates the workload; returns its accounting key.
    pub async fn create(&self, client: &Client) -> anyhow::Result<String> {
        let object = self.to_object();
        let pp = PostParams::default();
        match self.kind {
            "deployments" => drop(
                Api::<Deployment>::namespaced(client.clone(), self.namespace)
                    .create(&pp, &serde_json::from_value(object)?)
                    .await?,
            ),
            "statefulsets" => drop(
                Api::<StatefulSet>::namespaced(client.clone(), self.namespace)
                    .create(&pp, &serde_json::from_value(object)?)
                    .await?,
            ),
            _ => drop(
                Api::<DaemonSet>::namespaced(client.clone(), self.namespace)
                    .create(&pp, &serde_json::from_value(object)?)
                    .await?,
            ),
        }
        Ok(self.key())
    }
}

/// Creates `count` ConfigMaps `<prefix>-cm-<i>` (data `key: <value>`) and as many Deployments
/// `<prefix>-deploy-<i>`, each referencing its own ConfigMap through `envFrom`.
pub async fn one_to_one(
    client: &Client,
    namespace: &str,
    prefix: &str,
    count: usize,
    value: &str,
    annotations: &[(&str, &str)],
    refs: &mut References,
) -> anyhow::Result<()> {
    for i in 0..count {
        let cm = SourceId::config_map(namespace, &format!("{prefix}-cm-{i}"));
        create_config_map(client, namespace, &cm.name, json!({ "key": value })).await?;
        let name = format!("{prefix}-deploy-{i}");
        let spec = WorkloadSpec {
            annotations,
            ..WorkloadSpec::deployment(namespace, &name, simple_pod_spec(&[&cm]))
        };
        refs.insert(spec.create(client).await?, vec![cm]);
    }
    Ok(())
}

/// GET + UPDATE of one ConfigMap, as upstream does; a conflict or error counts as no update.
pub async fn update_config_map(
    api: &Api<ConfigMap>,
    name: &str,
    change: impl FnOnce(&mut ConfigMap),
) -> bool {
    let Ok(mut cm) = api.get(name).await else {
        return false;
    };
    change(&mut cm);
    api.replace(name, &PostParams::default(), &cm).await.is_ok()
}

/// GET + UPDATE of one Secret setting `stringData[key] = value`.
pub async fn update_secret(api: &Api<Secret>, name: &str, key: &str, value: String) -> bool {
    let Ok(mut secret) = api.get(name).await else {
        return false;
    };
    secret.string_data = Some(BTreeMap::from([(key.to_owned(), value)]));
    api.replace(name, &PostParams::default(), &secret).await.is_ok()
}

/// Sets `data[key] = value` of a ConfigMap.
pub fn set(cm: &mut ConfigMap, key: &str, value: String) {
    cm.data.get_or_insert_default().insert(key.to_owned(), value);
}
