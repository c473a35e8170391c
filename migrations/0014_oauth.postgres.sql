-- Migration 14: the authorization code grant (RFC 6749 §4.1, PKCE RFC 7636) and refresh tokens (postgres).

-- Where a client may send a user back after consent: exact URIs, one a line (RFC 6749 §3.1.2).
ALTER TABLE api_clients ADD COLUMN redirect_uris text NOT NULL DEFAULT '';

-- A grant is one user's consent to one client, made when its code is exchanged. Access and
-- refresh tokens issued from it name it: revoking it (admin page, refresh or code reuse) ends
-- them all. last_used_at is kept to the minute (a token lookup writes at most once a minute).
CREATE TABLE oauth_grants (
  id uuid PRIMARY KEY,
  client_id uuid NOT NULL REFERENCES api_clients(id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  scopes text NOT NULL,
  created_at timestamptz NOT NULL,
  last_used_at timestamptz NOT NULL,
  revoked_at timestamptz
);
CREATE INDEX oauth_grants_client ON oauth_grants (client_id, created_at);

-- Authorization codes, by hash. A code is single use (used_at) and lives a minute; grant_id is
-- the grant its exchange made, revoked if the code is presented again.
CREATE TABLE oauth_codes (
  code_hash text PRIMARY KEY,
  client_id uuid NOT NULL REFERENCES api_clients(id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  redirect_uri text NOT NULL,
  scopes text NOT NULL,
  code_challenge text NOT NULL DEFAULT '',
  code_challenge_method text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  grant_id uuid REFERENCES oauth_grants(id) ON DELETE CASCADE
);
CREATE INDEX oauth_codes_expires ON oauth_codes (expires_at);

-- Refresh tokens, by hash, rotated on use: a used one (used_at) presented again revokes its grant.
CREATE TABLE oauth_refresh_tokens (
  token_hash text PRIMARY KEY,
  grant_id uuid NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);
CREATE INDEX oauth_refresh_tokens_grant ON oauth_refresh_tokens (grant_id);

-- An access token issued from a grant acts as the grant's user.
ALTER TABLE access_tokens ADD COLUMN grant_id uuid REFERENCES oauth_grants(id) ON DELETE CASCADE;
CREATE INDEX access_tokens_grant ON access_tokens (grant_id);
