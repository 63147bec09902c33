{{- define "signet.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "signet.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "signet.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "signet.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}{{ default (include "signet.fullname" .) .Values.serviceAccount.name }}{{- else -}}{{ default "default" .Values.serviceAccount.name }}{{- end -}}
{{- end -}}

{{- define "signet.secretName" -}}
{{- default (printf "%s-secrets" (include "signet.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{- define "signet.image" -}}
{{- if not .Values.image.repository -}}{{- fail "image.repository is required (Signet's image, built from the Containerfile)" -}}{{- end -}}
{{- if .Values.image.digest -}}{{ .Values.image.repository }}@{{ .Values.image.digest }}{{- else -}}{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}{{- end -}}
{{- end -}}

{{/* Environment shared by web and worker. */}}
{{- define "signet.env" -}}
- name: DATABASE_URL
  valueFrom: { secretKeyRef: { name: {{ include "signet.secretName" . }}, key: DATABASE_URL } }
- name: SIGNET_SECRET_KEY
  valueFrom: { secretKeyRef: { name: {{ include "signet.secretName" . }}, key: SIGNET_SECRET_KEY } }
{{- if and .Values.metrics.enabled .Values.metrics.token }}
- name: SIGNET_METRICS_TOKEN
  valueFrom: { secretKeyRef: { name: {{ include "signet.secretName" . }}, key: SIGNET_METRICS_TOKEN } }
{{- end }}
{{- if .Values.web.publicUrl }}
- name: SIGNET_PUBLIC_URL
  value: {{ .Values.web.publicUrl | quote }}
{{- end }}
{{- range $k, $v := .Values.env }}
- name: {{ $k }}
  value: {{ $v | toString | quote }}
{{- end }}
{{- end -}}

{{/* Pod-level settings shared by every pod. */}}
{{- define "signet.podCommon" -}}
serviceAccountName: {{ include "signet.serviceAccountName" . }}
securityContext: {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}
