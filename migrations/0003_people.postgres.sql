-- Migration 3: users, server-side sessions, API clients and their access tokens (postgres).
-- Secrets are never stored: passwords as argon2id PHC strings, tokens and client secrets as the
-- hex SHA-256 of 32 random bytes (high-entropy values need no slow hash).

CREATE TABLE users (
  id uuid PRIMARY KEY,
  email text NOT NULL,
  password_hash text NOT NULL,
  role text NOT NULL CHECK (role IN ('rep', 'manager', 'admin')),
  employee_id uuid REFERENCES employees(id),
  is_active boolean NOT NULL DEFAULT true,
  creation_date timestamptz NOT NULL,
  last_mutation_date timestamptz NOT NULL
);
-- Emails are stored lower-cased; the index on lower() also guards writes that forget to.
CREATE UNIQUE INDEX users_email ON users (lower(email));

-- Server-side sessions, shared by every instance; the cookie holds the token, the row its hash.
CREATE TABLE sessions (
  token_hash text PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- OAuth2 clients (client credentials grant). The id is the client_id; a client acts as an
-- employee (GetCurrentEmployee) with a role, within its scopes.
CREATE TABLE api_clients (
  id uuid PRIMARY KEY,
  name text NOT NULL,
  secret_hash text NOT NULL,
  scopes text NOT NULL,
  role text NOT NULL DEFAULT 'manager' CHECK (role IN ('rep', 'manager', 'admin')),
  employee_id uuid REFERENCES employees(id),
  revoked boolean NOT NULL DEFAULT false,
  creation_date timestamptz NOT NULL
);

CREATE TABLE access_tokens (
  token_hash text PRIMARY KEY,
  client_id uuid NOT NULL REFERENCES api_clients(id) ON DELETE CASCADE,
  scopes text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  revoked boolean NOT NULL DEFAULT false
);
CREATE INDEX access_tokens_client ON access_tokens (client_id);
CREATE INDEX access_tokens_expires ON access_tokens (expires_at);
