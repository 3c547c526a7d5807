-- pay/risk: risk control before payments and withdrawals. Operators manage rules and lists;
-- every evaluation is recorded as a decision; a review outcome opens one review per subject.

-- Operator-managed rules. kind per_transaction|per_day: the amount limit max_minor in
-- currency; kind velocity: more than max_count evaluations keyed by velocity_key within
-- window_s seconds.
CREATE TABLE risk_rules (
  id BIGINT PRIMARY KEY,
  kind TEXT NOT NULL,                -- per_transaction | per_day | velocity
  action TEXT NOT NULL,              -- payment | withdrawal
  account_class TEXT NOT NULL,       -- personal | merchant
  outcome TEXT NOT NULL,             -- review | block
  enabled BIGINT NOT NULL,           -- 0 | 1
  currency TEXT,                     -- limits only (ISO 4217)
  max_minor BIGINT,                  -- limits only: the largest amount that passes
  velocity_key TEXT,                 -- velocity only: user | card | device | ip
  max_count BIGINT,                  -- velocity only: the most evaluations that pass
  window_s BIGINT,                   -- velocity only: the sliding window
  description TEXT NOT NULL,
  created_at_us BIGINT NOT NULL,
  updated_at_us BIGINT NOT NULL
);
CREATE INDEX risk_rules_scope ON risk_rules (action, account_class, enabled);

-- Block and allow lists. Values are matched by keyed hash (FieldCipher::lookup_hash); card and
-- account numbers are never stored raw, only masked (****1234) for display.
CREATE TABLE risk_list_entries (
  id BIGINT PRIMARY KEY,
  list TEXT NOT NULL,                -- block | allow
  kind TEXT NOT NULL,                -- card | account | user | device | ip
  value_hash TEXT NOT NULL,
  display TEXT NOT NULL,             -- masked for card/account
  note TEXT NOT NULL,
  created_by BIGINT NOT NULL,
  created_at_us BIGINT NOT NULL,
  UNIQUE (list, kind, value_hash)
);
CREATE INDEX risk_list_entries_lookup ON risk_list_entries (kind, value_hash);

-- Every evaluation, one row per key it carried, for velocity windows. Pruned after the longest
-- window allowed (pay/risk.h prune_events).
CREATE TABLE risk_events (
  id BIGINT PRIMARY KEY,
  action TEXT NOT NULL,
  key_kind TEXT NOT NULL,            -- user | card | device | ip
  key_hash TEXT NOT NULL,
  at_us BIGINT NOT NULL
);
CREATE INDEX risk_events_key ON risk_events (key_kind, key_hash, action, at_us);
CREATE INDEX risk_events_at ON risk_events (at_us);

-- Every decision with its reason; the per-day limit sums the allowed ones.
CREATE TABLE risk_decisions (
  id BIGINT PRIMARY KEY,
  action TEXT NOT NULL,
  account_class TEXT NOT NULL,
  party_id BIGINT NOT NULL,
  subject_kind TEXT NOT NULL,        -- payment_intent | withdrawal
  subject_id BIGINT NOT NULL,
  amount_minor BIGINT NOT NULL,
  currency TEXT NOT NULL,
  outcome TEXT NOT NULL,             -- allow | review | block
  rule_id BIGINT,                    -- the deciding rule, if a rule decided
  list_entry_id BIGINT,              -- the deciding list entry, if a list decided
  review_id BIGINT,
  reason TEXT NOT NULL,
  at_us BIGINT NOT NULL
);
CREATE INDEX risk_decisions_party ON risk_decisions (party_id, action, at_us);
CREATE INDEX risk_decisions_outcome ON risk_decisions (outcome, id);

-- The review queue: at most one review per subject, decided once.
CREATE TABLE risk_reviews (
  id BIGINT PRIMARY KEY,
  subject_kind TEXT NOT NULL,
  subject_id BIGINT NOT NULL,
  decision_id BIGINT NOT NULL,       -- the decision that opened it
  action TEXT NOT NULL,
  party_id BIGINT NOT NULL,
  amount_minor BIGINT NOT NULL,
  currency TEXT NOT NULL,
  reason TEXT NOT NULL,              -- why it was opened
  status TEXT NOT NULL,              -- pending | approved | rejected
  decided_by BIGINT,
  decided_at_us BIGINT,
  decision_note TEXT,                -- the reviewer's reason
  created_at_us BIGINT NOT NULL,
  UNIQUE (subject_kind, subject_id)
);
CREATE INDEX risk_reviews_status ON risk_reviews (status, id);

-- Default rules (CNY, amounts in fen). Fixed small ids: they predate the id generator's epoch.
INSERT INTO risk_rules (id, kind, action, account_class, outcome, enabled, currency, max_minor,
                        velocity_key, max_count, window_s, description, created_at_us,
                        updated_at_us) VALUES
  (1, 'per_transaction', 'payment', 'personal', 'block', 1, 'CNY', 5000000, NULL, NULL, NULL,
   'personal payment above 50,000.00 CNY in one transaction', 0, 0),
  (2, 'per_day', 'payment', 'personal', 'review', 1, 'CNY', 20000000, NULL, NULL, NULL,
   'personal payments above 200,000.00 CNY in one day', 0, 0),
  (3, 'velocity', 'payment', 'personal', 'review', 1, NULL, NULL, 'user', 10, 60,
   'more than 10 payments by one user within 60 s', 0, 0),
  (4, 'per_transaction', 'withdrawal', 'merchant', 'review', 1, 'CNY', 100000000, NULL, NULL,
   NULL, 'merchant withdrawal above 1,000,000.00 CNY in one transaction', 0, 0);
