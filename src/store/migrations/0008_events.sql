-- events/: the outbox (every business event, written in the transaction of its state change),
-- merchants' webhooks with their deliveries and attempts, and durable jobs (timers).

CREATE TABLE ev_events (
  id BIGINT PRIMARY KEY,             -- time-ordered: the pull API's cursor
  org_id BIGINT,                     -- the organisation it concerns (webhooks, pull)
  type TEXT NOT NULL,
  subject TEXT NOT NULL,
  data TEXT NOT NULL,                -- a JSON object
  created_at_us BIGINT NOT NULL
);
CREATE INDEX ev_events_org ON ev_events (org_id, id);

CREATE TABLE ev_webhooks (
  id BIGINT PRIMARY KEY,
  org_id BIGINT NOT NULL,
  url TEXT NOT NULL,
  event_types TEXT NOT NULL,         -- space-separated types, or "*"
  description TEXT,
  secret_enc TEXT NOT NULL,          -- encrypted (core/field_cipher.h): needed to sign
  enabled INTEGER NOT NULL,
  created_by BIGINT NOT NULL,
  created_at_us BIGINT NOT NULL,
  updated_at_us BIGINT NOT NULL
);
CREATE INDEX ev_webhooks_org ON ev_webhooks (org_id, id);

CREATE TABLE ev_deliveries (
  id BIGINT PRIMARY KEY,
  webhook_id BIGINT NOT NULL,
  event_id BIGINT NOT NULL,
  status TEXT NOT NULL,              -- pending | succeeded | failed
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at_us BIGINT NOT NULL,
  last_status_code INTEGER,
  last_error TEXT,
  created_at_us BIGINT NOT NULL,
  finished_at_us BIGINT,
  UNIQUE (webhook_id, event_id)
);
CREATE INDEX ev_deliveries_due ON ev_deliveries (status, next_attempt_at_us);

CREATE TABLE ev_delivery_attempts (
  id BIGINT PRIMARY KEY,
  delivery_id BIGINT NOT NULL,
  attempt INTEGER NOT NULL,
  status_code INTEGER,
  error TEXT,
  duration_ms BIGINT NOT NULL,
  at_us BIGINT NOT NULL
);
CREATE INDEX ev_delivery_attempts_delivery ON ev_delivery_attempts (delivery_id, id);

-- One row per (kind, key): scheduling again moves it; running it marks it done in the same
-- transaction as its work.
CREATE TABLE ev_jobs (
  id BIGINT PRIMARY KEY,
  kind TEXT NOT NULL,
  key TEXT NOT NULL,
  payload TEXT NOT NULL,
  run_at_us BIGINT NOT NULL,
  status TEXT NOT NULL,              -- pending | done | cancelled | failed
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  created_at_us BIGINT NOT NULL,
  updated_at_us BIGINT NOT NULL,
  UNIQUE (kind, key)
);
CREATE INDEX ev_jobs_due ON ev_jobs (status, run_at_us);
