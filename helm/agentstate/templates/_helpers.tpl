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

{{/* The jobs' own account: the worker's would give them its Secret access. */}}
{{- define "agentstate.jobsServiceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- printf "%s-jobs" (include "agentstate.serviceAccountName" .) | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- include "agentstate.serviceAccountName" . }}
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

{{/* The Dapr Configuration every sidecar of the release loads. */}}
{{- define "agentstate.daprConfigName" -}}
{{- default (include "agentstate.fullname" .) .Values.dapr.configuration.name }}
{{- end }}

{{/*
Pod and container security contexts of every workload: non-root, read-only root
filesystem, no privilege escalation, no capabilities, the runtime's seccomp profile.
65532 is the image's user (Dockerfile).
*/}}
{{- define "agentstate.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
# Group of the blob volume's files, shared by the worker and daprd.
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "agentstate.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
A CronJob running one CLI command with its own Dapr sidecar, reaching the worker by
service invocation with the operator token. Call with
(dict "root" $ "job" .Values.backup "suffix" "backup" "args" (list "backup" "create" "--wait")).
*/}}
{{- define "agentstate.cliCronJob" -}}
{{- $root := .root }}
{{- $job := .job }}
{{- $name := printf "%s-%s" (include "agentstate.fullname" $root) .suffix | trunc 52 | trimSuffix "-" }}
{{- if not $root.Values.operatorToken.secretName }}
{{- fail (printf "%s.enabled needs operatorToken.secretName: the job authenticates to the worker with an operator token" .suffix) }}
{{- end }}
apiVersion: batch/v1
kind: CronJob
metadata:
  name: {{ $name }}
  labels:
    {{- include "agentstate.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .suffix }}
spec:
  schedule: {{ $job.schedule | quote }}
  {{- with $job.timeZone }}
  timeZone: {{ . | quote }}
  {{- end }}
  # Never two at once: a second run would only compete with the first for the stores.
  concurrencyPolicy: Forbid
  startingDeadlineSeconds: {{ $job.startingDeadlineSeconds }}
  successfulJobsHistoryLimit: {{ $job.successfulJobsHistoryLimit }}
  failedJobsHistoryLimit: {{ $job.failedJobsHistoryLimit }}
  jobTemplate:
    metadata:
      labels:
        {{- include "agentstate.labels" $root | nindent 8 }}
        app.kubernetes.io/component: {{ .suffix }}
    spec:
      backoffLimit: {{ $job.backoffLimit }}
      activeDeadlineSeconds: {{ $job.activeDeadlineSeconds }}
      ttlSecondsAfterFinished: {{ $job.ttlSecondsAfterFinished }}
      template:
        metadata:
          labels:
            app.kubernetes.io/name: {{ include "agentstate.name" $root }}
            app.kubernetes.io/instance: {{ $root.Release.Name }}
            app.kubernetes.io/component: {{ .suffix }}
          annotations:
            dapr.io/enabled: "true"
            dapr.io/app-id: {{ $job.appId | quote }}
            dapr.io/config: {{ include "agentstate.daprConfigName" $root | quote }}
            dapr.io/log-level: {{ $root.Values.dapr.logLevel | quote }}
            dapr.io/log-as-json: "true"
            dapr.io/max-body-size: {{ $root.Values.dapr.maxBodySize | quote }}
            dapr.io/sidecar-listen-addresses: {{ $root.Values.dapr.sidecarListenAddresses | quote }}
        spec:
          serviceAccountName: {{ include "agentstate.jobsServiceAccountName" $root }}
          # The CLI exits with a status the Job acts on; backoffLimit decides retries.
          restartPolicy: Never
          {{- with $root.Values.imagePullSecrets }}
          imagePullSecrets:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          securityContext:
            {{- include "agentstate.podSecurityContext" $root | nindent 12 }}
          containers:
            - name: {{ .suffix }}
              image: {{ include "agentstate.image" $root | quote }}
              imagePullPolicy: {{ $root.Values.image.pullPolicy }}
              # The image's entrypoint is the agentstate CLI. It waits for its sidecar,
              # and shuts the sidecar down when it exits so that the Job completes.
              args:
                {{- range .args }}
                - {{ . | quote }}
                {{- end }}
                - --dapr-app-id
                - {{ $root.Values.dapr.appId | quote }}
                - --json
                {{- range $job.extraArgs }}
                - {{ . | quote }}
                {{- end }}
              env:
                - name: AGENTSTATE_TOKEN
                  valueFrom:
                    secretKeyRef:
                      name: {{ $root.Values.operatorToken.secretName | quote }}
                      key: {{ $root.Values.operatorToken.key | quote }}
                - name: LOG_LEVEL
                  value: {{ $root.Values.logLevel | quote }}
              securityContext:
                {{- include "agentstate.containerSecurityContext" $root | nindent 16 }}
              resources:
                {{- toYaml $job.resources | nindent 16 }}
              volumeMounts:
                - name: tmp
                  mountPath: /tmp
          volumes:
            - name: tmp
              emptyDir: {}
          {{- with $root.Values.nodeSelector }}
          nodeSelector:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with $root.Values.tolerations }}
          tolerations:
            {{- toYaml . | nindent 12 }}
          {{- end }}
{{- end }}
