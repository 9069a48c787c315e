{{/* Chart name, truncated to the 63 characters of a label value. */}}
{{- define "agentstate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name, prefixed to the chart name unless it contains it. */}}
{{- define "agentstate.fullname" -}}
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

{{- define "agentstate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "agentstate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "agentstate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "agentstate.labels" -}}
helm.sh/chart: {{ include "agentstate.chart" . }}
{{ include "agentstate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: agentstate
{{- end }}

{{- define "agentstate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "agentstate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "agentstate.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The claim holding bindings.localstorage's files. */}}
{{- define "agentstate.blobClaimName" -}}
{{- default (printf "%s-blobs" (include "agentstate.fullname" .)) .Values.components.blobStore.localstorage.existingClaim }}
{{- end }}

{{/* Every Dapr resource of the chart is scoped to the worker's app id. */}}
{{- define "agentstate.daprScopes" -}}
scopes:
  - {{ .Values.dapr.appId | quote }}
{{- end }}

{{/*
A component metadata entry whose value is a Kubernetes Secret's key, resolved by the
Dapr operator (auth.secretStore: kubernetes), so the value never appears in a manifest.
Call with (dict "name" "redisPassword" "ref" .Values....passwordSecret).
*/}}
{{- define "agentstate.secretMetadata" -}}
- name: {{ .name }}
  secretKeyRef:
    name: {{ .ref.name | quote }}
    key: {{ .ref.key | quote }}
{{- end }}

{{/* Fails the render when the shutdown timings cannot work together. */}}
{{- define "agentstate.checkShutdown" -}}
{{- $drain := int .Values.shutdownGraceSeconds }}
{{- $block := int .Values.dapr.blockShutdownSeconds }}
{{- if lt $block $drain }}
{{- fail (printf "dapr.blockShutdownSeconds (%d) must be at least shutdownGraceSeconds (%d): the worker drains through its sidecar" $block $drain) }}
{{- end }}
{{- if le (int .Values.terminationGracePeriodSeconds) (add $block 5) }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must exceed dapr.blockShutdownSeconds (%d) plus daprd's 5s graceful shutdown" (int .Values.terminationGracePeriodSeconds) $block) }}
{{- end }}
{{- end }}

{{- define "agentstate.daprResourcesChecksum" -}}
{{- $all := "" }}
{{- range list "statestore" "pubsub" "pubsub-broadcast" "blobstore" "secretstore" "resiliency" }}
{{- $all = print $all (include (print $.Template.BasePath "/components/" . ".yaml") $) }}
{{- end }}
{{- $all | sha256sum }}
{{- end }}

{{/* Metadata shared by both pub/sub components (README, "Running beside Dapr"). */}}
{{- define "agentstate.redisPubsubMetadata" -}}
{{- $pubsub := .Values.components.pubsub -}}
- name: redisHost
  value: {{ $pubsub.redis.host | quote }}
{{- if $pubsub.redis.passwordSecret.name }}
{{ include "agentstate.secretMetadata" (dict "name" "redisPassword" "ref" $pubsub.redis.passwordSecret) }}
{{- end }}
- name: enableTLS
  value: {{ $pubsub.redis.enableTLS | toString | quote }}
# Ends the blocked stream read of a closed subscription, which would otherwise take
# the next event of its topic.
- name: readTimeout
  value: {{ $pubsub.readTimeout | quote }}
- name: processingTimeout
  value: {{ $pubsub.processingTimeout | quote }}
- name: redeliverInterval
  value: {{ $pubsub.redeliverInterval | quote }}
{{- end }}
