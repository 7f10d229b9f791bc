"""Renders the chart and prints, as JSON, what the RBAC sufficiency test (tests/tests/chart_rbac.rs)
needs to run the real binary as the chart would: the rules the chart grants its ServiceAccount
(resolved through the rendered bindings: a RoleBinding's namespace decides where its Role
applies), and the Deployment's container args and env (field references resolved as the
kubelet would, for pod `reloader-7d9f-abcde`).

    python3 deploy/tests/rbac_inputs.py '{"reloader": {"watchGlobally": false}}'

Prints {"namespace", "serviceAccount", "user", "roles": [Role/ClusterRole objects], "args", "env"}.
A binding whose role is not rendered, or a binding to anyone else, fails loudly: that would be a
chart bug the rules alone would hide."""

import json
import sys

from chart_support import NAMESPACE, args, find, one, render, resolved_env


def granted_roles(docs, service_account, namespace):
    """One Role (with the binding's namespace) or ClusterRole per binding of the ServiceAccount."""
    roles = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]): d
             for d in docs if d["kind"] in ("Role", "ClusterRole")}
    out = []
    for binding in find(docs, "RoleBinding") + find(docs, "ClusterRoleBinding"):
        subjects = binding.get("subjects") or []
        wanted = {"kind": "ServiceAccount", "name": service_account, "namespace": namespace}
        if subjects != [wanted]:
            raise SystemExit(f"{binding['kind']} {binding['metadata']['name']} binds {subjects}, expected [{wanted}]")
        ref = binding["roleRef"]
        scope = binding["metadata"].get("namespace")
        role_namespace = scope if ref["kind"] == "Role" else None
        role = roles.get((ref["kind"], role_namespace, ref["name"]))
        if role is None:
            raise SystemExit(f"{binding['kind']} {binding['metadata']['name']} refers to missing {ref}")
        granted = {"apiVersion": "rbac.authorization.k8s.io/v1", "rules": role.get("rules") or []}
        if binding["kind"] == "RoleBinding":
            # A RoleBinding grants its Role's (or a ClusterRole's) rules in its own namespace only.
            granted.update(kind="Role", metadata={"name": ref["name"], "namespace": scope})
        else:
            granted.update(kind="ClusterRole", metadata={"name": ref["name"]})
        out.append(granted)
    return out


def inputs(values):
    docs = render(values)
    deployment = one(docs, "Deployment")
    namespace = deployment["metadata"]["namespace"]
    account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
    return {
        "namespace": namespace,
        "serviceAccount": account,
        "user": f"system:serviceaccount:{namespace}:{account}",
        "roles": granted_roles(docs, account, namespace),
        "args": args(docs),
        "env": resolved_env(docs),
    }


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python3 deploy/tests/rbac_inputs.py VALUES_JSON")
    result = inputs(json.loads(sys.argv[1]))
    if result["namespace"] != NAMESPACE:
        sys.exit(f"rendered into {result['namespace']}, expected {NAMESPACE}")
    json.dump(result, sys.stdout)
