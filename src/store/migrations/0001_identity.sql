-- identity: users, sessions, organisations, memberships, onboarding reviews, API keys.
-- Times are BIGINT microseconds since the Unix epoch (UTC); ids are Snowflake BIGINTs.
CREATE TABLE users (
  id BIGINT PRIMARY KEY,
  email TEXT UNIQUE,                 -- lower-cased; NULL when the user signed up by phone
  phone_hash TEXT UNIQUE,            -- keyed hash of the E.164 phone number, for lookup
  phone_enc TEXT,                    -- the phone number, AES-256-GCM under the key file
  display_name TEXT NOT NULL,
  password_hash TEXT NOT NULL,       -- Argon2id, libsodium's encoded form
  status TEXT NOT NULL,              -- active | disabled
  failed_logins BIGINT NOT NULL DEFAULT 0,
  locked_until_us BIGINT NOT NULL DEFAULT 0,
  real_name_enc TEXT,
  resident_id_enc TEXT,
  resident_id_hash TEXT UNIQUE,
  real_name_verified_at_us BIGINT,
  created_at_us BIGINT NOT NULL,
  updated_at_us BIGINT NOT NULL,
  CHECK (email IS NOT NULL OR phone_hash IS NOT NULL)
);

CREATE TABLE sessions (
  id BIGINT PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,   -- SHA-256 of the bearer token; the token is never stored
  user_id BIGINT NOT NULL REFERENCES users (id),
  created_at_us BIGINT NOT NULL,
  expires_at_us BIGINT NOT NULL,
  revoked_at_us BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE orgs (
  id BIGINT PRIMARY KEY,
  kind TEXT NOT NULL,                -- merchant | enterprise_buyer | government_buyer | carrier | platform
  name TEXT NOT NULL,
  credit_code TEXT UNIQUE,           -- Unified Social Credit Code (GB 32100)
  credit_code_checksum_ok BIGINT NOT NULL DEFAULT 1,
  region_code TEXT,
  status TEXT NOT NULL,              -- submitted | approved | rejected
  status_reason TEXT,
  reviewed_by BIGINT REFERENCES users (id),
  reviewed_at_us BIGINT,
  created_by BIGINT NOT NULL REFERENCES users (id),
  created_at_us BIGINT NOT NULL,
  updated_at_us BIGINT NOT NULL
);
CREATE INDEX orgs_status ON orgs (status, id);

CREATE TABLE memberships (
  org_id BIGINT NOT NULL REFERENCES orgs (id),
  user_id BIGINT NOT NULL REFERENCES users (id),
  role TEXT NOT NULL,
  created_at_us BIGINT NOT NULL,
  PRIMARY KEY (org_id, user_id, role)
);
CREATE INDEX memberships_user ON memberships (user_id);

-- Append-only history of an organisation's onboarding: submissions and operator decisions.
CREATE TABLE org_reviews (
  id BIGINT PRIMARY KEY,
  org_id BIGINT NOT NULL REFERENCES orgs (id),
  action TEXT NOT NULL,              -- submitted | approved | rejected | resubmitted
  reason TEXT,
  actor_id BIGINT NOT NULL REFERENCES users (id),
  at_us BIGINT NOT NULL
);
CREATE INDEX org_reviews_org ON org_reviews (org_id, id);

CREATE TABLE api_keys (
  id BIGINT PRIMARY KEY,
  org_id BIGINT NOT NULL REFERENCES orgs (id),
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  token_prefix TEXT NOT NULL,        -- first characters, so people can tell keys apart
  scopes TEXT NOT NULL,              -- space-separated
  created_by BIGINT NOT NULL REFERENCES users (id),
  created_at_us BIGINT NOT NULL,
  revoked_at_us BIGINT
);
CREATE INDEX api_keys_org ON api_keys (org_id, id);
