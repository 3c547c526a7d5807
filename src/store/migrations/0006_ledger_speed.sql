-- pay/ledger at speed (bench/ledger_bench.cc). Every index on ledger_transfers is a random
-- B-tree insert per transfer, and each page it dirties is written to the WAL again at every
-- commit: with accounts spread over many pages that was most of the bytes and fsync time per
-- batch. Nothing reads transfers by account on the hot path: verify_ledger sums them in one scan.
-- An account statement (listing one account's transfers) will need its own index, or a history
-- built off the hot path; add it with that feature, knowing its cost.
DROP INDEX ledger_transfers_debit;
DROP INDEX ledger_transfers_credit;
-- Never read: the pending transfer's state row (ledger_pending) records what resolved it.
DROP INDEX ledger_transfers_pending;
-- Expiry only looks for open transfers that can expire; posted, voided, expired and
-- never-expiring ones stay out of the index instead of moving inside it.
DROP INDEX ledger_pending_expiry;
CREATE INDEX ledger_pending_expiry ON ledger_pending (expires_at_us)
  WHERE status = 'pending' AND expires_at_us > 0;
