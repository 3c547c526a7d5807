-- http: stored responses for the Idempotency-Key contract. Written in the same transaction as
-- the command they answer, so a replay returns exactly what was committed.
CREATE TABLE idempotency_keys (
  scope TEXT NOT NULL,               -- who sent it: user:<id>, org:<id> or anon
  idem_key TEXT NOT NULL,
  request_hash TEXT NOT NULL,        -- SHA-256 of method, path and body
  status BIGINT NOT NULL,
  content_type TEXT NOT NULL,
  body TEXT NOT NULL,                -- encrypted when the response carries a secret
  body_encrypted BIGINT NOT NULL,
  headers TEXT NOT NULL,
  created_at_us BIGINT NOT NULL,
  PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at_us);
