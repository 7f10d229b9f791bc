"""The kustomize base renders with `kubectl kustomize`, matches the chart, and its Deployment's
args are accepted by the binary."""

import subprocess
import unittest

import yaml

from chart_support import KUSTOMIZE, NAMESPACE, args, effective_settings, find, one
from kustomize_base import base_files


def kustomize():
    output = subprocess.run(
        ["kubectl", "kustomize", str(KUSTOMIZE)], capture_output=True, text=True, check=True
    ).stdout
    return [d for d in yaml.safe_load_all(output) if d]


class KustomizeBaseTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.docs = kustomize()

    def test_committed_base_is_what_the_chart_renders(self):
        for name, text in base_files().items():
            with self.subTest(name):
                self.assertEqual((KUSTOMIZE / name).read_text(encoding="utf-8"), text,
                                 "stale: run python3 deploy/tests/kustomize_base.py --write")

    def test_base_renders_a_namespace_and_global_mode_in_it(self):
        one(self.docs, "Namespace", NAMESPACE)
        deployment = one(self.docs, "Deployment")
        self.assertEqual(deployment["metadata"]["namespace"], NAMESPACE)
        self.assertEqual(len(find(self.docs, "ClusterRole")), 1)
        binding = one(self.docs, "ClusterRoleBinding")
        self.assertEqual(binding["subjects"][0]["namespace"], NAMESPACE)
        for doc in self.docs:
            if doc["kind"] not in {"Namespace", "ClusterRole", "ClusterRoleBinding"}:
                self.assertEqual(doc["metadata"]["namespace"], NAMESPACE, doc["metadata"]["name"])

    def test_base_uses_reloaders_default_strategy(self):
        self.assertEqual(args(self.docs), ["--log-level=info"])

    def test_base_carries_no_helm_labels(self):
        labels = one(self.docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
        self.assertNotIn("heritage", labels)
        self.assertEqual(labels["app"], "reloader-reloader")

    def test_base_args_and_env_are_accepted_by_the_binary(self):
        code, settings, stderr = effective_settings(self.docs)
        self.assertEqual(code, 0, stderr)
        self.assertEqual(settings["scope"]["mode"], "global")
        self.assertEqual(settings["reloadStrategy"], "env-vars")
        self.assertEqual(settings["reloaderNamespace"], NAMESPACE)


if __name__ == "__main__":
    unittest.main()
