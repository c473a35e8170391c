// Package redact keeps credentials out of logs and links: every URL that is logged goes
// through URL, and links the API hands out drop the parameters that IsCredential names.
package redact

import (
	"net/url"
	"strings"
)

// Mask replaces a credential's value.
const Mask = "REDACTED"

// credentials are the query parameters that carry a secret: OAuth2 tokens and client secrets
// (RFC 6750 §2.3 allows access_token in the query), passwords, CSRF tokens, API keys.
var credentials = map[string]bool{
	"access_token": true, "refresh_token": true, "id_token": true, "token": true,
	"client_secret": true, "password": true, "secret": true,
	"code": true, "code_verifier": true, // OAuth2 authorization codes and PKCE verifiers
	"api_key": true, "apikey": true, "_csrf": true, "csrf_token": true,
}

// IsCredential reports whether a query parameter name carries a credential (any case).
func IsCredential(name string) bool { return credentials[strings.ToLower(name)] }

// URL is u as a string for a log line: the values of credential parameters and the password of
// the user information are masked; everything else is kept as it came, malformed escapes too.
func URL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	if c.User != nil {
		if _, has := c.User.Password(); has {
			c.User = url.UserPassword(c.User.Username(), Mask)
		}
	}
	c.RawQuery = Query(c.RawQuery)
	c.ForceQuery = false
	return c.String()
}

// Query masks the credential values of a raw query string, leaving each other parameter byte
// for byte as it was (a query that does not parse is still masked).
func Query(raw string) string {
	if raw == "" {
		return raw
	}
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		name, _, _ := strings.Cut(p, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		if IsCredential(strings.TrimSpace(name)) {
			parts[i] = name + "=" + Mask
		}
	}
	return strings.Join(parts, "&")
}

// RequestURI masks a request URI (path and query, as Fiber's OriginalURL gives it).
func RequestURI(uri string) string {
	path, query, found := strings.Cut(uri, "?")
	if !found {
		return uri
	}
	return path + "?" + Query(query)
}
