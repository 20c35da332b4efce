{{/*
The security policy's patterns as RE2 regular expressions, a JSON list: the same
translation as plugins/security/glob.ts (quote, then `**` any run, `*` any run without
'/', `?` one character but '/'), so the API server and the operator judge alike.
*/}}
{{- define "ao.security.regexes" -}}
{{- $out := list -}}
{{- range . -}}
{{- $q := regexQuoteMeta . -}}
{{- $out = append $out (printf "^%s$" ($q | replace "\\*\\*" "[\\s\\S]*" | replace "\\*" "[^/]*" | replace "\\?" "[^/]")) -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* A list of patterns as the messages name it (plugins/security/judge.ts listed()). */}}
{{- define "ao.security.listed" -}}
{{- if . }}{{ join ", " . }}{{ else }}none{{ end -}}
{{- end -}}
