-- pay/ledger: a strict double-entry ledger with TigerBeetle's semantics on SQL. Amounts are
-- BIGINT minor units (fen for CNY). Accounts are never deleted; transfers are immutable.
CREATE TABLE ledger_accounts (
  id BIGINT PRIMARY KEY,
  currency TEXT NOT NULL,            -- ISO 4217: one ledger per currency
  code BIGINT NOT NULL,              -- kind in the chart of accounts (pay/chart.h)
  owner_id BIGINT,                   -- organisation or user; NULL for platform accounts
  flags BIGINT NOT NULL,             -- 1 debits<=credits, 2 credits<=debits, 4 closed
  debits_pending BIGINT NOT NULL DEFAULT 0,
  debits_posted BIGINT NOT NULL DEFAULT 0,
  credits_pending BIGINT NOT NULL DEFAULT 0,
  credits_posted BIGINT NOT NULL DEFAULT 0,
  created_at_us BIGINT NOT NULL
);
CREATE INDEX ledger_accounts_owner ON ledger_accounts (owner_id, code);

CREATE TABLE ledger_transfers (
  id BIGINT PRIMARY KEY,             -- chosen by the caller: the idempotency key
  -- Both accounts are checked by pay/ledger.cc before a transfer is written and by
  -- verify_ledger after; no foreign keys here, they would cost two lookups per transfer.
  debit_account_id BIGINT NOT NULL,
  credit_account_id BIGINT NOT NULL,
  amount BIGINT NOT NULL,
  currency TEXT NOT NULL,
  kind TEXT NOT NULL,                -- single | pending | post_pending | void_pending | expire_pending
  pending_id BIGINT,                 -- for post/void/expire: the pending transfer
  timeout_us BIGINT NOT NULL,        -- for pending: 0 = never expires
  code BIGINT NOT NULL,              -- why the money moved
  reference TEXT NOT NULL,           -- the caller's reference (an order id, a batch id)
  created_at_us BIGINT NOT NULL
);
CREATE INDEX ledger_transfers_debit ON ledger_transfers (debit_account_id);
CREATE INDEX ledger_transfers_credit ON ledger_transfers (credit_account_id);
CREATE INDEX ledger_transfers_pending ON ledger_transfers (pending_id) WHERE pending_id IS NOT NULL;

-- The state of each two-phase transfer: the only mutable row about a transfer, changed once.
CREATE TABLE ledger_pending (
  transfer_id BIGINT PRIMARY KEY,
  status TEXT NOT NULL,              -- pending | posted | voided | expired
  expires_at_us BIGINT NOT NULL,     -- 0 = never
  resolved_by BIGINT                 -- the post/void/expire transfer
);
CREATE INDEX ledger_pending_expiry ON ledger_pending (status, expires_at_us);
