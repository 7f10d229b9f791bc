{{/*
Names. `reloader-fullname` is `<release>-<chart name>` as in Reloader's chart, so objects keep
their names (and the Deployment its selector) when a release moves from Reloader's chart to this one.
*/}}
{{- define "reloader-name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" | lower -}}
{{- end -}}

{{- define "reloader-fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (default .Chart.Name .Values.nameOverride) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Selector labels: the same keys as Reloader's chart (a Deployment selector is immutable). */}}
{{- define "reloader-labels.selector" -}}
app: {{ include "reloader-fullname" . }}
release: {{ .Release.Name | quote }}
{{- with .Values.reloader.matchLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "reloader-labels.chart" -}}
{{ include "reloader-labels.selector" . }}
chart: "{{ .Chart.Name }}-{{ .Chart.Version }}"
heritage: {{ .Release.Service | quote }}
app.kubernetes.io/name: {{ include "reloader-name" . }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
{{- end -}}

{{- define "reloader-serviceAccountName" -}}
{{- if .Values.reloader.serviceAccount.create -}}
{{- default (include "reloader-fullname" .) .Values.reloader.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.reloader.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
Leader election is on with enableHA or with more than one replica ("true" or ""): several
replicas without it would each roll every workload.
*/}}
{{- define "reloader.ha" -}}
{{- if or .Values.reloader.enableHA (gt (int .Values.reloader.deployment.replicas) 1) -}}true{{- end -}}
{{- end -}}

{{/*
Scoped namespaces as a JSON list: `reloader.namespaces` (list or comma-separated string), trimmed,
plus the release namespace, deduplicated and sorted. Empty list when none are given.
*/}}
{{- define "reloader.scopedNamespaces" -}}
{{- $given := .Values.reloader.namespaces -}}
{{- $items := list -}}
{{- if kindIs "string" $given -}}
{{- $items = splitList "," $given -}}
{{- else if $given -}}
{{- $items = $given -}}
{{- end -}}
{{- $out := list -}}
{{- range $items -}}
{{- $name := trim (toString .) -}}
{{- if $name }}{{ $out = append $out $name }}{{ end -}}
{{- end -}}
{{- if $out }}{{ $out = append $out $.Release.Namespace }}{{ end -}}
{{- $out | uniq | sortAlpha | toJson -}}
{{- end -}}

{{/*
The image. Reloader's chart values pin stakater's Go image, which cannot run with this chart's
flags and probes: such a reference is replaced by ours.
*/}}
{{- define "reloader.image" -}}
{{- $img := .Values.image -}}
{{- $repository := $img.repository -}}
{{- if .Values.global.imageRegistry -}}
{{- $repository = printf "%s/%s" .Values.global.imageRegistry $img.name -}}
{{- end -}}
{{- $tag := toString (default .Chart.AppVersion $img.tag) -}}
{{- $digest := $img.digest | default "" -}}
{{- if contains "stakater/reloader" $repository -}}
{{- $repository = "ghcr.io/reload-rs/reloader" -}}
{{- $tag = .Chart.AppVersion -}}
{{- $digest = "" -}}
{{- end -}}
{{- if $digest -}}
{{- printf "%s:%s@%s" $repository $tag $digest -}}
{{- else -}}
{{- printf "%s:%s" $repository $tag -}}
{{- end -}}
{{- end -}}

{{/* Values that cannot work; fail with a message naming them. */}}
{{- define "reloader.validate" -}}
{{- $r := .Values.reloader -}}
{{- if and $r.watchGlobally (ne (include "reloader.scopedNamespaces" .) "[]") -}}
{{- fail "reloader.namespaces is set but reloader.watchGlobally is true; set reloader.watchGlobally=false to use scoped namespace mode." -}}
{{- end -}}
{{- if and $r.ignoreSecrets $r.ignoreConfigMaps -}}
{{- fail "reloader.ignoreSecrets and reloader.ignoreConfigMaps are both true: nothing would be watched; set at most one of them." -}}
{{- end -}}
{{- end -}}

{{/* One probe: path, then the timings given in values (dict) over Reloader's defaults. */}}
{{- define "reloader.probe" -}}
{{- $given := .given | default dict -}}
httpGet:
  path: {{ .path }}
  port: http
{{- range $key, $default := dict "timeoutSeconds" 5 "failureThreshold" 5 "periodSeconds" 10 "successThreshold" 1 "initialDelaySeconds" 10 }}
{{ $key }}: {{ if hasKey $given $key }}{{ int (get $given $key) }}{{ else }}{{ $default }}{{ end }}
{{- end }}
{{- end -}}
