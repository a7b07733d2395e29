{{/* The console's OIDC callback: console.oidc.redirectUrl, or the Ingress's host, or loopback without TLS. */}}
{{- define "tradingbot-operator.console.oidc.redirectUrl" -}}
{{- $console := .Values.console }}
{{- if $console.oidc.redirectUrl }}
{{- $console.oidc.redirectUrl }}
{{- else if and $console.ingress.enabled $console.ingress.host }}
{{- printf "https://%s/auth/oidc/callback" $console.ingress.host }}
{{- else if not $console.tls.existingSecret }}
{{- printf "http://127.0.0.1:%d/auth/oidc/callback" (int $console.port) }}
{{- end }}
{{- end }}

{{/* The console's OIDC values no schema can check alone. */}}
{{- define "tradingbot-operator.console.oidc.validate" -}}
{{- $console := .Values.console }}
{{- $oidc := $console.oidc }}
{{- if $oidc.enabled }}
{{- range $key := list "issuerUrl" "clientId" }}
{{- if not (index $oidc $key) }}
{{- fail (printf "console.oidc.%s: required with console.oidc.enabled" $key) }}
{{- end }}
{{- end }}
{{- if not $oidc.clientSecret.existingSecret }}
{{- fail "console.oidc.clientSecret.existingSecret: required with console.oidc.enabled: a Secret with the client secret (the console reads it from a file, never from an argument)" }}
{{- end }}
{{- if not (include "tradingbot-operator.console.oidc.redirectUrl" .) }}
{{- fail "console.oidc.redirectUrl: required with console.tls.existingSecret and no console.ingress.host: the callback registered at the issuer, https://<console's host>/auth/oidc/callback" }}
{{- end }}
{{- if not $oidc.users }}
{{- fail (printf "console.oidc.users: list who may sign in through the issuer, as prefixed names such as %salice@example.com (the console may impersonate no one else)" $oidc.usernamePrefix) }}
{{- end }}
{{- range $prefix := list $oidc.usernamePrefix $oidc.groupsPrefix }}
{{- if hasPrefix "system" $prefix }}
{{- fail (printf "console.oidc: the prefix %s is refused: it would let the issuer name Kubernetes' own identities" $prefix) }}
{{- end }}
{{- end }}
{{- range $user := $oidc.users }}
{{- if or (not (hasPrefix $oidc.usernamePrefix $user)) (eq $user $oidc.usernamePrefix) }}
{{- fail (printf "console.oidc.users: %s must start with console.oidc.usernamePrefix (%s), as the console names the issuer's people" $user $oidc.usernamePrefix) }}
{{- end }}
{{- end }}
{{- if and $oidc.ca.existingConfigMap $oidc.ca.existingSecret }}
{{- fail "console.oidc.ca: name existingConfigMap or existingSecret, not both" }}
{{- end }}
{{- if .Values.networkPolicy.enabled }}
{{- if not $console.networkPolicy.oidcIssuer.peers }}
{{- fail "console.oidc.enabled with networkPolicy.enabled needs console.networkPolicy.oidcIssuer.peers: the issuer's addresses (e.g. an ipBlock), or the NetworkPolicy drops the console's requests to it" }}
{{- end }}
{{- $port := (regexFind ":[0-9]+$" (urlParse $oidc.issuerUrl).host | trimPrefix ":") | default "443" }}
{{- $ports := list }}
{{- range $console.networkPolicy.oidcIssuer.ports }}
{{- $ports = append $ports (toString (int .)) }}
{{- end }}
{{- if not (has $port $ports) }}
{{- fail (printf "console.networkPolicy.oidcIssuer.ports must include %s, the port of console.oidc.issuerUrl" $port) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
