{{/* Labels on every object (as the kustomize base's labels:). */}}
{{- define "trueup.labels" -}}
app.kubernetes.io/name: trueup
app.kubernetes.io/part-of: trueup
{{- end -}}
{{- define "trueup.selector" -}}
app.kubernetes.io/component: daemon
app.kubernetes.io/name: trueup
{{- end -}}
