package models_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"testing"
	"time"

	"github.com/google/uuid"

	"phaseboard/models"
	"phaseboard/models/storetest"
)

// BenchmarkRefreshGrant weighs a refresh token's rotation (read the token with its grant and
// user; in one transaction spend it, touch the grant, issue an access and a refresh token:
// refresh-ms) beside the raw SQL of the same statements (raw-ms), in one run, on both databases.
//
//	go test -run '^$' -bench RefreshGrant -benchtime 300x ./models/
func BenchmarkRefreshGrant(b *testing.B) {
	for _, dialect := range storetest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			ctx := context.Background()
			s := storetest.New(b, dialect)
			client, _, err := s.CreateAPIClient(ctx, models.NewAPIClient{Name: "bench", Scopes: []string{"read"}, RedirectURIs: []string{testRedirect}}, models.Actor{})
			if err != nil {
				b.Fatal(err)
			}
			user, err := s.CreateUser(ctx, models.NewUser{Email: "bench-" + uuid.NewString()[:8] + "@test.example", Password: "pw-123456789", Role: models.RoleRep}, models.Actor{})
			if err != nil {
				b.Fatal(err)
			}
			req := models.AuthorizationRequest{ResponseType: "code", ClientID: client.ID.String(), RedirectURI: testRedirect, Scope: "read offline", State: "bench-state"}
			code, err := s.IssueAuthorizationCode(ctx, user, req)
			if err != nil {
				b.Fatal(err)
			}
			issued, err := s.ExchangeCode(ctx, client, code, testRedirect, "")
			if err != nil {
				b.Fatal(err)
			}
			grants, _ := s.ClientGrants(ctx, client.ID)
			grantID := grants[0].ID
			token := issued.RefreshToken
			// The raw side rotates its own chain of refresh tokens on the same grant.
			rawHash := hashOf(randomToken())
			if err := s.DB.Exec("INSERT INTO oauth_refresh_tokens (token_hash, grant_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
				rawHash, grantID, time.Now().UTC(), time.Now().UTC().Add(time.Hour)).Error; err != nil {
				b.Fatal(err)
			}
			var refresh, raw time.Duration
			for b.Loop() {
				t0 := time.Now()
				next, err := s.RefreshGrant(ctx, client, token, "")
				if err != nil {
					b.Fatal(err)
				}
				refresh += time.Since(t0)
				token = next.RefreshToken

				t0 = time.Now()
				now := time.Now().UTC()
				var n int64
				err = s.DB.Raw(`SELECT COUNT(*) FROM oauth_refresh_tokens r JOIN oauth_grants g ON g.id = r.grant_id JOIN users u ON u.id = g.user_id
					WHERE r.token_hash = ? AND r.used_at IS NULL AND g.revoked_at IS NULL AND u.is_active`, rawHash).Scan(&n).Error
				tx := s.DB.Begin()
				if err == nil {
					err = tx.Exec("UPDATE oauth_refresh_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL", now, rawHash).Error
				}
				if err == nil {
					err = tx.Exec("UPDATE oauth_grants SET last_used_at = ? WHERE id = ?", now, grantID).Error
				}
				if err == nil {
					err = tx.Exec("INSERT INTO access_tokens (token_hash, client_id, grant_id, scopes, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
						hashOf(randomToken()), client.ID, grantID, "read offline", now, now.Add(time.Hour)).Error
				}
				rawHash = hashOf(randomToken())
				if err == nil {
					err = tx.Exec("INSERT INTO oauth_refresh_tokens (token_hash, grant_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
						rawHash, grantID, now, now.Add(time.Hour)).Error
				}
				if err == nil {
					err = tx.Commit().Error
				}
				if err != nil || n != 1 {
					b.Fatal(err, n)
				}
				raw += time.Since(t0)
			}
			b.ReportMetric(float64(refresh.Microseconds())/1000/float64(b.N), "refresh-ms")
			b.ReportMetric(float64(raw.Microseconds())/1000/float64(b.N), "raw-ms")
		})
	}
}

func randomToken() string {
	buf := make([]byte, 32)
	_, _ = rand.Read(buf)
	return base64.RawURLEncoding.EncodeToString(buf)
}

func hashOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
