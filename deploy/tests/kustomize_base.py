"""Generates the plain kustomize base in deploy/kubernetes from the Helm chart (default values:
global mode, Reloader's default env-vars strategy, release `reloader` in namespace `reloader`),
so the two never drift: `python3 deploy/tests/kustomize_base.py --write` rewrites the files and
test_kustomize.py fails while they differ from what the chart renders."""

import sys

import yaml

from chart_support import KUSTOMIZE, NAMESPACE, render

HEADER = (
    "# Generated from deploy/helm/reloader (default values) by deploy/tests/kustomize_base.py.\n"
    "# Do not edit by hand: change the chart, then run `python3 deploy/tests/kustomize_base.py --write`.\n"
)
# Labels that describe a Helm release; they would be false here.
HELM_ONLY_LABELS = {"chart", "heritage", "app.kubernetes.io/managed-by"}
FILES = {
    "namespace.yaml": ["Namespace"],
    "rbac.yaml": ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"],
    "deployment.yaml": ["Deployment"],
}


def strip_helm_labels(node):
    """Removes Helm-only labels wherever a `labels` map appears (metadata and pod template)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "labels" and isinstance(value, dict):
                for label in HELM_ONLY_LABELS:
                    value.pop(label, None)
            else:
                strip_helm_labels(value)
    elif isinstance(node, list):
        for item in node:
            strip_helm_labels(item)


def base_files():
    """{file name: text} of the kustomize base."""
    docs = render()
    for doc in docs:
        strip_helm_labels(doc)
    docs.insert(0, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    files = {}
    for name, kinds in FILES.items():
        chosen = [d for kind in kinds for d in docs if d["kind"] == kind]
        files[name] = HEADER + "---\n".join(yaml.safe_dump(d, sort_keys=False) for d in chosen)
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": NAMESPACE,
        "resources": list(FILES),
    }
    files["kustomization.yaml"] = HEADER + yaml.safe_dump(kustomization, sort_keys=False)
    return files


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python3 deploy/tests/kustomize_base.py --write")
    KUSTOMIZE.mkdir(parents=True, exist_ok=True)
    for file_name, text in base_files().items():
        (KUSTOMIZE / file_name).write_text(text, encoding="utf-8")
        print(f"wrote {KUSTOMIZE / file_name}")
