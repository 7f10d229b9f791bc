"""Server-side dry-run: every object the chart and the kustomize base render, of a kind the
simulator serves, is accepted by `kubectl create --dry-run=server` against a `kube-sim`
process. Kinds it does not serve (CRDs of other projects) are skipped, and which ones is
asserted, so nothing is skipped silently."""

import copy
import sys
import unittest

import yaml

from chart_support import EVERYTHING_ON, KUSTOMIZE, NAMESPACE, REFERENCE_USER, merged, render, upstream_values
from kube_sim import KubeSim, manifest

# CRD kinds of other projects the chart can render; the simulator does not serve them.
NOT_SERVED = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PodMonitor"),
    ("autoscaling.k8s.io/v1", "VerticalPodAutoscaler"),
}

# label: (values, kinds expected to be skipped)
CASES = {
    "default values": ({}, set()),
    "reloader's values file": (upstream_values(), set()),
    "reference user": (merged(upstream_values(), REFERENCE_USER), set()),
    "single namespace": ({"reloader": {"watchGlobally": False}}, set()),
    "namespaces list with HA": (
        {"reloader": {"watchGlobally": False, "namespaces": ["team-a", "team-b"], "enableHA": True}},
        set(),
    ),
    "everything on": (EVERYTHING_ON, NOT_SERVED),
}


def name_of(doc):
    """What `kubectl create -o name` prints for `doc`: `kind.group/name` (`kind/name` for core)."""
    group = doc["apiVersion"].rpartition("/")[0]
    kind = doc["kind"].lower()
    return f"{kind}.{group}/{doc['metadata']['name']}" if group else f"{kind}/{doc['metadata']['name']}"


class ServerDryRunTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = KubeSim()
        cls.served = cls.sim.served_kinds()
        cls.namespaces = set()

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def ensure_namespaces(self, names):
        """Creates the namespaces not created yet, from Namespace manifests (imperative
        `kubectl create namespace` sends protobuf, which the simulator refuses)."""
        missing = sorted(set(names) - self.namespaces)
        if not missing:
            return
        docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in missing]
        process = self.sim.kubectl("create", "-f", "-", stdin=manifest(docs))
        self.assertEqual(process.returncode, 0, process.stderr)
        self.namespaces.update(missing)

    def dry_run(self, docs):
        """`kubectl create --dry-run=server` of the served objects of `docs`; returns
        (returncode, printed names, stderr, expected names, skipped kinds)."""
        served = [d for d in docs if (d["apiVersion"], d["kind"]) in self.served]
        skipped = {(d["apiVersion"], d["kind"]) for d in docs} - self.served
        self.ensure_namespaces(d["metadata"]["namespace"] for d in served if d["metadata"].get("namespace"))
        process = self.sim.kubectl("create", "--dry-run=server", "-o", "name", "-f", "-", stdin=manifest(served))
        expected = sorted(name_of(d) for d in served)
        return process.returncode, sorted(process.stdout.split()), process.stderr, expected, skipped

    def assert_accepted(self, label, docs, expected_skipped):
        code, printed, stderr, expected, skipped = self.dry_run(docs)
        self.assertEqual(code, 0, f"{label}: the simulator refused rendered objects:\n{stderr}")
        self.assertEqual(printed, expected, f"{label}: not every object was accepted")
        self.assertEqual(skipped, expected_skipped, f"{label}: skipped kinds")
        if skipped:
            kinds = ", ".join(f"{kind} ({version})" for version, kind in sorted(skipped))
            print(f"\n  {label}: skipped, not served by kube-sim: {kinds}", file=sys.stderr)

    def test_every_served_object_the_chart_renders_is_accepted(self):
        for label, (values, expected_skipped) in CASES.items():
            with self.subTest(label):
                self.assert_accepted(label, render(values), expected_skipped)

    def test_every_object_of_the_kustomize_base_is_accepted(self):
        process = self.sim.kubectl("kustomize", str(KUSTOMIZE))
        self.assertEqual(process.returncode, 0, process.stderr)
        docs = [d for d in yaml.safe_load_all(process.stdout) if d]
        namespaces = [d for d in docs if d["kind"] == "Namespace"]
        self.assertEqual([n["metadata"]["name"] for n in namespaces], [NAMESPACE])
        # The Namespace is created for real: a dry-run Namespace would not exist for the rest.
        if NAMESPACE not in self.namespaces:
            created = self.sim.kubectl("create", "-f", "-", stdin=manifest(namespaces))
            self.assertEqual(created.returncode, 0, created.stderr)
            self.namespaces.add(NAMESPACE)
        others = [d for d in docs if d["kind"] != "Namespace"]
        self.assertEqual(
            {d["kind"] for d in others},
            {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Deployment"},
        )
        self.assert_accepted("kustomize base", others, set())

    def test_a_broken_object_is_refused_so_the_dry_run_can_fail(self):
        docs = render({})
        deployment = copy.deepcopy(next(d for d in docs if d["kind"] == "Deployment"))
        deployment["spec"]["selector"]["matchLabels"] = {"app": "something-else"}
        code, printed, stderr, _, _ = self.dry_run([deployment])
        self.assertNotEqual(code, 0, printed)
        self.assertIn("does not match template", stderr)
        elsewhere = copy.deepcopy(next(d for d in docs if d["kind"] == "ServiceAccount"))
        elsewhere["metadata"]["namespace"] = "no-such-namespace"
        process = self.sim.kubectl("create", "--dry-run=server", "-f", "-", stdin=manifest([elsewhere]))
        self.assertNotEqual(process.returncode, 0, process.stdout)
        self.assertIn('namespaces "no-such-namespace" not found', process.stderr)
        binding = copy.deepcopy(next(d for d in docs if d["kind"] == "ClusterRoleBinding"))
        binding["roleRef"]["kind"] = "Role"
        code, printed, stderr, _, _ = self.dry_run([binding])
        self.assertNotEqual(code, 0, printed)
        self.assertIn("roleRef.kind", stderr)


if __name__ == "__main__":
    unittest.main()
