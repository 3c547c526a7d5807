-- pay: the payment service on the ledger — chart of accounts, payment intents, escrow,
-- refunds, channel notifications, settlement, payouts, withdrawals, reconciliation.
-- Amounts are BIGINT minor units; times BIGINT microseconds UTC.

-- The chart of accounts: which ledger account holds (code, owner, currency). owner_id is 0 for
-- platform accounts, the channel number for clearing accounts, the organisation for merchant
-- accounts and the user for buyer wallets (pay/chart.h).
CREATE TABLE pay_accounts (
  code BIGINT NOT NULL,
  owner_id BIGINT NOT NULL,
  currency TEXT NOT NULL,
  account_id BIGINT NOT NULL,
  PRIMARY KEY (code, owner_id, currency)
);

CREATE TABLE pay_intents (
  id BIGINT PRIMARY KEY,
  payer_id BIGINT NOT NULL,          -- the paying user
  purpose TEXT NOT NULL,             -- escrow | wallet_topup
  reference TEXT NOT NULL,           -- the caller's opaque reference (a checkout, an order)
  description TEXT NOT NULL,
  amount BIGINT NOT NULL,
  currency TEXT NOT NULL,
  status TEXT NOT NULL,              -- requires_payment | processing | succeeded | failed | cancelled | expired
  channel TEXT,                      -- card | netbank | qr | wallet, once confirmed
  trade_no TEXT,                     -- the gateway's trade id
  qr_code TEXT,
  cashier_url TEXT,
  fee BIGINT NOT NULL DEFAULT 0,     -- the channel's fee, reported with success
  failure_code TEXT,
  failure_reason TEXT,
  risk_decision_id BIGINT,
  expires_at_us BIGINT NOT NULL,
  created_at_us BIGINT NOT NULL,
  updated_at_us BIGINT NOT NULL,
  succeeded_at_us BIGINT
);
CREATE INDEX pay_intents_payer ON pay_intents (payer_id, id);
CREATE INDEX pay_intents_reference ON pay_intents (reference);
CREATE INDEX pay_intents_open ON pay_intents (status, expires_at_us);
CREATE INDEX pay_intents_trade ON pay_intents (channel, trade_no);

-- How an intent's amount is split between payees: one escrow per split reference.
CREATE TABLE pay_intent_splits (
  intent_id BIGINT NOT NULL,
  reference TEXT NOT NULL,
  payee_org_id BIGINT NOT NULL,
  amount BIGINT NOT NULL,
  category TEXT,                     -- for the commission rate
  PRIMARY KEY (intent_id, reference)
);

-- Money held for one reference, paid by one intent. The hold is a pending ledger transfer
-- escrow -> merchant pending; it is re-made for the remainder after each partial refund.
CREATE TABLE pay_escrows (
  reference TEXT PRIMARY KEY,
  intent_id BIGINT NOT NULL,
  payer_id BIGINT NOT NULL,
  payee_org_id BIGINT NOT NULL,
  channel TEXT NOT NULL,
  currency TEXT NOT NULL,
  category TEXT,
  captured BIGINT NOT NULL,
  refunded_before_release BIGINT NOT NULL DEFAULT 0,
  released BIGINT NOT NULL DEFAULT 0,          -- gross amount released
  commission BIGINT NOT NULL DEFAULT 0,        -- taken at release
  commission_rate_ppm BIGINT NOT NULL DEFAULT 0,
  refunded_after_release BIGINT NOT NULL DEFAULT 0,
  commission_refunded BIGINT NOT NULL DEFAULT 0,
  hold_transfer_id BIGINT,                     -- the open pending transfer, if held
  status TEXT NOT NULL,                        -- held | released | refunded
  created_at_us BIGINT NOT NULL,
  released_at_us BIGINT
);
CREATE INDEX pay_escrows_payee ON pay_escrows (payee_org_id, status);

CREATE TABLE pay_refunds (
  id BIGINT PRIMARY KEY,
  reference TEXT NOT NULL,
  intent_id BIGINT NOT NULL,
  channel TEXT NOT NULL,
  amount BIGINT NOT NULL,
  currency TEXT NOT NULL,
  merchant_share BIGINT NOT NULL,
  commission_share BIGINT NOT NULL,
  shortfall BIGINT NOT NULL,                   -- booked to the merchant's receivable
  reason TEXT NOT NULL,
  status TEXT NOT NULL,                        -- submitted | succeeded | failed
  gateway_refund_no TEXT,
  attempts BIGINT NOT NULL DEFAULT 0,
  requested_by BIGINT,
  created_at_us BIGINT NOT NULL,
  finished_at_us BIGINT
);
CREATE INDEX pay_refunds_reference ON pay_refunds (reference);
CREATE INDEX pay_refunds_status ON pay_refunds (status, id);

-- Every notification received from a channel, accepted or not.
CREATE TABLE pay_notifications (
  id BIGINT PRIMARY KEY,
  channel TEXT NOT NULL,
  notify_id TEXT,
  out_trade_no TEXT,
  trade_status TEXT,
  verdict TEXT NOT NULL,             -- applied | duplicate | ignored_not_final | stale | bad_signature | rejected
  detail TEXT NOT NULL,
  received_at_us BIGINT NOT NULL
);
CREATE INDEX pay_notifications_trade ON pay_notifications (out_trade_no);

-- Commission rates in parts per million, per merchant or per category (merchant wins).
CREATE TABLE pay_commission_rates (
  scope TEXT NOT NULL,               -- merchant | category
  key TEXT NOT NULL,
  rate_ppm BIGINT NOT NULL,
  updated_at_us BIGINT NOT NULL,
  PRIMARY KEY (scope, key)
);

-- Where a merchant is paid. The account number is encrypted; only its last four digits show.
CREATE TABLE pay_payout_accounts (
  org_id BIGINT PRIMARY KEY,
  bank_name TEXT NOT NULL,
  holder_name TEXT NOT NULL,
  account_no_enc TEXT NOT NULL,
  account_last4 TEXT NOT NULL,
  updated_at_us BIGINT NOT NULL
);

-- One settlement batch per merchant, currency and business date; immutable once made.
CREATE TABLE pay_settlements (
  id BIGINT PRIMARY KEY,
  org_id BIGINT NOT NULL,
  business_date TEXT NOT NULL,       -- YYYY-MM-DD in the settlement time zone
  currency TEXT NOT NULL,
  cutoff_us BIGINT NOT NULL,
  eligible BIGINT NOT NULL,          -- available at the cut-off
  receivable_offset BIGINT NOT NULL, -- used to repay refund shortfalls
  reserve BIGINT NOT NULL,           -- held back in the reserve account
  fee BIGINT NOT NULL,               -- payout fee to the platform
  net BIGINT NOT NULL,               -- paid out: eligible - offset - reserve - fee
  payout_id BIGINT,
  file_name TEXT NOT NULL,
  created_at_us BIGINT NOT NULL,
  UNIQUE (org_id, business_date, currency)
);
CREATE INDEX pay_settlements_date ON pay_settlements (business_date);

-- The settlement file as first written: immutable, served and re-written byte for byte.
CREATE TABLE pay_settlement_files (
  business_date TEXT PRIMARY KEY,
  file_name TEXT NOT NULL,
  content TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  batches BIGINT NOT NULL,
  total_net BIGINT NOT NULL,
  created_at_us BIGINT NOT NULL
);

-- Money leaving custody for a merchant's bank account: a settlement or a withdrawal.
CREATE TABLE pay_payouts (
  id BIGINT PRIMARY KEY,
  kind TEXT NOT NULL,                -- settlement | withdrawal
  org_id BIGINT NOT NULL,
  amount BIGINT NOT NULL,
  currency TEXT NOT NULL,
  status TEXT NOT NULL,              -- in_review | rejected | sent | paid | bounced
  bank_reference TEXT,
  failure_reason TEXT,
  risk_decision_id BIGINT,
  requested_by BIGINT,
  created_at_us BIGINT NOT NULL,
  finished_at_us BIGINT
);
CREATE INDEX pay_payouts_org ON pay_payouts (org_id, id);
CREATE INDEX pay_payouts_status ON pay_payouts (status, id);

CREATE TABLE pay_recon_runs (
  id BIGINT PRIMARY KEY,
  channel TEXT NOT NULL,
  business_date TEXT NOT NULL,
  statement_sha256 TEXT NOT NULL,
  matched BIGINT NOT NULL,
  differences BIGINT NOT NULL,
  created_at_us BIGINT NOT NULL
);
CREATE INDEX pay_recon_runs_date ON pay_recon_runs (channel, business_date);

CREATE TABLE pay_recon_items (
  id BIGINT PRIMARY KEY,
  run_id BIGINT NOT NULL,
  kind TEXT NOT NULL,                -- matched | cutoff | channel_only | platform_only | amount_mismatch | fee_mismatch
  entry_type TEXT NOT NULL,          -- payment | refund
  channel TEXT NOT NULL,             -- whose clearing account the movement belongs to
  currency TEXT NOT NULL,
  trade_no TEXT NOT NULL,
  out_trade_no TEXT NOT NULL,
  platform_amount BIGINT,
  channel_amount BIGINT,
  platform_fee BIGINT,
  channel_fee BIGINT,
  detail TEXT NOT NULL,
  resolution_transfer_id BIGINT,
  resolved_by BIGINT,
  resolution_reason TEXT,
  resolved_at_us BIGINT
);
CREATE INDEX pay_recon_items_run ON pay_recon_items (run_id, id);

-- Channel movements the channel has settled with the custodian bank (booked once each, when a
-- reconciliation finds them on its statement): clearing -> custody, net of the channel's fee.
CREATE TABLE pay_channel_settlements (
  channel TEXT NOT NULL,
  entry_type TEXT NOT NULL,          -- payment | refund
  trade_no TEXT NOT NULL,
  run_id BIGINT NOT NULL,
  amount BIGINT NOT NULL,
  fee BIGINT NOT NULL,
  created_at_us BIGINT NOT NULL,
  PRIMARY KEY (channel, entry_type, trade_no)
);
