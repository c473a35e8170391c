package models

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// OAuth2 for clients that act for a user, as Tribe's "Authorization Code" applications do: the
// authorization code grant (RFC 6749 §4.1) with PKCE (RFC 7636), and refresh tokens (§6) for the
// offline scope (or offline_access), rotated on every use. A user's Allow on the consent page
// makes a code; its exchange makes a grant (OAuthGrant), and every token issued from the grant
// acts as that user with the user's role, so models.ReadScope limits what it reads exactly as it
// limits the user's board. Revoking the grant ends every token issued from it, at once: token lookups join it.
//
// Codes, refresh tokens and access tokens are random 256-bit strings stored as their SHA-256.

// Lifetimes. A code only has to survive one redirect and one request; a refresh token that is
// not used for a month ends (each rotation starts a new month).
const (
	CodeTTL    = time.Minute
	RefreshTTL = 30 * 24 * time.Hour
	// grantTouchEvery is how stale a grant's last_used_at may get before a token lookup
	// writes it again: an API read writes at most once a minute for it.
	grantTouchEvery = time.Minute
)

// OAuth2 error codes (RFC 6749 §4.1.2.1 and §5.2). web/errors.go gives each its status.
const (
	OAuthInvalidRequest          = "invalid_request"
	OAuthInvalidClient           = "invalid_client"
	OAuthInvalidGrant            = "invalid_grant"
	OAuthUnauthorizedClient      = "unauthorized_client"
	OAuthUnsupportedGrantType    = "unsupported_grant_type"
	OAuthUnsupportedResponseType = "unsupported_response_type"
	OAuthInvalidScope            = "invalid_scope"
	OAuthAccessDenied            = "access_denied"
	OAuthTemporarilyUnavailable  = "temporarily_unavailable"
)

// OAuthError is a refused OAuth2 request in RFC 6749's terms: a code from the list above and a
// description safe to show to the client (and, on the consent side, to the user).
type OAuthError struct {
	Code        string
	Description string
}

func (e *OAuthError) Error() string { return "oauth " + e.Code + ": " + e.Description }

func oauthErr(code, description string) *OAuthError {
	return &OAuthError{Code: code, Description: description}
}

// OAuthGrant is one user's consent to one client, made when the code is exchanged.
type OAuthGrant struct {
	ID         uuid.UUID `gorm:"primaryKey;type:uuid"`
	ClientID   uuid.UUID `gorm:"type:uuid"`
	UserID     uuid.UUID `gorm:"type:uuid"`
	Scopes     string
	CreatedAt  time.Time
	LastUsedAt time.Time
	RevokedAt  *time.Time
}

func (OAuthGrant) TableName() string { return "oauth_grants" }

// OAuthCode is an authorization code; the row holds its hash.
type OAuthCode struct {
	CodeHash            string    `gorm:"primaryKey"`
	ClientID            uuid.UUID `gorm:"type:uuid"`
	UserID              uuid.UUID `gorm:"type:uuid"`
	RedirectURI         string
	Scopes              string
	CodeChallenge       string
	CodeChallengeMethod string
	CreatedAt           time.Time
	ExpiresAt           time.Time
	UsedAt              *time.Time
	GrantID             *uuid.UUID `gorm:"type:uuid"`
}

func (OAuthCode) TableName() string { return "oauth_codes" }

// OAuthRefreshToken is a refresh token of a grant; the row holds its hash.
type OAuthRefreshToken struct {
	TokenHash string    `gorm:"primaryKey"`
	GrantID   uuid.UUID `gorm:"type:uuid"`
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

func (OAuthRefreshToken) TableName() string { return "oauth_refresh_tokens" }

// maxRedirectURIs bounds a client's list (a form or a CLI typo should not make a thousand).
const maxRedirectURIs = 10

// ParseRedirectURIs checks the redirect URIs of a client, given one per element or one a line:
// absolute, without a fragment (RFC 6749 §3.1.2), https — or http to this machine (loopback,
// for native apps and development, RFC 8252 §7.3). They are compared as exact strings later.
func ParseRedirectURIs(in ...string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, chunk := range in {
		for _, raw := range strings.Fields(chunk) {
			if err := checkRedirectURI(raw); err != nil {
				return nil, err
			}
			if !seen[raw] {
				seen[raw] = true
				out = append(out, raw)
			}
		}
	}
	if len(out) > maxRedirectURIs {
		return nil, FieldError("redirect_uris", "Register at most %d redirect URIs.", maxRedirectURIs)
	}
	return out, nil
}

func checkRedirectURI(raw string) error {
	if err := CheckText("redirect_uris", raw); err != nil { // url.Parse takes invalid UTF-8
		return err
	}
	u, err := url.Parse(raw)
	switch {
	case len(raw) > 2000 || err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "":
		return FieldError("redirect_uris", "%q is not an absolute URL.", clip(raw, 80))
	case strings.Contains(raw, "#"):
		return FieldError("redirect_uris", "%q has a fragment; a redirect URI may not (RFC 6749 §3.1.2).", clip(raw, 80))
	case u.User != nil:
		return FieldError("redirect_uris", "%q carries user information; a redirect URI may not.", clip(raw, 80))
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	}
	return FieldError("redirect_uris", "%q must use https (http only to localhost).", clip(raw, 80))
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// RedirectURIList is the client's registered redirect URIs.
func (c *APIClient) RedirectURIList() []string { return strings.Fields(c.RedirectURIs) }

// hasRedirectURI reports whether uri is registered for the client, compared as exact strings
// (RFC 6749 §3.1.2.3 with registered full URIs; no prefix or pattern matching).
func (c *APIClient) hasRedirectURI(uri string) bool {
	for _, r := range c.RedirectURIList() {
		if r == uri {
			return true
		}
	}
	return false
}

// SetRedirectURIs replaces a client's redirect URIs (an empty list turns the authorization code
// flow off for it; codes and grants already made stay valid).
func (s *Store) SetRedirectURIs(ctx context.Context, clientID uuid.UUID, uris []string, actor Actor) error {
	if err := mustAdminister(actor); err != nil {
		return err
	}
	list, err := ParseRedirectURIs(uris...)
	if err != nil {
		return err
	}
	res := s.db(ctx).Model(&APIClient{}).Where("id = ? AND NOT revoked", clientID).Update("redirect_uris", strings.Join(list, "\n"))
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return Errorf(ENotFound, "That API client does not exist or is revoked.")
	}
	return nil
}

// AuthorizationRequest is what a client sends to the authorization endpoint (RFC 6749 §4.1.1,
// RFC 7636 §4.3).
type AuthorizationRequest struct {
	ResponseType        string
	ClientID            string
	RedirectURI         string
	Scope               string
	State               string
	CodeChallenge       string
	CodeChallengeMethod string
}

// PKCE methods (RFC 7636 §4.2). plain is what the RFC assumes when a client sends a challenge
// without a method; S256 is what every current client sends.
const (
	PKCES256  = "S256"
	PKCEPlain = "plain"
)

// pkceValue is the syntax of a code verifier and of a code challenge (RFC 7636 §4.1, §4.2).
var pkceValue = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// minStateLength is Tribe's rule: state is required, of at least 8 characters.
const minStateLength = 8

// AuthorizationClient checks the client and redirect URI of an authorization request. Until
// both are valid, an error may not be sent to the redirect URI (§4.1.2.1): the caller shows it.
func (s *Store) AuthorizationClient(ctx context.Context, r AuthorizationRequest) (*APIClient, error) {
	id, err := uuid.Parse(r.ClientID)
	if err != nil {
		return nil, oauthErr(OAuthInvalidRequest, "client_id is missing or names no client.")
	}
	var rows []APIClient
	if err := s.db(ctx).Where("id = ?", id).Limit(1).Find(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 || rows[0].Revoked {
		return nil, oauthErr(OAuthInvalidRequest, "client_id is missing or names no client.")
	}
	c := &rows[0]
	switch {
	case len(c.RedirectURIList()) == 0:
		return nil, oauthErr(OAuthUnauthorizedClient, "This client has no redirect URI registered, so it may not use the authorization code flow.")
	case r.RedirectURI == "":
		return nil, oauthErr(OAuthInvalidRequest, "redirect_uri is required.")
	case !c.hasRedirectURI(r.RedirectURI):
		return nil, oauthErr(OAuthInvalidRequest, "redirect_uri is not one registered for this client.")
	}
	return c, nil
}

// CheckAuthorization checks the rest of an authorization request of client c, whose redirect
// URI is valid: its errors go back to the client on the redirect. It returns the scopes asked
// for. Tribe requires scope and a state of at least 8 characters; offline (refresh tokens) may
// be asked by every client, the others only by a client that holds them.
func CheckAuthorization(c *APIClient, r AuthorizationRequest) ([]string, error) {
	switch {
	case r.ResponseType == "":
		return nil, oauthErr(OAuthInvalidRequest, "response_type is required; use code.")
	case r.ResponseType != "code":
		return nil, oauthErr(OAuthUnsupportedResponseType, "Only response_type=code is supported.")
	case len(r.State) < minStateLength:
		return nil, oauthErr(OAuthInvalidRequest, "state is required, of at least 8 characters.")
	case len(r.State) > 1000:
		return nil, oauthErr(OAuthInvalidRequest, "state is longer than 1000 characters.")
	}
	scopes, err := ParseScopes(r.Scope)
	if err != nil {
		return nil, oauthErr(OAuthInvalidScope, ErrorMessage(err))
	}
	if len(scopes) == 0 {
		return nil, oauthErr(OAuthInvalidScope, "scope is required: read, write and offline, space-separated.")
	}
	for _, sc := range scopes {
		if !IsOfflineScope(sc) && !HasScope(c.Scopes, sc) {
			return nil, oauthErr(OAuthInvalidScope, "This client may not ask for the \""+sc+"\" scope.")
		}
	}
	if err := checkChallenge(r.CodeChallenge, r.CodeChallengeMethod); err != nil {
		return nil, err
	}
	return scopes, nil
}

func checkChallenge(challenge, method string) error {
	switch {
	case challenge == "" && method != "":
		return oauthErr(OAuthInvalidRequest, "code_challenge_method was sent without a code_challenge.")
	case challenge == "":
		return nil
	case method != "" && method != PKCES256 && method != PKCEPlain:
		return oauthErr(OAuthInvalidRequest, "code_challenge_method must be S256 or plain.")
	case !pkceValue.MatchString(challenge):
		return oauthErr(OAuthInvalidRequest, "code_challenge must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_' and '~'.")
	}
	return nil
}

// IssueAuthorizationCode records the user's consent to an authorization request (which it
// checks again: the consent form carries it back) and returns the code for the redirect.
func (s *Store) IssueAuthorizationCode(ctx context.Context, user *User, r AuthorizationRequest) (string, error) {
	if user == nil || !user.IsActive {
		return "", Errorf(EUnauthorized, "Log in to allow access.")
	}
	c, err := s.AuthorizationClient(ctx, r)
	if err != nil {
		return "", err
	}
	scopes, err := CheckAuthorization(c, r)
	if err != nil {
		return "", err
	}
	method := r.CodeChallengeMethod
	if r.CodeChallenge != "" && method == "" {
		method = PKCEPlain
	}
	code, hash := newToken()
	now := s.now()
	row := &OAuthCode{CodeHash: hash, ClientID: c.ID, UserID: user.ID, RedirectURI: r.RedirectURI, Scopes: strings.Join(scopes, " "),
		CodeChallenge: r.CodeChallenge, CodeChallengeMethod: method, CreatedAt: now, ExpiresAt: now.Add(CodeTTL)}
	if err := s.db(ctx).Create(row).Error; err != nil {
		return "", err
	}
	return code, nil
}

// IssuedTokens is the answer of the token endpoint: an access token and, with the offline
// scope, a refresh token.
type IssuedTokens struct {
	AccessToken  string
	Access       *AccessToken
	RefreshToken string
}

// errRace: a code or refresh token was used by a concurrent request between the read and the
// write; the request is then a reuse like any other.
var errRace = errors.New("used concurrently")

// spend marks the single-use row that q selects (a code, a refresh token) used, in one
// conditional update: of two concurrent requests only one spends it, the other gets errRace.
func spend(q *gorm.DB, now time.Time) error {
	res := q.Where("used_at IS NULL").Update("used_at", now)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return errRace
	}
	return nil
}

// ExchangeCode is the authorization_code grant (RFC 6749 §4.1.3) for authenticated client c. A
// code presented a second time fails and revokes the grant its first exchange made (§4.1.2:
// it may have been stolen); every other refusal writes nothing.
func (s *Store) ExchangeCode(ctx context.Context, c *APIClient, code, redirectURI, verifier string) (*IssuedTokens, error) {
	switch {
	case len(c.RedirectURIList()) == 0:
		return nil, oauthErr(OAuthUnauthorizedClient, "This client has no redirect URI registered, so it may not use the authorization code grant.")
	case code == "" || len(code) > 200:
		return nil, oauthErr(OAuthInvalidRequest, "code is required.")
	case redirectURI == "":
		return nil, oauthErr(OAuthInvalidRequest, "redirect_uri is required: the one of the authorization request.")
	}
	var rows []struct {
		OAuthCode    `gorm:"embedded"`
		UserIsActive bool
	}
	err := s.db(ctx).Table("oauth_codes AS o").Select("o.*, u.is_active AS user_is_active").
		Joins("JOIN users u ON u.id = o.user_id").Where("o.code_hash = ?", hashToken(code)).Limit(1).Find(&rows).Error
	if err != nil {
		return nil, err
	}
	badCode := oauthErr(OAuthInvalidGrant, "The code is invalid, expired or already used.")
	if len(rows) == 0 || rows[0].ClientID != c.ID {
		return nil, badCode
	}
	row := rows[0].OAuthCode
	now := s.now()
	switch {
	case row.UsedAt != nil:
		return nil, s.refuseReuse(ctx, c.ID, row.GrantID, "The code was already used: the tokens issued with it are revoked.")
	case !now.Before(row.ExpiresAt):
		return nil, badCode
	case row.RedirectURI != redirectURI:
		return nil, oauthErr(OAuthInvalidGrant, "redirect_uri differs from the authorization request's.")
	case !rows[0].UserIsActive:
		return nil, oauthErr(OAuthInvalidGrant, "The user who allowed access is deactivated.")
	}
	if err := verifyPKCE(row.CodeChallenge, row.CodeChallengeMethod, verifier); err != nil {
		return nil, err
	}
	var out *IssuedTokens
	err = s.transact(ctx, func(tx *gorm.DB) error {
		if err := spend(tx.Model(&OAuthCode{}).Where("code_hash = ?", row.CodeHash), now); err != nil {
			return err
		}
		g := &OAuthGrant{ID: uuid.New(), ClientID: c.ID, UserID: row.UserID, Scopes: row.Scopes, CreatedAt: now, LastUsedAt: now}
		if err := tx.Create(g).Error; err != nil {
			return err
		}
		if err := tx.Model(&OAuthCode{}).Where("code_hash = ?", row.CodeHash).Update("grant_id", g.ID).Error; err != nil {
			return err
		}
		out, err = s.issueForGrant(tx, g, g.Scopes, now)
		return err
	})
	if errors.Is(err, errRace) {
		return nil, s.refuseReuse(ctx, c.ID, s.codeGrant(ctx, row.CodeHash), "The code was already used: the tokens issued with it are revoked.")
	}
	return out, err
}

// codeGrant is the grant a code's exchange made (nil if none).
func (s *Store) codeGrant(ctx context.Context, codeHash string) *uuid.UUID {
	var rows []OAuthCode
	if s.db(ctx).Where("code_hash = ?", codeHash).Limit(1).Find(&rows).Error != nil || len(rows) == 0 {
		return nil
	}
	return rows[0].GrantID
}

// refuseReuse revokes the grant of a code or refresh token of client presented again and
// answers the refusal (or the failure to revoke).
func (s *Store) refuseReuse(ctx context.Context, clientID uuid.UUID, grantID *uuid.UUID, description string) error {
	if grantID != nil {
		if err := s.revokeGrant(ctx, clientID, *grantID, Actor{}); err != nil && ErrorCode(err) != ENotFound {
			return err
		}
	}
	return oauthErr(OAuthInvalidGrant, description)
}

// verifyPKCE checks a code verifier against the code's challenge (RFC 7636 §4.6). A verifier
// sent for a code made without a challenge is refused too: it means a downgrade.
func verifyPKCE(challenge, method, verifier string) error {
	switch {
	case challenge == "" && verifier == "":
		return nil
	case challenge == "":
		return oauthErr(OAuthInvalidGrant, "code_verifier was sent, but the authorization request had no code_challenge.")
	case verifier == "":
		return oauthErr(OAuthInvalidGrant, "code_verifier is required: the authorization request had a code_challenge.")
	case !pkceValue.MatchString(verifier):
		return oauthErr(OAuthInvalidRequest, "code_verifier must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_' and '~'.")
	}
	derived := verifier
	if method == PKCES256 {
		sum := sha256.Sum256([]byte(verifier))
		derived = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if subtle.ConstantTimeCompare([]byte(derived), []byte(challenge)) != 1 {
		return oauthErr(OAuthInvalidGrant, "code_verifier does not match the code_challenge.")
	}
	return nil
}

// RefreshGrant is the refresh_token grant (RFC 6749 §6) for authenticated client c. The
// refresh token is rotated: the answer carries a new one and the old one is spent. A spent one
// presented again revokes the grant (RFC 9700 §4.14.2: one of the two holders is a thief);
// every other refusal writes nothing. scope may narrow the access token's scopes.
func (s *Store) RefreshGrant(ctx context.Context, c *APIClient, token, scope string) (*IssuedTokens, error) {
	if token == "" || len(token) > 200 {
		return nil, oauthErr(OAuthInvalidRequest, "refresh_token is required.")
	}
	var rows []struct {
		OAuthRefreshToken `gorm:"embedded"`
		OAuthGrant        `gorm:"embedded;embeddedPrefix:g_"`
		UserIsActive      bool
	}
	err := s.db(ctx).Table("oauth_refresh_tokens AS r").
		Select("r.*, g.id AS g_id, g.client_id AS g_client_id, g.user_id AS g_user_id, g.scopes AS g_scopes, g.created_at AS g_created_at, "+
			"g.last_used_at AS g_last_used_at, g.revoked_at AS g_revoked_at, u.is_active AS user_is_active").
		Joins("JOIN oauth_grants g ON g.id = r.grant_id").Joins("JOIN users u ON u.id = g.user_id").
		Where("r.token_hash = ?", hashToken(token)).Limit(1).Find(&rows).Error
	if err != nil {
		return nil, err
	}
	bad := oauthErr(OAuthInvalidGrant, "The refresh token is invalid, expired or revoked.")
	if len(rows) == 0 || rows[0].OAuthGrant.ClientID != c.ID {
		return nil, bad
	}
	rt, g := rows[0].OAuthRefreshToken, rows[0].OAuthGrant
	now := s.now()
	switch {
	case g.RevokedAt != nil:
		return nil, bad
	case rt.UsedAt != nil:
		return nil, s.refuseReuse(ctx, c.ID, &g.ID, "The refresh token was already used: access is revoked; ask the user again.")
	case !now.Before(rt.ExpiresAt):
		return nil, bad
	case !rows[0].UserIsActive:
		return nil, oauthErr(OAuthInvalidGrant, "The user who allowed access is deactivated.")
	}
	scopes := g.Scopes
	if scope != "" {
		asked, err := ParseScopes(scope)
		if err != nil {
			return nil, oauthErr(OAuthInvalidScope, ErrorMessage(err))
		}
		for _, sc := range asked {
			if !HasScope(g.Scopes, sc) {
				return nil, oauthErr(OAuthInvalidScope, "The user allowed only \""+g.Scopes+"\"; \""+sc+"\" is more.")
			}
		}
		scopes = strings.Join(asked, " ")
	}
	var out *IssuedTokens
	err = s.transact(ctx, func(tx *gorm.DB) error {
		if err := spend(tx.Model(&OAuthRefreshToken{}).Where("token_hash = ?", rt.TokenHash), now); err != nil {
			return err
		}
		if err := tx.Model(&OAuthGrant{}).Where("id = ?", g.ID).Update("last_used_at", now).Error; err != nil {
			return err
		}
		out, err = s.issueForGrant(tx, &g, scopes, now)
		return err
	})
	if errors.Is(err, errRace) {
		return nil, s.refuseReuse(ctx, c.ID, &g.ID, "The refresh token was already used: access is revoked; ask the user again.")
	}
	return out, err
}

// issueForGrant issues an access token with scopes from grant g and, when the grant holds the
// offline scope, a refresh token (of the grant's scopes, whatever the access token's). The
// grant's user gets an employee first if they have none (userEmployee).
func (s *Store) issueForGrant(tx *gorm.DB, g *OAuthGrant, scopes string, now time.Time) (*IssuedTokens, error) {
	if err := s.userEmployee(tx, g.UserID, now); err != nil {
		return nil, err
	}
	access, tok, err := createAccessToken(tx, g.ClientID, &g.ID, scopes, now)
	if err != nil {
		return nil, err
	}
	out := &IssuedTokens{AccessToken: access, Access: tok}
	if HasScope(g.Scopes, ScopeOffline) || HasScope(g.Scopes, ScopeOfflineAccess) {
		refresh, hash := newToken()
		if err := tx.Create(&OAuthRefreshToken{TokenHash: hash, GrantID: g.ID, CreatedAt: now, ExpiresAt: now.Add(RefreshTTL)}).Error; err != nil {
			return nil, err
		}
		out.RefreshToken = refresh
	}
	return out, nil
}

// userEmployee gives a user who has no employee their own, named after their email, in the
// transaction that issues tokens acting for them: an API client always acts as an employee
// (GetCurrentEmployee answers, what it writes is by someone), as a client of its own does
// (CreateAPIClient). Made here rather than with every user, because only the users who let a
// client act for them need one: an admin who never does stays out of the lists of reps. The
// user's row is locked first, so that two exchanges at once make one employee.
func (s *Store) userEmployee(tx *gorm.DB, userID uuid.UUID, now time.Time) error {
	var u User
	load := func() error { return tx.Where("id = ?", userID).Take(&u).Error }
	if err := load(); err != nil || u.EmployeeID != nil {
		return err
	}
	if err := tx.Exec("UPDATE users SET employee_id = employee_id WHERE id = ?", userID).Error; err != nil {
		return err
	}
	if err := load(); err != nil || u.EmployeeID != nil {
		return err
	}
	email := u.Email
	name := []rune(strings.SplitN(email, "@", 2)[0])
	name = name[:min(len(name), maxNameLength)]
	last := string(name)
	e, err := s.createEmployee(tx, uuid.New(), RelationChanges{LastName: &last, EmailAddress: &email}, nil, u.Actor())
	if err != nil {
		return err
	}
	if err := tx.Model(&User{}).Where("id = ?", userID).Updates(map[string]any{"employee_id": e.ID, "last_mutation_date": now}).Error; err != nil {
		return err
	}
	// The instances forget the user's other tokens they verified, which act as no one.
	return s.emit(tx, recordChange(ChangeTypeUser, userID, ChangeUpdated, u.Actor(), now))
}

// revokeGrant ends a grant of a client and with it every token issued from it: lookups join
// the grant, and the instances forget their cached tokens of the client (tokencache.go) — this
// one after the commit, the others when the change reaches them. ENotFound when the grant is
// not the client's or is revoked already.
func (s *Store) revokeGrant(ctx context.Context, clientID, grantID uuid.UUID, actor Actor) error {
	err := s.transact(ctx, func(tx *gorm.DB) error {
		now := s.now()
		res := tx.Model(&OAuthGrant{}).Where("id = ? AND client_id = ? AND revoked_at IS NULL", grantID, clientID).Update("revoked_at", now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return Errorf(ENotFound, "That grant does not exist or is revoked already.")
		}
		return s.emit(tx, recordChange(ChangeTypeAPIClient, clientID, ChangeUpdated, actor, now))
	})
	s.tokens.forgetClient(clientID)
	return err
}

// ClientGrant is a grant as the admin page lists it.
type ClientGrant struct {
	OAuthGrant `gorm:"embedded"`
	UserEmail  string
}

// ClientGrants lists the grants of a client, newest first (revoked ones too, marked).
func (s *Store) ClientGrants(ctx context.Context, clientID uuid.UUID) ([]ClientGrant, error) {
	var out []ClientGrant
	err := s.db(ctx).Table("oauth_grants AS g").Select("g.*, u.email AS user_email").
		Joins("JOIN users u ON u.id = g.user_id").Where("g.client_id = ?", clientID).
		Order("g.created_at DESC, g.id").Limit(500).Find(&out).Error
	return out, err
}

// RevokeGrant revokes a grant of a client (admin page): its access and refresh tokens stop
// working at once.
func (s *Store) RevokeGrant(ctx context.Context, clientID, grantID uuid.UUID, actor Actor) error {
	if err := mustAdminister(actor); err != nil {
		return err
	}
	return s.revokeGrant(ctx, clientID, grantID, actor)
}
