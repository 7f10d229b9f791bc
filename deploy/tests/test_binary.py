"""The args and env the chart renders are accepted by the real binary (`reloader config`), and
the binary understands them as the values meant."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

from chart_support import (
    EVERYTHING_ON,
    NAMESPACE,
    REFERENCE_USER,
    args,
    binary,
    effective_settings,
    merged,
    render,
    resolved_env,
    upstream_values,
)

# Inside a private mount namespace: make / read-only, prove it, then run as 65532 with only the
# pod's env (what the image's user and readOnlyRootFilesystem give the container).
READ_ONLY_AS_NON_ROOT = (
    'mount --bind -o ro / / || exit 90; '
    'if touch /tmp/.reloader-rw-probe 2>/dev/null; then rm -f /tmp/.reloader-rw-probe; exit 91; fi; '
    'exec setpriv --reuid=65532 --regid=65532 --clear-groups env -i "$@"'
)

COMBINATIONS = {
    "default values": {},
    "reloader's values file": upstream_values(),
    "reference user": merged(upstream_values(), REFERENCE_USER),
    "single namespace": {"reloader": {"watchGlobally": False}},
    "namespaces list": {"reloader": {"watchGlobally": False, "namespaces": "team-a,team-b"}},
    "ha": {"reloader": {"enableHA": True, "deployment": {"replicas": 3}}},
    "replicas without ha": {"reloader": {"deployment": {"replicas": 2}}},
    "webhook only": {"reloader": {"webhookUrl": "https://hooks.example/reload"}},
    "ignore everything ignorable": {"reloader": {"ignoreConfigMaps": True, "ignoreJobs": True, "ignoreCronJobs": True}},
    "selectors": {"reloader": {"namespaceSelector": "team in (a,b),env:prod", "ignoreNamespaces": "kube-system,kube-public",
                               "resourceLabelSelector": "reloader=enabled"}},
    "custom annotations": {"reloader": {"custom_annotations": {
        "configmap": "my.co/cm", "secret": "my.co/s", "auto": "my.co/auto", "secret_auto": "my.co/sa",
        "configmap_auto": "my.co/ca", "search": "my.co/search", "match": "my.co/match", "ignore": "my.co/ignore",
        "pausePeriod": "my.co/pause", "pauseTime": "my.co/paused-at"}}},
    "every boolean on": {"reloader": {
        "autoReloadAll": True, "isArgoRollouts": True, "reloadOnCreate": True, "reloadOnDelete": True,
        "syncAfterRestart": True, "enableCSIIntegration": True, "enablePProf": True, "logFormat": "json",
        "reloadStrategy": "env-vars", "enableMetricsByNamespace": True}},
    "alerts": {"reloader": {"deployment": {"env": {"secret": {
        "ALERT_ON_RELOAD": "true", "ALERT_SINK": "Slack", "ALERT_WEBHOOK_URL": "https://hooks.example/a"}}}}},
    "our additions": {"reloader": {
        "dryRun": True, "debounce": "1m30s", "rolloutRate": 0.5, "excludeSecretTypes": ["helm.sh/release.v1", "kubernetes.io/tls"],
        "baselines": False, "cronJobReload": "patch-template", "enableDebugEndpoints": True}},
    "no excluded secret types": {"reloader": {"excludeSecretTypes": []}},
    "zero debounce": {"reloader": {"debounce": "0"}},
    "everything on": EVERYTHING_ON,
}


class BinaryAcceptsRenderedArgsTest(unittest.TestCase):
    def settings(self, values):
        code, settings, stderr = effective_settings(render(values))
        self.assertEqual(code, 0, stderr)
        return settings

    def test_every_combination_is_accepted_by_the_binary(self):
        for label, values in COMBINATIONS.items():
            with self.subTest(label):
                settings = self.settings(values)
                self.assertEqual(settings["reloaderNamespace"], NAMESPACE)
                self.assertEqual(settings["deploymentName"], "reloader-reloader")

    def test_reference_user_runs_global_annotations_at_debug(self):
        settings = self.settings(COMBINATIONS["reference user"])
        self.assertEqual(settings["scope"]["mode"], "global")
        self.assertEqual(settings["reloadStrategy"], "annotations")
        self.assertEqual(settings["logLevel"], "debug")
        self.assertEqual(settings["excludeSecretTypes"], ["helm.sh/release.v1"])

    def test_scopes_reach_the_binary(self):
        single = self.settings(COMBINATIONS["single namespace"])["scope"]
        self.assertEqual(single, {"mode": "single", "namespace": NAMESPACE})
        listed = self.settings(COMBINATIONS["namespaces list"])["scope"]
        self.assertEqual(listed, {"mode": "namespaces", "namespaces": [NAMESPACE, "team-a", "team-b"]})
        selectors = self.settings(COMBINATIONS["selectors"])
        self.assertEqual(selectors["scope"]["namespaceSelector"], "team in (a,b),env=prod")
        self.assertEqual(selectors["scope"]["namespacesToIgnore"], ["kube-system", "kube-public"])
        self.assertEqual(selectors["resourceLabelSelector"], "reloader=enabled")

    def test_leader_election_gets_its_pod_identity(self):
        for label in ["ha", "replicas without ha"]:
            ha = self.settings(COMBINATIONS[label])["ha"]
            self.assertEqual(ha, {"podName": "reloader-7d9f-abcde", "podNamespace": NAMESPACE})
        self.assertIsNone(self.settings({})["ha"])

    def test_flags_mean_what_the_values_say(self):
        settings = self.settings(COMBINATIONS["every boolean on"])
        for key in ["autoReloadAll", "isArgoRollouts", "reloadOnCreate", "reloadOnDelete", "syncAfterRestart",
                    "enableCSIIntegration", "metricsByNamespace"]:
            self.assertTrue(settings[key], key)
        self.assertEqual(settings["logFormat"], "json")
        self.assertTrue(self.settings(COMBINATIONS["webhook only"])["webhookUrlSet"])
        ignored = self.settings(COMBINATIONS["ignore everything ignorable"])
        self.assertEqual([ignored[k] for k in ["ignoreConfigMaps", "ignoreSecrets", "ignoreJobs", "ignoreCronJobs"]],
                         [True, False, True, True])
        self.assertEqual(self.settings(COMBINATIONS["alerts"])["alerts"], {"sink": "slack", "webhookUrlSet": True})

    def test_additions_reach_the_binary(self):
        settings = self.settings(COMBINATIONS["our additions"])
        self.assertEqual(settings["dryRun"], True)
        self.assertEqual(settings["debounceSeconds"], 90.0)
        self.assertEqual(settings["rolloutRate"], 0.5)
        self.assertEqual(settings["excludeSecretTypes"], ["helm.sh/release.v1", "kubernetes.io/tls"])
        self.assertEqual(settings["baselines"], False)
        self.assertEqual(settings["cronjobReload"], "patch-template")
        self.assertEqual(settings["debugEndpoints"], True)
        defaults = self.settings({})
        self.assertEqual((defaults["cronjobReload"], defaults["debugEndpoints"]), ("create-job", False))
        self.assertEqual(self.settings(COMBINATIONS["no excluded secret types"])["excludeSecretTypes"], [])


class ImageConditionsTest(unittest.TestCase):
    @unittest.skipUnless(
        hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("unshare") and shutil.which("setpriv"),
        "needs root, unshare and setpriv",
    )
    def test_binary_runs_as_user_65532_on_a_read_only_root_filesystem(self):
        docs = render(merged(upstream_values(), REFERENCE_USER))
        with tempfile.TemporaryDirectory() as directory:
            os.chmod(directory, 0o755)
            executable = Path(directory) / "reloader"
            shutil.copy(binary(), executable)
            os.chmod(executable, 0o755)
            variables = [f"{key}={value}" for key, value in resolved_env(docs).items()]
            process = subprocess.run(
                ["unshare", "--mount", "--propagation", "private", "sh", "-c", READ_ONLY_AS_NON_ROOT, "sh",
                 *variables, str(executable), "config", *args(docs)],
                capture_output=True, text=True, check=False,
            )
        if process.returncode == 90 or "unshare failed" in process.stderr:
            self.skipTest(f"mount namespaces are not available here: {process.stderr.strip()}")
        self.assertNotEqual(process.returncode, 91, "the root filesystem was still writable")
        self.assertEqual(process.returncode, 0, process.stderr)
        self.assertEqual(json.loads(process.stdout)["reloadStrategy"], "annotations")


if __name__ == "__main__":
    unittest.main()
