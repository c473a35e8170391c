package models

import (
	"context"
	"crypto/subtle"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// APIClient is an OAuth2 client (client credentials grant). Its ID is the client_id. It acts as
// EmployeeID with Role, within Scopes (space-separated).
type APIClient struct {
	ID           uuid.UUID `gorm:"primaryKey;type:uuid"`
	Name         string
	SecretHash   string `json:"-"`
	Scopes       string
	Role         string
	EmployeeID   *uuid.UUID `gorm:"type:uuid"`
	Revoked      bool
	CreationDate time.Time
}

func (APIClient) TableName() string { return "api_clients" }

// AccessToken is an issued bearer token; the row holds its hash.
type AccessToken struct {
	TokenHash string    `gorm:"primaryKey"`
	ClientID  uuid.UUID `gorm:"type:uuid"`
	Scopes    string
	CreatedAt time.Time
	ExpiresAt time.Time
	Revoked   bool
}

func (AccessToken) TableName() string { return "access_tokens" }

// TokenTTL is the lifetime of an access token (Tribe's tokens last an hour too).
const TokenTTL = time.Hour

// NewAPIClient is the input of CreateAPIClient. An empty Role is RoleManager: integrations
// usually import for the whole team.
type NewAPIClient struct {
	Name       string
	Scopes     []string
	Role       string
	EmployeeID *uuid.UUID
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
	secret, hash := newToken()
	c := &APIClient{ID: uuid.New(), Name: name, SecretHash: hash, Scopes: strings.Join(scopes, " "), Role: role,
		EmployeeID: in.EmployeeID, CreationDate: s.now()}
	err = s.db(ctx).Transaction(func(tx *gorm.DB) error {
		if c.EmployeeID != nil {
			if err := mustExist(tx, &Employee{}, *c.EmployeeID, "Employee"); err != nil {
				return err
			}
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

// RevokeAPIClient revokes a client and every token it holds.
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
		if sc != ScopeOffline && !HasScope(c.Scopes, sc) {
			return "", nil, FieldError("scope", "This client may not ask for the %q scope.", sc)
		}
	}
	token, hash := newToken()
	now := s.now()
	tok = &AccessToken{TokenHash: hash, ClientID: c.ID, Scopes: strings.Join(scopes, " "), CreatedAt: now, ExpiresAt: now.Add(TokenTTL)}
	if err := s.db(ctx).Create(tok).Error; err != nil {
		return "", nil, err
	}
	return token, tok, nil
}

// TokenGrant is what a valid access token allows: the client, as whom it acts, and its scopes.
type TokenGrant struct {
	Client APIClient
	Scopes string
}

// Actor is the client as the author of changes.
func (g *TokenGrant) Actor() Actor {
	return Actor{EmployeeID: g.Client.EmployeeID, Role: g.Client.Role}
}

// LookupToken returns the grant of an unexpired, unrevoked token of an unrevoked client, or an
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
	// One query: the token and its client, joined.
	var rows []struct {
		APIClient      `gorm:"embedded"`
		TokenScopes    string
		TokenExpiresAt time.Time
	}
	err := s.db(ctx).Table("access_tokens AS t").Select("c.*, t.scopes AS token_scopes, t.expires_at AS token_expires_at").
		Joins("JOIN api_clients c ON c.id = t.client_id").
		Where("t.token_hash = ? AND t.expires_at > ? AND NOT t.revoked AND NOT c.revoked", hash, now).
		Limit(1).Find(&rows).Error
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, Errorf(EUnauthorized, "The access token is invalid, expired or revoked.")
	}
	g := TokenGrant{Client: rows[0].APIClient, Scopes: rows[0].TokenScopes}
	s.tokens.put(hash, g, rows[0].TokenExpiresAt, now)
	return &g, nil
}

// RevokeToken revokes one access token (RFC 7009: an unknown token is not an error).
func (s *Store) RevokeToken(ctx context.Context, token string) error {
	return s.revokeTokens(ctx, hashToken(token), "token_hash = ?", hashToken(token))
}

// RevokeClientToken revokes a token only if it was issued to the client (RFC 7009 §2.1: a client
// may not revoke another's tokens); anything else is silently ignored.
func (s *Store) RevokeClientToken(ctx context.Context, clientID uuid.UUID, token string) error {
	return s.revokeTokens(ctx, hashToken(token), "token_hash = ? AND client_id = ?", hashToken(token), clientID)
}

// revokeTokens revokes the tokens that cond selects, in one transaction that records a change
// per client concerned (the change feed carries it to the other instances, which forget their
// cached tokens of that client: ForgetRevoked). This instance forgets hash once it committed.
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
