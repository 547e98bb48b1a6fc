{{- define "bomb" -}}{{ include "bomb" . }}{{ include "bomb" . }}{{- end -}}
