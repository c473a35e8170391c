package models

import (
	"context"
	"crypto/subtle"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// APIClient is an OAuth2 client. Its ID is the client_id. With the client credentials grant it
// acts as EmployeeID with Role, within Scopes (space-separated); with the authorization code
// grant (oauth.go) it acts for the consenting user, within Scopes too, and may send users back
// only to RedirectURIs (one a line).
type APIClient struct {
	ID           uuid.UUID `gorm:"primaryKey;type:uuid"`
	Name         string
	SecretHash   string `json:"-"`
	Scopes       string
	Role         string
	EmployeeID   *uuid.UUID `gorm:"type:uuid"`
	RedirectURIs string
	Revoked      bool
	CreationDate time.Time
}

func (APIClient) TableName() string { return "api_clients" }

// AccessToken is an issued bearer token; the row holds its hash. GrantID is the user's grant
// it was issued from (authorization code flow); nil for a client credentials token.
type AccessToken struct {
	TokenHash string     `gorm:"primaryKey"`
	ClientID  uuid.UUID  `gorm:"type:uuid"`
	GrantID   *uuid.UUID `gorm:"type:uuid"`
	Scopes    string
	CreatedAt time.Time
	ExpiresAt time.Time
	Revoked   bool
}

func (AccessToken) TableName() string { return "access_tokens" }

// TokenTTL is the lifetime of an access token (Tribe's tokens last an hour too).
const TokenTTL = time.Hour

// NewAPIClient is the input of CreateAPIClient. An empty Role is RoleManager: integrations
// usually import for the whole team. RedirectURIs (optional) let it use the authorization code
// flow. A nil EmployeeID gives the client its own employee.
type NewAPIClient struct {
	Name         string
	Scopes       []string
	Role         string
	EmployeeID   *uuid.UUID
	RedirectURIs []string
}

// CreateAPIClient registers a client and returns it with its secret, which is shown this once:
// only its hash is kept.
func (s *Store) CreateAPIClient(ctx context.Context, in NewAPIClient, actor Actor) (*APIClient, string, error) {
	if err := mustAdminister(actor); err != nil {
		return nil, "", err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" || len(name) > 200 {
		return nil, "", FieldError("Name", "Give the client a name of at most 200 characters.")
	}
	// The CLI passes its arguments as they come (the web forms are checked at the door).
	if err := CheckText("Name", name); err != nil {
		return nil, "", err
	}
	scopes, err := ParseScopes(strings.Join(in.Scopes, " "))
	if err != nil {
		return nil, "", err
	}
	if len(scopes) == 0 {
		return nil, "", FieldError("scope", "Give the client at least the read scope.")
	}
	role := in.Role
	if role == "" {
		role = RoleManager
	}
	if !ValidRole(role) {
		return nil, "", FieldError("Role", "Choose a role: rep, manager or admin.")
	}
	redirects, err := ParseRedirectURIs(in.RedirectURIs...)
	if err != nil {
		return nil, "", err
	}
	secret, hash := newToken()
	c := &APIClient{ID: uuid.New(), Name: name, SecretHash: hash, Scopes: strings.Join(scopes, " "), Role: role,
		EmployeeID: in.EmployeeID, RedirectURIs: strings.Join(redirects, "\n"), CreationDate: s.now()}
	// A client always acts as an employee (GetCurrentEmployee, what it writes is by someone):
	// the one chosen, else its own, named after it, as Tribe provisions an integration's user.
	err = s.transact(ctx, func(tx *gorm.DB) error {
		if c.EmployeeID != nil {
			if err := mustExist(tx, &Employee{}, *c.EmployeeID, "Employee"); err != nil {
				return err
			}
		} else {
			// Its key is the client's, as migration 12 made them for the clients before.
			e, err := s.createEmployee(tx, c.ID, RelationChanges{LastName: &name}, nil, actor)
			if err != nil {
				return err
			}
			c.EmployeeID = &e.ID
		}
		return tx.Create(c).Error
	})
	if err != nil {
		return nil, "", err
	}
	return c, secret, nil
}

// APIClients lists the clients, newest first.
func (s *Store) APIClients(ctx context.Context) ([]APIClient, error) {
	var out []APIClient
	err := s.db(ctx).Order("creation_date DESC, name").Find(&out).Error
	return out, err
}

// APIClient returns one client (revoked ones too), or ENotFound.
func (s *Store) APIClient(ctx context.Context, id uuid.UUID) (*APIClient, error) {
	var rows []APIClient
	if err := s.db(ctx).Where("id = ?", id).Limit(1).Find(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, Errorf(ENotFound, "That API client does not exist.")
	}
	return &rows[0], nil
}

// RevokeAPIClient revokes a client, every token it holds and every grant users gave it.
func (s *Store) RevokeAPIClient(ctx context.Context, id uuid.UUID, actor Actor) error {
	if err := mustAdminister(actor); err != nil {
		return err
	}
	err := s.transact(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&APIClient{}).Where("id = ?", id).Update("revoked", true)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return Errorf(ENotFound, "That API client does not exist.")
		}
		if err := tx.Model(&AccessToken{}).Where("client_id = ?", id).Update("revoked", true).Error; err != nil {
			return err
		}
		if err := tx.Model(&OAuthGrant{}).Where("client_id = ? AND revoked_at IS NULL", id).Update("revoked_at", s.now()).Error; err != nil {
			return err
		}
		return s.emit(tx, recordChange(ChangeTypeAPIClient, id, ChangeUpdated, actor, s.now()))
	})
	s.tokens.forgetClient(id) // after the commit: a request verifying meanwhile would cache it again
	return err
}

var errBadClient = Errorf(EUnauthorized, "Unknown client or wrong secret.")

// AuthenticateClient checks a client id and secret (constant-time on the hashes).
func (s *Store) AuthenticateClient(ctx context.Context, clientID, secret string) (*APIClient, error) {
	id, err := uuid.Parse(clientID)
	if err != nil {
		return nil, errBadClient
	}
	var rows []APIClient
	if err := s.db(ctx).Where("id = ?", id).Limit(1).Find(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, errBadClient
	}
	c := &rows[0]
	if subtle.ConstantTimeCompare([]byte(hashToken(secret)), []byte(c.SecretHash)) != 1 || c.Revoked {
		return nil, errBadClient
	}
	return c, nil
}

// IssueToken issues an access token for an authenticated client. requested is the scope list
// asked for ("" for all of the client's scopes); asking for a scope the client lacks is an
// EInvalid error on "scope". It returns the token and the scopes granted.
func (s *Store) IssueToken(ctx context.Context, c *APIClient, requested string) (token string, tok *AccessToken, err error) {
	scopes, err := ParseScopes(requested)
	if err != nil {
		return "", nil, err
	}
	if len(scopes) == 0 {
		scopes = strings.Fields(c.Scopes)
	}
	for _, sc := range scopes {
		if !IsOfflineScope(sc) && !HasScope(c.Scopes, sc) {
			return "", nil, FieldError("scope", "This client may not ask for the %q scope.", sc)
		}
	}
	return createAccessToken(s.db(ctx), c.ID, nil, strings.Join(scopes, " "), s.now())
}

// createAccessToken stores a new access token of a client (from a user's grant, or none).
func createAccessToken(db *gorm.DB, clientID uuid.UUID, grantID *uuid.UUID, scopes string, now time.Time) (string, *AccessToken, error) {
	token, hash := newToken()
	tok := &AccessToken{TokenHash: hash, ClientID: clientID, GrantID: grantID, Scopes: scopes, CreatedAt: now, ExpiresAt: now.Add(TokenTTL)}
	if err := db.Create(tok).Error; err != nil {
		return "", nil, err
	}
	return token, tok, nil
}

// TokenGrant is what a valid access token allows: the client, as whom it acts, and its scopes.
// User is the consenting user of a token from the authorization code flow: the token acts as
// that user (role, employee, visibility), not as the client's own employee.
type TokenGrant struct {
	Client APIClient
	User   *User
	Scopes string
}

// Actor is the author of the token's changes: its user, else the client.
func (g *TokenGrant) Actor() Actor {
	if g.User != nil {
		return g.User.Actor()
	}
	return Actor{EmployeeID: g.Client.EmployeeID, Role: g.Client.Role}
}

// LookupToken returns the grant of an unexpired, unrevoked token of an unrevoked client (and,
// for a token issued from a user's grant, of an unrevoked grant of an active user), or an
// EUnauthorized error. A token this instance verified in the last TokenCacheTTL is answered
// from memory (tokencache.go): an API read pays no round trip for authentication.
func (s *Store) LookupToken(ctx context.Context, token string) (*TokenGrant, error) {
	if token == "" || len(token) > 200 {
		return nil, Errorf(EUnauthorized, "The access token is missing or invalid.")
	}
	hash, now := hashToken(token), s.now()
	if g, ok := s.tokens.get(hash, now); ok {
		return g, nil
	}
	gen := s.tokens.generation()
	// One query: the token, its client and its grant's user, joined.
	var rows []struct {
		APIClient      `gorm:"embedded"`
		TokenScopes    string
		TokenExpiresAt time.Time
		TokenGrantID   *uuid.UUID `gorm:"type:uuid"`
		GrantLastUsed  *time.Time
		UserID         *uuid.UUID `gorm:"type:uuid"`
		UserEmail      *string
		UserRole       *string
		UserEmployeeID *uuid.UUID `gorm:"type:uuid"`
	}
	err := s.db(ctx).Table("access_tokens AS t").
		Select("c.*, t.scopes AS token_scopes, t.expires_at AS token_expires_at, t.grant_id AS token_grant_id, "+
			"g.last_used_at AS grant_last_used, u.id AS user_id, u.email AS user_email, u.role AS user_role, u.employee_id AS user_employee_id").
		Joins("JOIN api_clients c ON c.id = t.client_id").
		Joins("LEFT JOIN oauth_grants g ON g.id = t.grant_id").
		Joins("LEFT JOIN users u ON u.id = g.user_id").
		Where("t.token_hash = ? AND t.expires_at > ? AND NOT t.revoked AND NOT c.revoked", hash, now).
		Where("(t.grant_id IS NULL OR (g.revoked_at IS NULL AND u.is_active))").
		Limit(1).Find(&rows).Error
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, Errorf(EUnauthorized, "The access token is invalid, expired or revoked.")
	}
	r := rows[0]
	g := TokenGrant{Client: r.APIClient, Scopes: r.TokenScopes}
	if r.TokenGrantID != nil && r.UserID != nil && r.UserRole != nil {
		g.User = &User{ID: *r.UserID, Role: *r.UserRole, EmployeeID: r.UserEmployeeID, IsActive: true}
		if r.UserEmail != nil {
			g.User.Email = *r.UserEmail
		}
		// The admin page's "last used", kept to the minute: most lookups write nothing.
		if r.GrantLastUsed == nil || now.Sub(*r.GrantLastUsed) >= grantTouchEvery {
			err := s.db(ctx).Model(&OAuthGrant{}).Where("id = ? AND last_used_at < ?", *r.TokenGrantID, now.Add(-grantTouchEvery)).
				Update("last_used_at", now).Error
			if err != nil {
				return nil, err
			}
		}
	}
	s.tokens.put(hash, g, r.TokenExpiresAt, now, gen)
	return &g, nil
}

// RevokeToken revokes one access token (RFC 7009: an unknown token is not an error).
func (s *Store) RevokeToken(ctx context.Context, token string) error {
	return s.revokeTokens(ctx, hashToken(token), "token_hash = ?", hashToken(token))
}

// RevokeClientToken revokes a token only if it was issued to the client (RFC 7009 §2.1: a client
// may not revoke another's tokens); anything else is silently ignored. A refresh token revokes
// its whole grant, the access tokens issued from it included (RFC 7009 §2.1).
func (s *Store) RevokeClientToken(ctx context.Context, clientID uuid.UUID, token string) error {
	hash := hashToken(token)
	var grants []uuid.UUID
	err := s.db(ctx).Table("oauth_refresh_tokens AS r").Joins("JOIN oauth_grants g ON g.id = r.grant_id").
		Where("r.token_hash = ? AND g.client_id = ?", hash, clientID).Pluck("g.id", &grants).Error
	if err != nil {
		return err
	}
	if len(grants) > 0 {
		return s.revokeGrant(ctx, clientID, grants[0], Actor{})
	}
	return s.revokeTokens(ctx, hash, "token_hash = ? AND client_id = ?", hash, clientID)
}

// revokeTokens revokes the tokens that cond selects, in one transaction that records a change
// per client concerned (the change feed carries it to the other instances, which forget their
// cached tokens of that client: followRevocations). This instance forgets hash once it committed.
func (s *Store) revokeTokens(ctx context.Context, hash, cond string, args ...any) error {
	err := s.transact(ctx, func(tx *gorm.DB) error {
		var clients []uuid.UUID
		if err := tx.Model(&AccessToken{}).Where(cond, args...).Where("NOT revoked").Distinct().Pluck("client_id", &clients).Error; err != nil {
			return err
		}
		if len(clients) == 0 {
			return nil
		}
		if err := tx.Model(&AccessToken{}).Where(cond, args...).Update("revoked", true).Error; err != nil {
			return err
		}
		now := s.now()
		for _, id := range clients {
			if err := s.emit(tx, recordChange(ChangeTypeAPIClient, id, ChangeUpdated, Actor{}, now)); err != nil {
				return err
			}
		}
		return nil
	})
	s.tokens.forget(hash)
	return err
}
