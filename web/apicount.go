package web

import (
	"context"
	"time"
)

// withDefaults fills in APIAuthConfig's documented defaults: 1000 requests a minute.
func (cfg APIAuthConfig) withDefaults() APIAuthConfig {
	if cfg.RateLimit <= 0 {
		cfg.RateLimit = 1000
	}
	if cfg.RateWindow <= 0 {
		cfg.RateWindow = time.Minute
	}
	return cfg
}

// rateKey is the counter a caller's API requests count against.
func (id *Identity) rateKey() string {
	if id.Client != nil {
		return "api:client:" + id.Client.ID.String()
	}
	return "api:user:" + id.User.ID.String()
}

// CountAPIRequest counts one more API request of ctx's caller against cfg's rate limit, as
// APIAuth counts each request it lets through: the requests inside an OData $batch count like
// single ones (handlers/odata.go). Past the limit it returns *RateLimited; an error to count is
// returned as it is (the caller fails closed, as APIAuth does).
func CountAPIRequest(ctx context.Context, cfg APIAuthConfig) error {
	cfg = cfg.withDefaults()
	id, ok := IdentityFrom(ctx)
	if !ok {
		return nil // no caller: APIAuth refused the batch already
	}
	counts, err := cfg.Store.Hit(ctx, cfg.RateWindow, id.rateKey())
	if err != nil {
		return err
	}
	if counts[0].Hits > cfg.RateLimit {
		return &RateLimited{RetryAfter: counts[0].Reset.Sub(cfg.Store.Now())}
	}
	return nil
}
