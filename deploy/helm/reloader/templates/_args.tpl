{{/*
The container's arguments: Reloader's values map to Reloader's flags (reloader-spec §8.2), every
flag as one `--name=value` item. Our additions are emitted only when they differ from the
binary's defaults.
*/}}
{{- define "reloader.args" -}}
{{- $r := .Values.reloader -}}
{{- $args := list -}}
{{- with $r.logFormat }}{{ $args = append $args (printf "--log-format=%s" .) }}{{ end -}}
{{- with $r.logLevel }}{{ $args = append $args (printf "--log-level=%s" .) }}{{ end -}}
{{- if $r.ignoreSecrets }}{{ $args = append $args "--resources-to-ignore=secrets" }}{{ end -}}
{{- if $r.ignoreConfigMaps }}{{ $args = append $args "--resources-to-ignore=configmaps" }}{{ end -}}
{{- $ignoredKinds := list -}}
{{- if $r.ignoreJobs }}{{ $ignoredKinds = append $ignoredKinds "jobs" }}{{ end -}}
{{- if $r.ignoreCronJobs }}{{ $ignoredKinds = append $ignoredKinds "cronjobs" }}{{ end -}}
{{- with $ignoredKinds }}{{ $args = append $args (printf "--ignored-workload-types=%s" (join "," .)) }}{{ end -}}
{{- $scoped := include "reloader.scopedNamespaces" . | fromJsonArray -}}
{{- with $scoped }}{{ $args = append $args (printf "--namespaces=%s" (join "," .)) }}{{ end -}}
{{- if $r.watchGlobally -}}
{{- with $r.ignoreNamespaces }}{{ $args = append $args (printf "--namespaces-to-ignore=%s" .) }}{{ end -}}
{{- /* Quoted as in Reloader's chart: the CSV parser strips the quotes and keeps `in (a,b)` whole. */ -}}
{{- with $r.namespaceSelector }}{{ $args = append $args (printf "--namespace-selector=\"%s\"" .) }}{{ end -}}
{{- end -}}
{{- with $r.resourceLabelSelector }}{{ $args = append $args (printf "--resource-label-selector=%s" .) }}{{ end -}}
{{- $flags := dict "configmap" "configmap-annotation" "secret" "secret-annotation" "auto" "auto-annotation" "secret_auto" "secret-auto-annotation" "configmap_auto" "configmap-auto-annotation" "search" "auto-search-annotation" "match" "search-match-annotation" "ignore" "ignore-annotation" "pausePeriod" "pause-deployment-annotation" "pauseTime" "pause-deployment-time-annotation" -}}
{{- range $key, $value := ($r.custom_annotations | default dict) -}}
{{- $flag := get $flags $key -}}
{{- if not $flag -}}
{{- fail (printf "reloader.custom_annotations.%s is not a known key; use one of: %s" $key (keys $flags | sortAlpha | join ", ")) -}}
{{- end -}}
{{- if $value }}{{ $args = append $args (printf "--%s=%s" $flag $value) }}{{ end -}}
{{- end -}}
{{- with $r.webhookUrl }}{{ $args = append $args (printf "--webhook-url=%s" .) }}{{ end -}}
{{- if $r.isArgoRollouts }}{{ $args = append $args "--is-Argo-Rollouts=true" }}{{ end -}}
{{- if $r.reloadOnCreate }}{{ $args = append $args "--reload-on-create=true" }}{{ end -}}
{{- if $r.reloadOnDelete }}{{ $args = append $args "--reload-on-delete=true" }}{{ end -}}
{{- if $r.syncAfterRestart }}{{ $args = append $args "--sync-after-restart=true" }}{{ end -}}
{{- if and $r.reloadStrategy (ne $r.reloadStrategy "default") }}{{ $args = append $args (printf "--reload-strategy=%s" $r.reloadStrategy) }}{{ end -}}
{{- if include "reloader.ha" . }}{{ $args = append $args "--enable-ha=true" }}{{ end -}}
{{- if $r.autoReloadAll }}{{ $args = append $args "--auto-reload-all=true" }}{{ end -}}
{{- if $r.enableCSIIntegration }}{{ $args = append $args "--enable-csi-integration=true" }}{{ end -}}
{{- if $r.enablePProf -}}
{{- $args = append $args "--enable-pprof=true" -}}
{{- with $r.pprofAddr }}{{ $args = append $args (printf "--pprof-addr=%s" .) }}{{ end -}}
{{- end -}}
{{- /* Additions. */ -}}
{{- if $r.dryRun }}{{ $args = append $args "--dry-run=true" }}{{ end -}}
{{- with $r.debounce }}{{ $args = append $args (printf "--debounce=%s" .) }}{{ end -}}
{{- if $r.rolloutRate }}{{ $args = append $args (printf "--rollout-rate=%v" $r.rolloutRate) }}{{ end -}}
{{- $excluded := join "," ($r.excludeSecretTypes | default list) -}}
{{- if ne $excluded "helm.sh/release.v1" }}{{ $args = append $args (printf "--exclude-secret-types=%s" $excluded) }}{{ end -}}
{{- if eq (toString $r.baselines) "false" }}{{ $args = append $args "--baselines=false" }}{{ end -}}
{{- if and $r.cronJobReload (ne $r.cronJobReload "create-job") }}{{ $args = append $args (printf "--cronjob-reload=%s" $r.cronJobReload) }}{{ end -}}
{{- if $r.enableDebugEndpoints }}{{ $args = append $args "--enable-debug-endpoints=true" }}{{ end -}}
{{- if $r.hashKeySecret.name }}{{ $args = append $args "--hash-key-file=/etc/reloader/hash-key/hash-key" }}{{ end -}}
{{- toYaml $args -}}
{{- end -}}
