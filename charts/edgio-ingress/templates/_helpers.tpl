{{/* The chart name, or nameOverride. */}}
{{- define "edgio-ingress.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The full name of the release's objects: fullnameOverride, else release + chart name. */}}
{{- define "edgio-ingress.fullname" -}}
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

{{- define "edgio-ingress.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "edgio-ingress.labels" -}}
helm.sh/chart: {{ include "edgio-ingress.chart" . }}
{{ include "edgio-ingress.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: edgio-ingress
{{- end }}

{{/* Labels that select the controller's pods. */}}
{{- define "edgio-ingress.selectorLabels" -}}
app.kubernetes.io/name: {{ include "edgio-ingress.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "edgio-ingress.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "edgio-ingress.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The credential Secret: the existing one, or the one the chart creates. */}}
{{- define "edgio-ingress.secretName" -}}
{{- default (printf "%s-credentials" (include "edgio-ingress.fullname" .)) .Values.credentials.existingSecret }}
{{- end }}

{{- define "edgio-ingress.leaseName" -}}
{{- default (include "edgio-ingress.fullname" .) .Values.leaderElection.leaseName }}
{{- end }}

{{- define "edgio-ingress.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The settings of `edgio-ingress run` that the Deployment and the CronJob share, one
flag a line, as YAML list items. The Deployment and the CronJob use the same Lease. */}}
{{- define "edgio-ingress.runArgs" -}}
- --interval={{ .Values.controller.interval }}
- --policy={{ .Values.controller.policy }}
{{- with .Values.controller.ownerId }}
- {{ printf "--owner-id=%s" . | quote }}
{{- end }}
{{- range .Values.watchNamespaces }}
- {{ printf "--namespace=%s" . | quote }}
{{- end }}
{{- range .Values.controller.zones }}
- {{ printf "--zone=%s" . | quote }}
{{- end }}
{{- with .Values.controller.originHostname }}
- {{ printf "--origin-hostname=%s" . | quote }}
{{- end }}
{{- range .Values.controller.shortnames }}
- {{ printf "--shortname=%s" . | quote }}
{{- end }}
{{- range $shortname, $name := .Values.controller.edgeHostnames }}
- {{ printf "--edge-hostname=%s=%s" $shortname $name | quote }}
{{- end }}
- --node-address-type={{ .Values.controller.nodeAddressType }}
{{- if .Values.controller.ttl }}
- --ttl={{ .Values.controller.ttl }}
{{- end }}
{{- if .Values.controller.dryRun }}
- --dry-run
{{- end }}
{{- if .Values.leaderElection.enabled }}
- --leader-elect
{{- else }}
- --no-leader-elect
{{- end }}
- --lease-name={{ include "edgio-ingress.leaseName" . }}
- --lease-namespace={{ .Release.Namespace }}
- --credentials-secret={{ include "edgio-ingress.secretName" . }}
- --log-format={{ .Values.controller.logFormat }}
- --log-level={{ .Values.controller.logLevel }}
{{- range .Values.controller.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end }}

{{/* Environment shared by the Deployment and the CronJob: the credential Secret's keys
(named as the controller's environment variables) and the pod's own namespace. */}}
{{- define "edgio-ingress.envFrom" -}}
- secretRef:
    name: {{ include "edgio-ingress.secretName" . }}
{{- end }}

{{- define "edgio-ingress.env" -}}
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
{{- with .Values.controller.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* RBAC rules for the namespaced kinds the controller reads and writes: in a ClusterRole,
or in a Role per watched namespace. */}}
{{- define "edgio-ingress.routeRules" -}}
- apiGroups: [networking.k8s.io]
  resources: [ingresses]
  verbs: [get, list, watch]
- apiGroups: [networking.k8s.io]
  resources: [ingresses/status]
  verbs: [update]
- apiGroups: [""]
  resources: [services]
  verbs: [get, list, watch]
- apiGroups: [cdn.edgio.io]
  resources: [edgioroutes]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [cdn.edgio.io]
  resources: [edgioroutes/status]
  verbs: [get, update, patch]
- apiGroups: [cdn.edgio.io]
  resources: [edgioroutes/finalizers]
  verbs: [update]
- apiGroups: ["", events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end }}
