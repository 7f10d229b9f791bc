"""Shared helpers of the chart and kustomize tests: render the chart with the Helm SDK, pick
objects out of the result, and run the real `reloader config` on a Deployment's args and env."""

import base64
import copy
import json
import os
import subprocess
from pathlib import Path

import helm_python
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "reloader"
KUSTOMIZE = REPO / "deploy" / "kubernetes"
# Reloader chart 2.2.16's default values.yaml (Apache-2.0), kept unchanged as test input.
UPSTREAM_VALUES = Path(__file__).resolve().parent / "data" / "reloader-chart-2.2.16-values.yaml"
# `RELOADER_BIN` (set by tests/tests/chart.rs after building it), else the release build here.
BINARY = Path(os.environ.get("RELOADER_BIN") or REPO / "target" / "release" / "reloader")
RELEASE = "reloader"
NAMESPACE = "reloader"
FULLNAME = "reloader-reloader"

# The reference user's values: terraform `helm_release` into a dedicated namespace.
REFERENCE_USER = {"reloader": {"reloadStrategy": "annotations", "watchGlobally": True, "logLevel": "debug"}}

# Every optional object and most settings on at once (scoped mode, HA, all extras).
EVERYTHING_ON = {
    "global": {"imagePullSecrets": ["a", {"name": "b"}]},
    "reloader": {
        "watchGlobally": False, "namespaces": ["x"], "enableHA": True, "readOnlyRootFileSystem": True,
        "isArgoRollouts": True, "enableCSIIntegration": True, "webhookUrl": "https://hooks.example/",
        "deployment": {
            "hostUsers": False, "imagePullSecrets": [{"name": "c"}], "nodeSelector": {"k": "v"},
            "volumes": [{"name": "v", "emptyDir": {}}], "volumeMounts": [{"name": "v", "mountPath": "/v"}],
            "automountServiceAccountToken": True, "env": {"secret": {"ALERT_ON_RELOAD": "true"}},
        },
        "service": {"port": 9090}, "serviceMonitor": {"enabled": True}, "podMonitor": {"enabled": True},
        "podDisruptionBudget": {"enabled": True}, "netpol": {"enabled": True},
        "verticalPodAutoscaler": {"enabled": True}, "hashKeySecret": {"name": "key"},
        "serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/r"}},
    },
}


def merged(base, override):
    """Deep merge of two values dicts (override wins), as Helm coalesces a values file and --set."""
    out = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def upstream_values():
    """Reloader chart 2.2.16's default values file, unchanged."""
    with open(UPSTREAM_VALUES, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def render(values=None, namespace=NAMESPACE, name=RELEASE):
    """Every object the chart renders (NOTES.txt excluded), parsed."""
    chart = helm_python.Chart.load(CHART)
    manifests = chart.render(values or {}, name=name, namespace=namespace)
    docs = []
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            continue
        docs.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return docs


def find(docs, kind, name=None, namespace=None):
    """Objects of `kind` (optionally with this name / namespace)."""
    return [
        d
        for d in docs
        if d["kind"] == kind
        and (name is None or d["metadata"]["name"] == name)
        and (namespace is None or d["metadata"].get("namespace") == namespace)
    ]


def one(docs, kind, name=None, namespace=None):
    """The single object of `kind`; fails the calling test otherwise."""
    found = find(docs, kind, name, namespace)
    if len(found) != 1:
        raise AssertionError(f"expected one {kind} {name or ''} {namespace or ''}, found {len(found)}")
    return found[0]


def container(docs):
    """The Deployment's only container."""
    containers = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    if len(containers) != 1:
        raise AssertionError(f"expected one container, found {len(containers)}")
    return containers[0]


def args(docs):
    return container(docs).get("args") or []


def env(docs):
    """The container's env as {name: entry}."""
    return {e["name"]: e for e in container(docs).get("env") or []}


def grants(role):
    """A Role's rules as a set of (apiGroup, resource, verb, resourceNames) tuples."""
    out = set()
    for rule in role.get("rules") or []:
        names = tuple(sorted(rule.get("resourceNames") or []))
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    out.add((group, resource, verb, names))
    return out


def verbs(role, group, resource):
    """Verbs granted on group/resource (without resourceNames)."""
    return {v for g, r, v, names in grants(role) if g == group and r == resource and not names}


def binary():
    """The release `reloader` binary, built if missing."""
    if not BINARY.exists():
        subprocess.run(
            ["cargo", "build", "--release", "-p", "reload-bin", "--bin", "reloader"],
            cwd=REPO,
            check=True,
        )
    return BINARY


def resolved_env(docs, pod_name="reloader-7d9f-abcde"):
    """The container's env as the kubelet would resolve it: field refs from the pod, secret refs
    from the rendered Secret (or a placeholder for Secrets that exist outside the chart)."""
    deployment = one(docs, "Deployment")
    namespace = deployment["metadata"]["namespace"]
    fields = {"metadata.namespace": namespace, "metadata.name": pod_name, "spec.nodeName": "node-1"}
    secrets = {s["metadata"]["name"]: s.get("data") or {} for s in find(docs, "Secret")}
    out = {}
    for name, entry in env(docs).items():
        if "value" in entry:
            out[name] = str(entry["value"])
            continue
        source = entry["valueFrom"]
        if "fieldRef" in source:
            out[name] = fields[source["fieldRef"]["fieldPath"]]
        elif "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            data = secrets.get(ref["name"])
            if data is None:
                out[name] = f"from-existing-secret-{ref['key']}"
            else:
                out[name] = base64.b64decode(data[ref["key"]]).decode()
        else:
            raise AssertionError(f"env {name}: unexpected source {source}")
    return out


def effective_settings(docs):
    """Runs `reloader config` with the Deployment's args and resolved env; returns
    (exit code, parsed JSON or None, stderr)."""
    process = subprocess.run(
        [str(binary()), "config", *args(docs)],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **resolved_env(docs)},
        capture_output=True,
        text=True,
        check=False,
    )
    settings = json.loads(process.stdout) if process.returncode == 0 else None
    return process.returncode, settings, process.stderr
