{{/* The chart's name, or nameOverride. */}}
{{- define "tradingbot-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The name of the release's objects: fullnameOverride, else the release name when it already contains the
chart's name, else <release>-<chart>. Cluster-scoped objects carry it too, so two releases never collide.
*/}}
{{- define "tradingbot-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "tradingbot-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The operator's pods, and only this release's: also what the bots' NetworkPolicies admit. */}}
{{- define "tradingbot-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tradingbot-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "tradingbot-operator.labels" -}}
helm.sh/chart: {{ include "tradingbot-operator.chart" . }}
{{ include "tradingbot-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tradingbot-operator
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "tradingbot-operator.leaseName" -}}
{{- default (printf "%s-leader" (include "tradingbot-operator.fullname" .)) .Values.leaderElection.leaseName }}
{{- end }}

{{- define "tradingbot-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tradingbot-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name must name an existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository@digest, else repository:tag (tag defaulting to the chart's appVersion). */}}
{{- define "tradingbot-operator.imageRef" -}}
{{- $image := index . 0 }}
{{- $appVersion := index . 1 }}
{{- if $image.digest }}
{{- printf "%s@%s" $image.repository $image.digest }}
{{- else }}
{{- printf "%s:%s" $image.repository (default $appVersion $image.tag) }}
{{- end }}
{{- end }}

{{- define "tradingbot-operator.image" -}}
{{- include "tradingbot-operator.imageRef" (list .Values.image .Chart.AppVersion) }}
{{- end }}

{{/* The bots' image: bots.image when any of its fields is set (an empty repository taking image's). */}}
{{- define "tradingbot-operator.botImage" -}}
{{- $bots := .Values.bots.image }}
{{- if or $bots.repository $bots.tag $bots.digest }}
{{- include "tradingbot-operator.imageRef" (list (dict "repository" (default .Values.image.repository $bots.repository) "tag" $bots.tag "digest" $bots.digest) .Chart.AppVersion) }}
{{- else }}
{{- include "tradingbot-operator.image" . }}
{{- end }}
{{- end }}

{{/* A label map as the operator's flags take it: k=v,k2=v2 (sorted, so the output is stable). */}}
{{- define "tradingbot-operator.labelPairs" -}}
{{- $pairs := list }}
{{- range $key, $value := . }}
{{- $pairs = append $pairs (printf "%s=%s" $key $value) }}
{{- end }}
{{- join "," (sortAlpha $pairs) }}
{{- end }}

{{/* The facts about bot pods the chart needs (port, labels), generated from the operator's sources. */}}
{{- define "tradingbot-operator.botPods" -}}
{{- .Files.Get "files/bot-pods.yaml" }}
{{- end }}

{{/* Policy rules as YAML list items, each with its reason as a comment; `lease` renames the leader Lease. */}}
{{- define "tradingbot-operator.rules" -}}
{{- $lease := .lease }}
{{- range .rules }}
# {{ .why | wrap 100 | replace "\n" "\n# " }}
- apiGroups: {{ toJson .apiGroups }}
  resources: {{ toJson .resources }}
  verbs: {{ toJson .verbs }}
  {{- with .resourceNames }}
  {{- if and $lease (has $lease.from .) }}
  resourceNames: {{ toJson (list $lease.to) }}
  {{- else }}
  resourceNames: {{ toJson . }}
  {{- end }}
  {{- end }}
{{- end }}
{{- end }}

{{/* A duration such as 500ms, 15s, 5m or 1h (the schema checks the form) in milliseconds. */}}
{{- define "tradingbot-operator.durationMs" -}}
{{- $units := dict "ms" 1 "s" 1000 "m" 60000 "h" 3600000 }}
{{- mul (regexFind "^[0-9]+" . | atoi) (get $units (regexFind "[a-z]+$" .)) }}
{{- end }}

{{/* Values no schema can check alone: fails the install or upgrade with what to change. */}}
{{- define "tradingbot-operator.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) }}
{{- fail (printf "replicaCount is %d but leaderElection.enabled is false: without a Lease every replica would reconcile, and two replicas could run two pods for one bot. Set leaderElection.enabled=true or replicaCount=1." (int .Values.replicaCount)) }}
{{- end }}
{{- if and (hasKey .Values.podDisruptionBudget "minAvailable") (hasKey .Values.podDisruptionBudget "maxUnavailable") }}
{{- fail "podDisruptionBudget: set minAvailable or maxUnavailable, not both" }}
{{- end }}
{{- range $key, $minimum := dict "runtimePollInterval" (list 1000 "1s") "runtimeMirrorInterval" (list 1000 "1s") "resyncPeriod" (list 10000 "10s") }}
{{- $value := index $.Values.operator $key }}
{{- if lt (include "tradingbot-operator.durationMs" $value | atoi) (first $minimum) }}
{{- fail (printf "operator.%s is %s: it must be at least %s (the operator refuses shorter ones)" $key $value (last $minimum)) }}
{{- end }}
{{- end }}
{{- if eq (int .Values.metrics.port) (int .Values.health.port) }}
{{- fail (printf "metrics.port and health.port are both %d: they must differ" (int .Values.metrics.port)) }}
{{- end }}
{{- end }}

{{/* The console's objects: <fullname>-console. */}}
{{- define "tradingbot-operator.console.fullname" -}}
{{- printf "%s-console" (include "tradingbot-operator.fullname" . | trunc 55 | trimSuffix "-") }}
{{- end }}

{{/*
The console's pods: a name of their own, so that nothing selecting the operator's pods (its Deployment,
PodDisruptionBudget and NetworkPolicy, and the bots' NetworkPolicies) ever selects them.
*/}}
{{- define "tradingbot-operator.console.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tradingbot-operator.name" . | trunc 55 | trimSuffix "-" }}-console
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "tradingbot-operator.console.labels" -}}
helm.sh/chart: {{ include "tradingbot-operator.chart" . }}
{{ include "tradingbot-operator.console.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tradingbot-operator
app.kubernetes.io/component: console
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Whether the chart's first user is the console's user (no users Secret given). */}}
{{- define "tradingbot-operator.console.firstUser" -}}
{{- if not .Values.console.users.existingSecret }}true{{ end }}
{{- end }}

{{/* The users the console may impersonate, as a JSON list. */}}
{{- define "tradingbot-operator.console.users" -}}
{{- $users := .Values.console.users.impersonateUsers }}
{{- if include "tradingbot-operator.console.firstUser" . }}
{{- $users = prepend $users .Values.console.users.firstUser.name }}
{{- end }}
{{- $users | uniq | toJson }}
{{- end }}

{{/* The groups the console may impersonate, as a JSON list: impersonateGroups and the first user's. */}}
{{- define "tradingbot-operator.console.groups" -}}
{{- $groups := .Values.console.impersonateGroups }}
{{- if include "tradingbot-operator.console.firstUser" . }}
{{- $groups = concat $groups .Values.console.users.firstUser.groups }}
{{- end }}
{{- $groups | uniq | toJson }}
{{- end }}

{{/* host:port for the console's flags; an IPv6 address in brackets. */}}
{{- define "tradingbot-operator.console.endpoint" -}}
{{- $host := index . 0 }}
{{- if contains ":" $host }}{{ printf "[%s]:%v" $host (index . 1) }}{{ else }}{{ printf "%s:%v" $host (index . 1) }}{{ end }}
{{- end }}

{{/* The console's values no schema can check alone. */}}
{{- define "tradingbot-operator.console.validate" -}}
{{- $console := .Values.console }}
{{- if not $console.tls.existingSecret }}
{{- if $console.ingress.enabled }}
{{- fail "console.ingress.enabled needs console.tls.existingSecret: without TLS the console listens on 127.0.0.1 inside its pod, which no Ingress reaches (kubectl port-forward does)" }}
{{- end }}
{{- if ne $console.service.type "ClusterIP" }}
{{- fail (printf "console.service.type %s needs console.tls.existingSecret: without TLS the console listens on 127.0.0.1 inside its pod and must not be exposed" $console.service.type) }}
{{- end }}
{{- if $console.networkPolicy.ingressFrom }}
{{- fail "console.networkPolicy.ingressFrom needs console.tls.existingSecret: without TLS the console listens on 127.0.0.1 inside its pod, which no other pod reaches" }}
{{- end }}
{{- end }}
{{- if and $console.ingress.enabled .Values.networkPolicy.enabled (not $console.networkPolicy.ingressFrom) }}
{{- fail "console.ingress.enabled with networkPolicy.enabled needs console.networkPolicy.ingressFrom: name the ingress controller's pods (e.g. a namespaceSelector), or the NetworkPolicy drops its connections" }}
{{- end }}
{{- range $name := concat (include "tradingbot-operator.console.users" . | fromJsonArray) (include "tradingbot-operator.console.groups" . | fromJsonArray) }}
{{- if hasPrefix "system" $name }}
{{- fail (printf "console: %s is refused as a user or group to impersonate: names starting with 'system' are Kubernetes' own identities" $name) }}
{{- end }}
{{- end }}
{{- if and $console.database.existingSecret .Values.networkPolicy.enabled (not $console.networkPolicy.postgresql.peers) }}
{{- fail "console.database.existingSecret with networkPolicy.enabled needs console.networkPolicy.postgresql.peers: name PostgreSQL (e.g. an ipBlock or its pods), or the NetworkPolicy drops the console's connections to it" }}
{{- end }}
{{- if eq (int $console.port) (int $console.metricsPort) }}
{{- fail (printf "console.port and console.metricsPort are both %d: they must differ" (int $console.port)) }}
{{- end }}
{{- end }}
