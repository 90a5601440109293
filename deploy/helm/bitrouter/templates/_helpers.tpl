{{/* Names and labels shared by every template of the chart. */}}

{{- define "bitrouter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: <release>-bitrouter, or the release name when it already says bitrouter. */}}
{{- define "bitrouter.fullname" -}}
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

{{- define "bitrouter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The selector: stable for the release's life (a Deployment's selector cannot change). */}}
{{- define "bitrouter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bitrouter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "bitrouter.labels" -}}
helm.sh/chart: {{ include "bitrouter.chart" . }}
{{ include "bitrouter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "bitrouter.secretName" -}}
{{- if .Values.secrets.existingSecret }}
{{- .Values.secrets.existingSecret }}
{{- else }}
{{- printf "%s-secrets" (include "bitrouter.fullname" .) }}
{{- end }}
{{- end }}

{{/*
The grace period: preStop sleep + drain timeout + margin (deploy/README.md explains why).
*/}}
{{- define "bitrouter.terminationGracePeriodSeconds" -}}
{{- add (int .Values.preStopSleepSeconds) (int .Values.drain.timeoutSeconds) (int .Values.terminationGraceMarginSeconds) }}
{{- end }}

{{/*
bitrouter.yaml: `config` with the keys the chart owns set from the values (listen addresses
from `ports`, `drain` from `drain`) and the Service's names added to `server.allowed_hosts`.
*/}}
{{- define "bitrouter.config" -}}
{{- $cfg := deepCopy (.Values.config | default dict) }}
{{- $server := dict }}
{{- if hasKey $cfg "server" }}
{{- $server = get $cfg "server" | default dict }}
{{- end }}
{{- range $key := list "listen" "metrics_listen" "drain" }}
{{- if hasKey $server $key }}
{{- fail (printf "config.server.%s is set by the chart: use ports.* and drain.* instead" $key) }}
{{- end }}
{{- end }}
{{- if gt (int .Values.drain.acceptSeconds) (int .Values.drain.timeoutSeconds) }}
{{- fail "drain.acceptSeconds must not exceed drain.timeoutSeconds" }}
{{- end }}
{{- if lt (int .Values.terminationGraceMarginSeconds) 0 }}
{{- fail "terminationGraceMarginSeconds must not be negative" }}
{{- end }}
{{- $_ := set $server "listen" (printf "0.0.0.0:%d" (int .Values.ports.http)) }}
{{- $_ = set $server "metrics_listen" (printf "0.0.0.0:%d" (int .Values.ports.metrics)) }}
{{- $_ = set $server "drain" (dict "timeout" (printf "%ds" (int .Values.drain.timeoutSeconds)) "accept" (printf "%ds" (int .Values.drain.acceptSeconds))) }}
{{- $svc := include "bitrouter.fullname" . }}
{{- $ns := .Release.Namespace }}
{{- $hosts := list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.%s" $svc $ns .Values.clusterDomain) }}
{{- $_ = set $server "allowed_hosts" (concat ($server.allowed_hosts | default list) $hosts | uniq) }}
{{- $_ = set $cfg "server" $server }}
{{- toYaml $cfg }}
{{- end }}
