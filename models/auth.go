package models

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// Roles. A rep works on its own and unassigned opportunities; a manager on all of them and sees
// forecasts; an admin also manages users, API clients, pipelines, phases and lost reasons.
const (
	RoleRep     = "rep"
	RoleManager = "manager"
	RoleAdmin   = "admin"
)

// Roles lists the roles from least to most trusted (for pickers and validation).
var Roles = []string{RoleRep, RoleManager, RoleAdmin}

// ValidRole reports whether r is one of Roles.
func ValidRole(r string) bool {
	for _, x := range Roles {
		if x == r {
			return true
		}
	}
	return false
}

// IsSystem reports whether the actor is the application itself (the CLI, the demo loader, data
// migrations, store tests): a zero Role. Every HTTP entry point builds its actor from a logged-in
// user or an API client, which always carries a role.
func (a Actor) IsSystem() bool { return a.Role == "" }

// CanEditActivity is the board's and the API's edit rule, for every kind: a rep may change its
// own and unassigned activities; managers and admins any.
func CanEditActivity(a Actor, opp *Activity) bool {
	switch a.Role {
	case "", RoleManager, RoleAdmin:
		return true
	case RoleRep:
		return opp.SalesRepresentativeID == nil ||
			(a.EmployeeID != nil && *opp.SalesRepresentativeID == *a.EmployeeID)
	}
	return false
}

// mustKeepCatalogue: the product catalogue is kept by managers and admins; reps use it.
func mustKeepCatalogue(a Actor) error {
	switch a.Role {
	case "", RoleManager, RoleAdmin:
		return nil
	}
	return Errorf(EForbidden, "Only a manager or an administrator keeps the product catalogue.")
}

// CanAdminister: users, API clients, pipelines, phases and lost reasons are for admins.
func CanAdminister(a Actor) bool { return a.Role == "" || a.Role == RoleAdmin }

func mustAdminister(a Actor) error {
	if !CanAdminister(a) {
		return Errorf(EForbidden, "Only an administrator can do this.")
	}
	return nil
}

// Scopes an API client or token may hold. "offline" asks for a refresh token in the
// authorization code flow (oauth.go) and grants no access of its own; "offline_access" is its
// other spelling (OpenID Connect's, which Tribe's OAuth server also takes): both are served.
const (
	ScopeRead          = "read"
	ScopeWrite         = "write"
	ScopeOffline       = "offline"
	ScopeOfflineAccess = "offline_access"
)

// IsOfflineScope reports whether a scope asks for refresh tokens (any client may ask).
func IsOfflineScope(scope string) bool { return scope == ScopeOffline || scope == ScopeOfflineAccess }

// ParseScopes splits a space- or comma-separated scope list, dropping duplicates; an unknown
// scope is an EInvalid error naming it.
func ParseScopes(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, sc := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' }) {
		switch sc {
		case ScopeRead, ScopeWrite, ScopeOffline, ScopeOfflineAccess:
		default:
			return nil, FieldError("scope", "Unknown scope %q: use read, write or offline (offline_access).", sc)
		}
		if !seen[sc] {
			seen[sc] = true
			out = append(out, sc)
		}
	}
	return out, nil
}

// HasScope reports whether a space-separated scope list holds scope.
func HasScope(scopes, scope string) bool {
	for _, s := range strings.Fields(scopes) {
		if s == scope {
			return true
		}
	}
	return false
}

// newToken returns a random 32-byte token (URL-safe) and the hash stored in its place.
func newToken() (token, hash string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token)
}

// hashToken is how tokens and client secrets are stored: 256 random bits need no slow hash.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Argon2id parameters (OWASP's minimum: 19 MiB, 2 passes, 1 lane). They are encoded in each
// hash, so raising them later keeps old hashes verifiable.
var argonParams = struct {
	Memory  uint32
	Time    uint32
	Threads uint8
	KeyLen  uint32
}{Memory: 19 * 1024, Time: 2, Threads: 1, KeyLen: 32}

// HashPassword returns a PHC-style argon2id string: $argon2id$v=19$m=…,t=…,p=…$salt$hash.
func HashPassword(password string) string {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		panic(err)
	}
	p := argonParams
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding.EncodeToString
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads, b64(salt), b64(key))
}

// CheckPassword verifies password against a HashPassword string in constant time.
func CheckPassword(encoded, password string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<22 || t > 64 {
		return false
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 || len(want) > 128 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked when no user has the email, so that a wrong email costs as much time as
// a wrong password and the timing tells nothing about who has an account.
var dummyHash = sync.OnceValue(func() string { return HashPassword("phaseboard-timing-equaliser") })

// RandomPassword returns a 20-character password for first starts and new users.
func RandomPassword() string {
	b := make([]byte, 15)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
