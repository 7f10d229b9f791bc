"""The Helm chart: lint, values → args/env, RBAC per mode, and the binary accepting what the chart
renders. Run from the repo root: `python3 -m unittest discover -s deploy/tests -v`."""

import base64
import unittest

import helm_python

from chart_support import (
    CHART,
    EVERYTHING_ON,
    FULLNAME,
    NAMESPACE,
    REFERENCE_USER,
    args,
    container,
    env,
    find,
    grants,
    merged,
    one,
    render,
    upstream_values,
    verbs,
)


def scope_role(docs, namespace=NAMESPACE):
    return one(docs, "Role", f"{FULLNAME}-role", namespace)


def metadata_role(docs):
    return one(docs, "Role", f"{FULLNAME}-metadata-role", NAMESPACE)


class LintTest(unittest.TestCase):
    def assert_lint_clean(self, values):
        report = helm_python.lint(CHART, values, strict=True, namespace=NAMESPACE)
        self.assertEqual(report["errors"], [])
        problems = [m for m in report["messages"] if m["severity"] >= 2]
        self.assertEqual(problems, [], report)

    def test_chart_lints_clean_with_its_default_values(self):
        self.assert_lint_clean(None)

    def test_chart_lints_clean_with_reloaders_unchanged_values_file(self):
        self.assert_lint_clean(upstream_values())

    def test_chart_lints_clean_with_the_reference_users_values_over_reloaders_file(self):
        self.assert_lint_clean(merged(upstream_values(), REFERENCE_USER))

    def test_chart_lints_clean_with_every_optional_object_and_setting_on(self):
        self.assert_lint_clean(EVERYTHING_ON)

    def test_pull_secrets_render_as_names_from_strings_and_objects(self):
        docs = render(EVERYTHING_ON)
        expected = [{"name": "a"}, {"name": "b"}]
        self.assertEqual(one(docs, "ServiceAccount")["imagePullSecrets"], expected)
        pod = one(docs, "Deployment")["spec"]["template"]["spec"]
        self.assertEqual(pod["imagePullSecrets"], [{"name": "c"}, *expected])
        self.assertEqual((pod["hostUsers"], pod["automountServiceAccountToken"]), (False, True))


class ReferenceUserTest(unittest.TestCase):
    """Reloader's values file plus reloadStrategy annotations, watchGlobally, logLevel debug."""

    @classmethod
    def setUpClass(cls):
        cls.docs = render(merged(upstream_values(), REFERENCE_USER))

    def test_deployment_is_in_the_release_namespace(self):
        deployment = one(self.docs, "Deployment")
        self.assertEqual(deployment["metadata"]["namespace"], NAMESPACE)
        self.assertEqual(deployment["metadata"]["name"], FULLNAME)

    def test_args_carry_the_strategy_and_log_level(self):
        self.assertIn("--reload-strategy=annotations", args(self.docs))
        self.assertIn("--log-level=debug", args(self.docs))

    def test_global_mode_sets_no_kubernetes_namespace(self):
        self.assertNotIn("KUBERNETES_NAMESPACE", env(self.docs))

    def test_global_mode_renders_a_cluster_role_and_binding_to_the_service_account(self):
        role = one(self.docs, "ClusterRole", f"{FULLNAME}-role")
        binding = one(self.docs, "ClusterRoleBinding", f"{FULLNAME}-role-binding")
        self.assertEqual(binding["roleRef"]["name"], role["metadata"]["name"])
        self.assertEqual(binding["subjects"], [{"kind": "ServiceAccount", "name": FULLNAME, "namespace": NAMESPACE}])
        self.assertEqual(find(self.docs, "Role", f"{FULLNAME}-role"), [])
        one(self.docs, "ServiceAccount", FULLNAME, NAMESPACE)

    def test_stakaters_pinned_image_is_replaced_by_ours(self):
        self.assertEqual(container(self.docs)["image"], "ghcr.io/reload-rs/reloader:0.1.0")

    def test_meta_info_env_names_the_release_namespace_and_deployment(self):
        variables = env(self.docs)
        self.assertEqual(variables["RELOADER_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"], "metadata.namespace")
        self.assertEqual(variables["RELOADER_DEPLOYMENT_NAME"]["value"], FULLNAME)

    def test_selector_keeps_reloaders_labels_so_a_release_can_switch_charts(self):
        selector = one(self.docs, "Deployment")["spec"]["selector"]["matchLabels"]
        self.assertEqual(selector, {"app": FULLNAME, "release": "reloader"})


class ScopeTest(unittest.TestCase):
    def test_watch_globally_false_renders_a_role_binding_and_kubernetes_namespace(self):
        docs = render({"reloader": {"watchGlobally": False}})
        self.assertEqual(find(docs, "ClusterRole") + find(docs, "ClusterRoleBinding"), [])
        role = scope_role(docs)
        binding = one(docs, "RoleBinding", f"{FULLNAME}-role-binding", NAMESPACE)
        self.assertEqual(binding["roleRef"], {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role["metadata"]["name"]})
        ref = env(docs)["KUBERNETES_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"]
        self.assertEqual(ref, "metadata.namespace")
        self.assertFalse(any(a.startswith("--namespaces") for a in args(docs)))

    def test_namespaces_list_renders_one_role_per_namespace_and_no_cluster_role(self):
        docs = render({"reloader": {"watchGlobally": False, "namespaces": ["b", "a", "a"]}})
        self.assertEqual(find(docs, "ClusterRole") + find(docs, "ClusterRoleBinding"), [])
        roles = find(docs, "Role", f"{FULLNAME}-role")
        self.assertEqual(sorted(r["metadata"]["namespace"] for r in roles), ["a", "b", NAMESPACE])
        bindings = find(docs, "RoleBinding", f"{FULLNAME}-role-binding")
        self.assertEqual(sorted(b["metadata"]["namespace"] for b in bindings), ["a", "b", NAMESPACE])
        for binding in bindings:
            self.assertEqual(binding["subjects"][0]["namespace"], NAMESPACE)
        self.assertIn(f"--namespaces=a,b,{NAMESPACE}", args(docs))
        self.assertNotIn("KUBERNETES_NAMESPACE", env(docs))

    def test_namespaces_as_a_comma_separated_string_render_the_same(self):
        as_list = render({"reloader": {"watchGlobally": False, "namespaces": ["a", "b"]}})
        as_csv = render({"reloader": {"watchGlobally": False, "namespaces": " b, a ,"}})
        self.assertEqual(as_list, as_csv)

    def test_namespaces_with_watch_globally_fail_with_reloaders_message(self):
        with self.assertRaises(helm_python.HelmRenderError) as caught:
            render({"reloader": {"namespaces": ["a"]}})
        self.assertIn(
            "reloader.namespaces is set but reloader.watchGlobally is true; "
            "set reloader.watchGlobally=false to use scoped namespace mode.",
            str(caught.exception),
        )

    def test_namespace_selector_and_ignore_list_apply_only_in_global_mode(self):
        values = {"reloader": {"namespaceSelector": "team in (a,b)", "ignoreNamespaces": "kube-system"}}
        docs = render(values)
        self.assertIn('--namespace-selector="team in (a,b)"', args(docs))
        self.assertIn("--namespaces-to-ignore=kube-system", args(docs))
        self.assertEqual(verbs(one(docs, "ClusterRole"), "", "namespaces"), {"list", "watch"})
        scoped = render(merged(values, {"reloader": {"watchGlobally": False}}))
        self.assertFalse(any("namespace-selector" in a or "namespaces-to-ignore" in a for a in args(scoped)))
        self.assertEqual(verbs(scope_role(scoped), "", "namespaces"), set())

    def test_global_mode_without_selector_cannot_read_namespaces(self):
        self.assertEqual(verbs(one(render(), "ClusterRole"), "", "namespaces"), set())


class HighAvailabilityTest(unittest.TestCase):
    def assert_ha(self, docs, replicas):
        deployment = one(docs, "Deployment")
        self.assertEqual(deployment["spec"]["replicas"], replicas)
        self.assertIn("--enable-ha=true", args(docs))
        variables = env(docs)
        self.assertEqual(variables["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"], "metadata.name")
        self.assertEqual(variables["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"], "metadata.namespace")
        # The elector reads, creates and replaces (PUT) the Lease; it never patches it.
        self.assertEqual(verbs(metadata_role(docs), "coordination.k8s.io", "leases"), {"get", "create", "update"})
        anti = deployment["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
        self.assertEqual(anti["preferredDuringSchedulingIgnoredDuringExecution"][0]["weight"], 100)

    def test_enable_ha_with_two_replicas_renders_pod_identity_and_the_leases_rule(self):
        self.assert_ha(render({"reloader": {"enableHA": True, "deployment": {"replicas": 2}}}), 2)

    def test_two_replicas_without_enable_ha_turn_leader_election_on_consistently(self):
        self.assert_ha(render({"reloader": {"deployment": {"replicas": 2}}}), 2)

    def test_leases_are_granted_only_in_the_release_namespace(self):
        docs = render({"reloader": {"enableHA": True}})
        self.assertEqual(verbs(one(docs, "ClusterRole"), "coordination.k8s.io", "leases"), set())

    def test_without_ha_there_is_one_replica_and_no_leases_rule(self):
        docs = render()
        self.assertEqual(one(docs, "Deployment")["spec"]["replicas"], 1)
        self.assertNotIn("--enable-ha=true", args(docs))
        self.assertNotIn("POD_NAME", env(docs))
        self.assertFalse(any(g == "coordination.k8s.io" for g, *_ in grants(metadata_role(docs))))


class FlagsTest(unittest.TestCase):
    def test_webhook_url_alone_is_passed(self):
        docs = render({"reloader": {"webhookUrl": "https://hooks.example/reload"}})
        self.assertIn("--webhook-url=https://hooks.example/reload", args(docs))

    def test_custom_annotations_map_to_the_annotation_flags(self):
        keys = {
            "configmap": "configmap-annotation", "secret": "secret-annotation", "auto": "auto-annotation",
            "secret_auto": "secret-auto-annotation", "configmap_auto": "configmap-auto-annotation",
            "search": "auto-search-annotation", "match": "search-match-annotation", "ignore": "ignore-annotation",
            "pausePeriod": "pause-deployment-annotation", "pauseTime": "pause-deployment-time-annotation",
        }
        docs = render({"reloader": {"custom_annotations": {k: f"my.co/{k}" for k in keys}}})
        for key, flag in keys.items():
            self.assertIn(f"--{flag}=my.co/{key}", args(docs))

    def test_an_unknown_custom_annotation_key_fails_rendering(self):
        with self.assertRaises(helm_python.HelmRenderError) as caught:
            render({"reloader": {"custom_annotations": {"configmaps": "x"}}})
        self.assertIn("reloader.custom_annotations.configmaps is not a known key", str(caught.exception))

    def test_boolean_values_map_to_reloaders_flags(self):
        docs = render({"reloader": {
            "autoReloadAll": True, "isArgoRollouts": True, "reloadOnCreate": True, "reloadOnDelete": True,
            "syncAfterRestart": True, "enableCSIIntegration": True, "enablePProf": True, "logFormat": "json",
            "resourceLabelSelector": "reloader=on", "ignoreJobs": True, "ignoreCronJobs": True, "ignoreSecrets": True,
        }})
        for flag in [
            "--auto-reload-all=true", "--is-Argo-Rollouts=true", "--reload-on-create=true", "--reload-on-delete=true",
            "--sync-after-restart=true", "--enable-csi-integration=true", "--enable-pprof=true", "--pprof-addr=:6060",
            "--log-format=json", "--resource-label-selector=reloader=on", "--ignored-workload-types=jobs,cronjobs",
            "--resources-to-ignore=secrets",
        ]:
            self.assertIn(flag, args(docs))

    def test_default_strategy_emits_no_strategy_flag(self):
        self.assertFalse(any(a.startswith("--reload-strategy") for a in args(render())))
        self.assertIn("--reload-strategy=env-vars", args(render({"reloader": {"reloadStrategy": "env-vars"}})))

    def test_our_additions_map_to_our_flags_and_are_absent_by_default(self):
        self.assertEqual(args(render()), ["--log-level=info"])
        docs = render({"reloader": {
            "dryRun": True, "debounce": "5s", "rolloutRate": 2.5, "excludeSecretTypes": [], "baselines": False,
            "hashKeySecret": {"name": "reloader-key", "key": "k"},
            "cronJobReload": "patch-template", "enableDebugEndpoints": True,
        }})
        for flag in ["--dry-run=true", "--debounce=5s", "--rollout-rate=2.5", "--exclude-secret-types=",
                     "--baselines=false", "--cronjob-reload=patch-template", "--enable-debug-endpoints=true",
                     "--hash-key-file=/etc/reloader/hash-key/hash-key"]:
            self.assertIn(flag, args(docs))
        pod = one(docs, "Deployment")["spec"]["template"]["spec"]
        volume = next(v for v in pod["volumes"] if v["name"] == "hash-key")
        self.assertEqual(volume["secret"], {"secretName": "reloader-key", "items": [{"key": "k", "path": "hash-key"}]})
        mount = next(m for m in container(docs)["volumeMounts"] if m["name"] == "hash-key")
        self.assertEqual((mount["mountPath"], mount["readOnly"]), ("/etc/reloader/hash-key", True))

    def test_go_runtime_overrides_are_accepted_and_set_nothing(self):
        docs = render({"reloader": {"deployment": {"gomaxprocsOverride": "2", "gomemlimitOverride": "100MiB"}}})
        self.assertFalse({"GOMAXPROCS", "GOMEMLIMIT"} & set(env(docs)))

    def test_metrics_by_namespace_sets_reloaders_env(self):
        docs = render({"reloader": {"enableMetricsByNamespace": True}})
        self.assertEqual(env(docs)["METRICS_COUNT_BY_NAMESPACE"]["value"], "enabled")


class IgnoreRulesTest(unittest.TestCase):
    """Each ignore* removes its rule, in the ClusterRole and in namespaced Roles alike."""

    def roles(self, values):
        global_docs = render({"reloader": values})
        scoped_docs = render({"reloader": {**values, "watchGlobally": False}})
        return [one(global_docs, "ClusterRole"), scope_role(scoped_docs)]

    def test_default_rules_grant_what_the_binary_uses_and_no_more(self):
        for role in self.roles({}):
            self.assertEqual(verbs(role, "", "configmaps"), {"list", "watch"})
            self.assertEqual(verbs(role, "", "secrets"), {"list", "watch"})
            for kind in ["deployments", "daemonsets", "statefulsets"]:
                self.assertEqual(verbs(role, "apps", kind), {"get", "list", "watch", "patch"})
            self.assertEqual(verbs(role, "batch", "cronjobs"), {"get", "list", "watch", "patch"})
            self.assertEqual(verbs(role, "batch", "cronjobs/finalizers"), {"update"})
            self.assertEqual(verbs(role, "batch", "jobs"), {"get", "list", "watch", "patch", "create", "delete"})
            self.assertEqual(verbs(role, "events.k8s.io", "events"), {"create", "patch"})
            # kube-runtime's Recorder writes events.k8s.io/v1 only.
            self.assertEqual(verbs(role, "", "events"), set())
            self.assertEqual({g for g, *_ in grants(role)}, {"", "apps", "batch", "events.k8s.io"})

    def test_ignore_secrets_removes_secrets(self):
        for role in self.roles({"ignoreSecrets": True}):
            self.assertEqual(verbs(role, "", "secrets"), set())
            self.assertEqual(verbs(role, "", "configmaps"), {"list", "watch"})

    def test_ignore_configmaps_removes_configmaps(self):
        for role in self.roles({"ignoreConfigMaps": True}):
            self.assertEqual(verbs(role, "", "configmaps"), set())
            self.assertEqual(verbs(role, "", "secrets"), {"list", "watch"})

    def test_ignore_cronjobs_removes_cronjobs(self):
        for role in self.roles({"ignoreCronJobs": True}):
            self.assertEqual(verbs(role, "batch", "cronjobs"), set())
            self.assertEqual(verbs(role, "batch", "jobs"), {"get", "list", "watch", "patch", "create", "delete"})

    def test_ignore_jobs_keeps_only_the_job_create_that_cronjob_reloads_need(self):
        for role in self.roles({"ignoreJobs": True}):
            self.assertEqual(verbs(role, "batch", "jobs"), {"create"})
            self.assertEqual(verbs(role, "batch", "cronjobs"), {"get", "list", "watch", "patch"})

    def test_ignore_jobs_and_cronjobs_remove_every_batch_rule(self):
        for role in self.roles({"ignoreJobs": True, "ignoreCronJobs": True}):
            self.assertFalse(any(g == "batch" for g, *_ in grants(role)))

    def test_ignoring_both_sources_fails_rendering(self):
        with self.assertRaises(helm_python.HelmRenderError) as caught:
            render({"reloader": {"ignoreSecrets": True, "ignoreConfigMaps": True}})
        self.assertIn("ignoreSecrets and reloader.ignoreConfigMaps are both true", str(caught.exception))

    def test_argo_and_csi_rules_appear_only_when_enabled(self):
        for role in self.roles({}):
            self.assertFalse({"argoproj.io", "secrets-store.csi.x-k8s.io"} & {g for g, *_ in grants(role)})
        for role in self.roles({"isArgoRollouts": True, "enableCSIIntegration": True}):
            self.assertEqual(verbs(role, "argoproj.io", "rollouts"), {"get", "list", "watch", "patch", "update"})
            for kind in ["secretproviderclasspodstatuses", "secretproviderclasses"]:
                self.assertEqual(verbs(role, "secrets-store.csi.x-k8s.io", kind), {"get", "list", "watch"})

    def test_meta_info_configmap_is_writable_only_by_name_in_the_release_namespace(self):
        role = metadata_role(render())
        self.assertEqual(verbs(role, "", "configmaps"), {"create"})
        named = {v for g, r, v, names in grants(role) if names == ("reloader-meta-info",)}
        self.assertEqual(named, {"get", "update", "patch"})

    def test_rbac_disabled_renders_no_rbac_objects(self):
        docs = render({"reloader": {"rbac": {"enabled": False}}})
        kinds = {d["kind"] for d in docs}
        self.assertFalse({"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"} & kinds)


class PodTest(unittest.TestCase):
    def test_pod_and_container_are_hardened_by_default(self):
        docs = render()
        pod = one(docs, "Deployment")["spec"]["template"]["spec"]["securityContext"]
        self.assertEqual(pod, {"runAsNonRoot": True, "runAsUser": 65532, "seccompProfile": {"type": "RuntimeDefault"}})
        self.assertEqual(container(docs)["securityContext"], {
            "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        })

    def test_reloaders_empty_container_security_context_keeps_the_hardening(self):
        context = container(render(upstream_values()))["securityContext"]
        self.assertTrue(context["readOnlyRootFilesystem"])
        self.assertEqual(context["capabilities"], {"drop": ["ALL"]})

    def test_default_resources_are_small_with_no_cpu_limit(self):
        resources = container(render())["resources"]
        self.assertEqual(resources, {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}})

    def test_probes_use_live_and_ready_on_the_http_port_9090(self):
        docs = render({"reloader": {"deployment": {"readinessProbe": {"periodSeconds": 3, "initialDelaySeconds": 0}}}})
        self.assertEqual(container(docs)["ports"], [{"name": "http", "containerPort": 9090, "protocol": "TCP"}])
        live, ready = container(docs)["livenessProbe"], container(docs)["readinessProbe"]
        self.assertEqual(live["httpGet"], {"path": "/live", "port": "http"})
        self.assertEqual(ready["httpGet"], {"path": "/ready", "port": "http"})
        self.assertEqual((live["periodSeconds"], live["timeoutSeconds"], live["initialDelaySeconds"]), (10, 5, 10))
        self.assertEqual((ready["periodSeconds"], ready["initialDelaySeconds"]), (3, 0))

    def test_images_of_our_own_are_kept(self):
        custom = container(render({"image": {"repository": "registry.local/reloader", "tag": "v9", "digest": "sha256:ab"}}))
        self.assertEqual(custom["image"], "registry.local/reloader:v9@sha256:ab")
        mirrored = container(render({"global": {"imageRegistry": "mirror.local"}}))
        self.assertEqual(mirrored["image"], "mirror.local/reload-rs/reloader:0.1.0")

    def test_env_secret_renders_the_alert_secret_and_references_it(self):
        docs = render({"reloader": {"deployment": {"env": {
            "secret": {"ALERT_ON_RELOAD": "true", "ALERT_WEBHOOK_URL": "https://hooks.example/x", "ALERT_SINK": ""},
            "open": {"ALERT_SINK": "slack"},
            "field": {"NODE": "spec.nodeName"},
            "existing": {"alerts": {"ALERT_ADDITIONAL_INFO": "info"}},
        }}}})
        secret = one(docs, "Secret", FULLNAME, NAMESPACE)
        decoded = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
        self.assertEqual(decoded, {"ALERT_ON_RELOAD": "true", "ALERT_WEBHOOK_URL": "https://hooks.example/x"})
        variables = env(docs)
        self.assertEqual(variables["ALERT_WEBHOOK_URL"]["valueFrom"]["secretKeyRef"], {"name": FULLNAME, "key": "ALERT_WEBHOOK_URL"})
        self.assertEqual(variables["ALERT_SINK"]["value"], "slack")
        self.assertEqual(variables["NODE"]["valueFrom"]["fieldRef"]["fieldPath"], "spec.nodeName")
        self.assertEqual(variables["ALERT_ADDITIONAL_INFO"]["valueFrom"]["secretKeyRef"], {"name": "alerts", "key": "info"})

    def test_no_alert_secret_without_env_secret(self):
        self.assertEqual(find(render(), "Secret"), [])


class OptionalObjectsTest(unittest.TestCase):
    def test_optional_objects_are_off_by_default(self):
        kinds = {d["kind"] for d in render(upstream_values())}
        self.assertEqual(kinds, {"Deployment", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"})

    def test_service_and_monitors_select_the_reloader_pods_metrics_port(self):
        docs = render({"reloader": {
            "service": {"port": 9090}, "serviceMonitor": {"enabled": True, "interval": "30s"},
            "podMonitor": {"enabled": True, "namespace": "monitoring"},
        }})
        selector = one(docs, "Deployment")["spec"]["selector"]["matchLabels"]
        service = one(docs, "Service", FULLNAME, NAMESPACE)
        self.assertEqual(service["spec"]["selector"], selector)
        self.assertEqual(service["spec"]["ports"][0]["targetPort"], "http")
        monitor = one(docs, "ServiceMonitor")
        self.assertEqual(monitor["spec"]["endpoints"][0]["path"], "/metrics")
        self.assertEqual(monitor["spec"]["endpoints"][0]["interval"], "30s")
        self.assertEqual(monitor["spec"]["selector"]["matchLabels"], selector)
        pod_monitor = one(docs, "PodMonitor", namespace="monitoring")
        self.assertEqual(pod_monitor["spec"]["podMetricsEndpoints"][0]["port"], "http")
        self.assertEqual(pod_monitor["spec"]["namespaceSelector"], {"matchNames": [NAMESPACE]})

    def test_network_policy_admits_the_metrics_port_and_reaches_only_the_api_server(self):
        source = [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}]
        policy = one(render({"reloader": {"netpol": {"enabled": True, "from": source}}}), "NetworkPolicy")
        self.assertEqual(policy["spec"]["policyTypes"], ["Ingress", "Egress"])
        self.assertEqual(policy["spec"]["ingress"], [{"ports": [{"port": "http", "protocol": "TCP"}], "from": source}])
        self.assertEqual([p["port"] for p in policy["spec"]["egress"][0]["ports"]], [443, 6443])

    def test_pod_disruption_budget_and_vpa_render_when_enabled(self):
        docs = render({"reloader": {
            "podDisruptionBudget": {"enabled": True, "maxUnavailable": 1},
            "verticalPodAutoscaler": {"enabled": True, "maxAllowed": {"memory": "256Mi"}},
        }})
        self.assertEqual(one(docs, "PodDisruptionBudget")["spec"]["maxUnavailable"], 1)
        vpa = one(docs, "VerticalPodAutoscaler")
        self.assertEqual(vpa["spec"]["targetRef"], {"apiVersion": "apps/v1", "kind": "Deployment", "name": FULLNAME})
        self.assertEqual(vpa["spec"]["resourcePolicy"]["containerPolicies"][0]["maxAllowed"], {"memory": "256Mi"})
        self.assertEqual(one(render({"reloader": {"podDisruptionBudget": {"enabled": True}}}), "PodDisruptionBudget")["spec"]["minAvailable"], 1)


class SchemaTest(unittest.TestCase):
    def assert_rejected(self, values, fragment):
        with self.assertRaises(helm_python.HelmValuesError) as caught:
            render(values)
        self.assertIn(fragment, str(caught.exception))

    def test_schema_rejects_an_unknown_reload_strategy(self):
        self.assert_rejected({"reloader": {"reloadStrategy": "rolling"}}, "/reloader/reloadStrategy")

    def test_schema_rejects_obvious_type_errors(self):
        self.assert_rejected({"reloader": {"watchGlobally": "yes"}}, "/reloader/watchGlobally")
        self.assert_rejected({"reloader": {"deployment": {"replicas": "two"}}}, "/reloader/deployment/replicas")
        self.assert_rejected({"reloader": {"namespaces": 3}}, "/reloader/namespaces")
        self.assert_rejected({"reloader": {"debounce": "5 seconds"}}, "/reloader/debounce")
        self.assert_rejected({"reloader": {"rolloutRate": -1}}, "/reloader/rolloutRate")

    def test_schema_rejects_an_unknown_cronjob_reload_mode_and_a_non_boolean_debug_switch(self):
        self.assert_rejected({"reloader": {"cronJobReload": "sometimes"}}, "/reloader/cronJobReload")
        self.assert_rejected({"reloader": {"enableDebugEndpoints": "yes"}}, "/reloader/enableDebugEndpoints")

    def test_cronjob_reload_default_and_debug_endpoints_off_emit_no_flag(self):
        for values in [{"cronJobReload": "create-job"}, {"cronJobReload": ""}, {"enableDebugEndpoints": False}]:
            with self.subTest(values):
                self.assertEqual(args(render({"reloader": values})), ["--log-level=info"])

    def test_schema_accepts_every_documented_strategy(self):
        for strategy in ["default", "env-vars", "annotations"]:
            self.assertTrue(render({"reloader": {"reloadStrategy": strategy}}))


if __name__ == "__main__":
    unittest.main()
