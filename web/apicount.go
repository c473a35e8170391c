package web

import (
	"context"
	"time"

	"phaseboard/models"
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
	if id.Client != nil && id.ForUser != nil { // each user of a client has its own budget
		return "api:client:" + id.Client.ID.String() + ":user:" + id.ForUser.ID.String()
	}
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
	_, err := takeQuota(ctx, cfg, id, false)
	return err
}

// takeQuota counts one API request of id: past the limit the error is *RateLimited.
func takeQuota(ctx context.Context, cfg APIAuthConfig, id *Identity, write bool) (models.RateCount, error) {
	count, ok, err := cfg.Store.Take(ctx, cfg.RateWindow, id.rateKey(), cfg.RateLimit, write)
	if err != nil {
		return count, err
	}
	if !ok {
		return count, &RateLimited{RetryAfter: count.Reset.Sub(cfg.Store.Now())}
	}
	return count, nil
}
