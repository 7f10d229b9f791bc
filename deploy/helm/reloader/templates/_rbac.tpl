{{/*
RBAC rules of the watched scope: what the binary does, nothing more.
- ConfigMaps/Secrets: list + watch only (sources are never fetched one by one).
- Namespaces: list + watch, only in global mode with a namespaceSelector.
- Deployments/DaemonSets/StatefulSets: get (conflict refresh), list, watch, patch (never update).
- CronJobs: get, list, watch, patch. Reloading a CronJob creates a Job, so `jobs create` stays
  while CronJobs are reloaded even with ignoreJobs.
- Jobs: get, list, watch, patch (metadata-only baselines), create, delete (a Job reload deletes
  and recreates it).
- cronjobs/finalizers: update, so the Job created from a CronJob may carry an owner reference
  with blockOwnerDeletion where OwnerReferencesPermissionEnforcement is on (OpenShift).
- Argo Rollouts (get, list, watch, patch for restart mode and metadata, update for rollout mode:
  no strategic merge on CRDs) and CSI SecretProviderClass(PodStatus) (get, list, watch) only
  when enabled.
- Events: kube-runtime's Recorder writes events.k8s.io/v1 only (create, then patch for a
  series), in the workload's namespace; no core `events` rule.
Argument: dict "root" $ "global" bool.
*/}}
{{- define "reloader.rules" -}}
{{- $r := .root.Values.reloader -}}
- apiGroups: [""]
  resources:
  {{- if not $r.ignoreConfigMaps }}
    - configmaps
  {{- end }}
  {{- if not $r.ignoreSecrets }}
    - secrets
  {{- end }}
  verbs: [list, watch]
{{- if and .global $r.namespaceSelector }}
- apiGroups: [""]
  resources: [namespaces]
  verbs: [list, watch]
{{- end }}
- apiGroups: [apps]
  resources: [deployments, daemonsets, statefulsets]
  verbs: [get, list, watch, patch]
{{- if not $r.ignoreCronJobs }}
- apiGroups: [batch]
  resources: [cronjobs]
  verbs: [get, list, watch, patch]
- apiGroups: [batch]
  resources: [cronjobs/finalizers]
  verbs: [update]
{{- end }}
{{- if not $r.ignoreJobs }}
- apiGroups: [batch]
  resources: [jobs]
  verbs: [get, list, watch, patch, create, delete]
{{- else if not $r.ignoreCronJobs }}
- apiGroups: [batch]
  resources: [jobs]
  verbs: [create]
{{- end }}
{{- if $r.isArgoRollouts }}
- apiGroups: [argoproj.io]
  resources: [rollouts]
  verbs: [get, list, watch, patch, update]
{{- end }}
{{- if $r.enableCSIIntegration }}
- apiGroups: [secrets-store.csi.x-k8s.io]
  resources: [secretproviderclasspodstatuses, secretproviderclasses]
  verbs: [get, list, watch]
{{- end }}
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end -}}

{{/* Labels of RBAC objects. */}}
{{- define "reloader.rbacLabels" -}}
{{ include "reloader-labels.chart" . }}
{{- with .Values.reloader.rbac.labels }}
{{ toYaml . }}
{{- end }}
{{- end -}}
