"""The args and env the chart renders are accepted by the real binary (`reloader config`), and
the binary understands them as the values meant."""

import unittest

from chart_support import NAMESPACE, REFERENCE_USER, effective_settings, merged, render, upstream_values

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
        "baselines": False, "enableDebugEndpoints": True}},
    "no excluded secret types": {"reloader": {"excludeSecretTypes": []}},
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
        self.assertEqual(self.settings(COMBINATIONS["no excluded secret types"])["excludeSecretTypes"], [])


if __name__ == "__main__":
    unittest.main()
