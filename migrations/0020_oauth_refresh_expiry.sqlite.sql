-- Migration 20: refresh tokens by expiry, so that the purge of expired credentials
-- (PurgeExpiredSessions) finds them off an index, as it finds expired codes and access tokens.
CREATE INDEX oauth_refresh_tokens_expires ON oauth_refresh_tokens (expires_at);
