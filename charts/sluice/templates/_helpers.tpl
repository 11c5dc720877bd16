{{- define "sluice.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sluice.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "sluice.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sluice.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end -}}

{{- define "sluice.labels" -}}
{{ include "sluice.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "sluice.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "sluice.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "sluice.leaseName" -}}
{{- default (printf "%s-leader" (include "sluice.fullname" .)) .Values.leaderElection.leaseName -}}
{{- end -}}

{{- /* The speaker runs where the provider announces addresses itself: bare-metal pools. */ -}}
{{- define "sluice.speakerEnabled" -}}
{{- if and .Values.speaker.enabled (eq .Values.provider "pool") -}}true{{- end -}}
{{- end -}}

{{- define "sluice.speakerName" -}}
{{- printf "%s-speaker" (include "sluice.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sluice.speakerSelectorLabels" -}}
app.kubernetes.io/name: {{ include "sluice.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: speaker
{{- end -}}

{{- define "sluice.speakerLabels" -}}
{{ include "sluice.speakerSelectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "sluice.speakerServiceAccountName" -}}
{{- if .Values.speaker.serviceAccount.create -}}
{{- default (include "sluice.speakerName" .) .Values.speaker.serviceAccount.name -}}
{{- else -}}
{{- required "speaker.serviceAccount.name is required when speaker.serviceAccount.create is false" .Values.speaker.serviceAccount.name -}}
{{- end -}}
{{- end -}}
