#include "pay/ledger.h"

namespace jishi::pay {

namespace {

std::string_view kind_name(TransferKind k) {
  switch (k) {
    case TransferKind::single:
      return "single";
    case TransferKind::pending:
      return "pending";
    case TransferKind::post_pending:
      return "post_pending";
    case TransferKind::void_pending:
      return "void_pending";
  }
  return "single";
}

Account read_account(const store::Row& r) {
  Account a;
  a.id = AccountId{r.i64(0)};
  auto c = currency_from_code(r.text(1));
  if (c) a.currency = *c;
  a.code = static_cast<std::int32_t>(r.i64(2));
  a.owner = r.opt_i64(3);
  a.flags = static_cast<std::uint32_t>(r.i64(4));
  a.debits_pending = r.i64(5);
  a.debits_posted = r.i64(6);
  a.credits_pending = r.i64(7);
  a.credits_posted = r.i64(8);
  return a;
}

struct StoredTransfer {
  TransferId id;
  std::string kind;
  AccountId debit, credit;
  std::int64_t amount;
  std::string currency;
  std::optional<std::int64_t> pending_id;
  std::int64_t timeout_us;
  std::int32_t code;
  std::string reference;
};

Result<std::optional<StoredTransfer>> load_transfer(store::Conn& c, TransferId id) {
  std::optional<StoredTransfer> out;
  JISHI_TRY(
      c.query("SELECT id, kind, debit_account_id, credit_account_id, amount, currency, pending_id, "
              "timeout_us, code, reference FROM ledger_transfers WHERE id = $1",
              {id.value}, [&](const store::Row& r) {
                out = StoredTransfer{TransferId{r.i64(0)},
                                     r.str(1),
                                     AccountId{r.i64(2)},
                                     AccountId{r.i64(3)},
                                     r.i64(4),
                                     r.str(5),
                                     r.opt_i64(6),
                                     r.i64(7),
                                     static_cast<std::int32_t>(r.i64(8)),
                                     r.str(9)};
                return false;
              }));
  return out;
}

// Same id again: the same request (exists) or a different one.
TransferResult compare_existing(const StoredTransfer& s, const TransferSpec& t) {
  bool same = s.kind == kind_name(t.kind) && s.code == t.code && s.reference == t.reference &&
              s.timeout_us == t.timeout_us &&
              s.pending_id.value_or(0) == (t.pending_id ? t.pending_id->value : 0);
  if (t.kind == TransferKind::single || t.kind == TransferKind::pending) {
    same = same && s.debit == t.debit && s.credit == t.credit && s.amount == t.amount;
  } else {
    // Accounts come from the pending transfer; the caller may leave them (and a full post's
    // amount) out.
    same = same && (!t.debit || s.debit == t.debit) && (!t.credit || s.credit == t.credit) &&
           (t.amount == 0 || s.amount == t.amount);
  }
  return same ? TransferResult::exists : TransferResult::exists_with_different_fields;
}

bool add(std::int64_t& v, std::int64_t d) {
  return !__builtin_add_overflow(v, d, &v);
}

// Checks the flag bounds of both accounts after their balances were updated in memory.
TransferResult check_bounds(const Account& d, const Account& c) {
  if (d.flags & account_flags::debits_must_not_exceed_credits) {
    std::int64_t debits;
    if (__builtin_add_overflow(d.debits_posted, d.debits_pending, &debits))
      return TransferResult::overflows_balance;
    if (debits > d.credits_posted) return TransferResult::exceeds_credits;
  }
  if (c.flags & account_flags::credits_must_not_exceed_debits) {
    std::int64_t credits;
    if (__builtin_add_overflow(c.credits_posted, c.credits_pending, &credits))
      return TransferResult::overflows_balance;
    if (credits > c.debits_posted) return TransferResult::exceeds_debits;
  }
  return TransferResult::ok;
}

Status save_balances(store::Tx& tx, const Account& a) {
  JISHI_TRY(tx.exec(
      "UPDATE ledger_accounts SET debits_pending = $2, debits_posted = $3, credits_pending = $4, "
      "credits_posted = $5 WHERE id = $1",
      {a.id.value, a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted}));
  return {};
}

Status insert_transfer(store::Tx& tx, const Clock& clock, TransferId id, std::string_view kind,
                       const Account& d, const Account& c, std::int64_t amount,
                       std::optional<std::int64_t> pending_id, std::int64_t timeout_us,
                       std::int32_t code, std::string_view reference) {
  JISHI_TRY(tx.exec(
      "INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, currency, "
      "kind, pending_id, timeout_us, code, reference, created_at_us) VALUES ($1, $2, $3, $4, $5, "
      "$6, $7, $8, $9, $10, $11)",
      {id.value, d.id.value, c.id.value, amount, d.currency.code_view(), kind, pending_id,
       timeout_us, code, reference, clock.now_us()}));
  return {};
}

Result<TransferResult> apply_two_accounts(store::Tx& tx, const Clock& clock,
                                          const TransferSpec& t) {
  if (t.pending_id) return TransferResult::invalid_kind_fields;
  if (t.amount <= 0) return TransferResult::amount_must_be_positive;
  if (t.debit == t.credit) return TransferResult::accounts_must_be_different;
  if (t.timeout_us != 0 && t.kind != TransferKind::pending)
    return TransferResult::timeout_reserved_for_pending;
  if (t.timeout_us < 0) return TransferResult::invalid_kind_fields;
  JISHI_ASSIGN_OR_RETURN(auto d, get_account(tx, t.debit));
  if (!d) return TransferResult::debit_account_not_found;
  JISHI_ASSIGN_OR_RETURN(auto c, get_account(tx, t.credit));
  if (!c) return TransferResult::credit_account_not_found;
  if (!(d->currency == c->currency)) return TransferResult::accounts_must_have_the_same_currency;
  if (d->flags & account_flags::closed) return TransferResult::debit_account_closed;
  if (c->flags & account_flags::closed) return TransferResult::credit_account_closed;
  bool pending = t.kind == TransferKind::pending;
  if (!add(pending ? d->debits_pending : d->debits_posted, t.amount) ||
      !add(pending ? c->credits_pending : c->credits_posted, t.amount))
    return TransferResult::overflows_balance;
  if (auto b = check_bounds(*d, *c); b != TransferResult::ok) return b;
  JISHI_TRY(save_balances(tx, *d));
  JISHI_TRY(save_balances(tx, *c));
  JISHI_TRY(insert_transfer(tx, clock, t.id, kind_name(t.kind), *d, *c, t.amount, std::nullopt,
                            t.timeout_us, t.code, t.reference));
  if (pending)
    JISHI_TRY(
        tx.exec("INSERT INTO ledger_pending (transfer_id, status, expires_at_us) VALUES ($1, "
                "'pending', $2)",
                {t.id.value, t.timeout_us ? clock.now_us() + t.timeout_us : std::int64_t{0}}));
  return TransferResult::ok;
}

// Resolves a pending transfer: post (in full or part), void, or expire.
Result<TransferResult> resolve(store::Tx& tx, const Clock& clock, TransferId id,
                               std::string_view kind, TransferId pending_id, std::int64_t amount,
                               AccountId want_debit, AccountId want_credit, std::int32_t code,
                               std::string_view reference) {
  JISHI_ASSIGN_OR_RETURN(auto p, load_transfer(tx, pending_id));
  if (!p) return TransferResult::pending_transfer_not_found;
  if (p->kind != "pending") return TransferResult::pending_transfer_not_pending;
  if ((want_debit && want_debit != p->debit) || (want_credit && want_credit != p->credit))
    return TransferResult::invalid_kind_fields;
  std::string status;
  std::int64_t expires_at = 0;
  JISHI_TRY(tx.query("SELECT status, expires_at_us FROM ledger_pending WHERE transfer_id = $1",
                     {pending_id.value}, [&](const store::Row& r) {
                       status = r.str(0);
                       expires_at = r.i64(1);
                       return false;
                     }));
  if (status == "posted") return TransferResult::pending_transfer_already_posted;
  if (status == "voided") return TransferResult::pending_transfer_already_voided;
  if (status == "expired") return TransferResult::pending_transfer_expired;
  bool expiring = kind == "expire_pending";
  if (!expiring && expires_at != 0 && expires_at <= clock.now_us())
    return TransferResult::pending_transfer_expired;
  bool post = kind == "post_pending";
  std::int64_t posted = 0;
  if (post) {
    posted = amount == 0 ? p->amount : amount;
    if (posted < 0) return TransferResult::amount_must_be_positive;
    if (posted > p->amount) return TransferResult::exceeds_pending_transfer_amount;
  } else if (amount != 0 && amount != p->amount) {
    return TransferResult::exceeds_pending_transfer_amount;
  }
  JISHI_ASSIGN_OR_RETURN(auto d, get_account(tx, p->debit));
  JISHI_ASSIGN_OR_RETURN(auto c, get_account(tx, p->credit));
  if (!d || !c) return fail(Code::internal, "ledger: a pending transfer names a missing account");
  d->debits_pending -= p->amount;
  c->credits_pending -= p->amount;
  if (!add(d->debits_posted, posted) || !add(c->credits_posted, posted))
    return TransferResult::overflows_balance;
  if (auto b = check_bounds(*d, *c); b != TransferResult::ok) return b;
  JISHI_TRY(save_balances(tx, *d));
  JISHI_TRY(save_balances(tx, *c));
  JISHI_TRY(insert_transfer(tx, clock, id, kind, *d, *c, post ? posted : p->amount,
                            pending_id.value, 0, code, reference));
  std::string_view next = post ? "posted" : expiring ? "expired" : "voided";
  JISHI_TRY(
      tx.exec("UPDATE ledger_pending SET status = $2, resolved_by = $3 WHERE transfer_id = $1",
              {pending_id.value, next, id.value}));
  return TransferResult::ok;
}

Result<TransferResult> apply_one(store::Tx& tx, const Clock& clock, const TransferSpec& t) {
  if (!t.id) return TransferResult::invalid_kind_fields;
  JISHI_ASSIGN_OR_RETURN(auto existing, load_transfer(tx, t.id));
  if (existing) return compare_existing(*existing, t);
  switch (t.kind) {
    case TransferKind::single:
    case TransferKind::pending:
      return apply_two_accounts(tx, clock, t);
    case TransferKind::post_pending:
    case TransferKind::void_pending:
      if (!t.pending_id || t.timeout_us != 0) return TransferResult::invalid_kind_fields;
      return resolve(tx, clock, t.id, kind_name(t.kind), *t.pending_id, t.amount, t.debit, t.credit,
                     t.code, t.reference);
  }
  return TransferResult::invalid_kind_fields;
}

bool succeeded(TransferResult r) {
  return r == TransferResult::ok || r == TransferResult::exists;
}

}  // namespace

std::string_view name_of(TransferResult r) {
  switch (r) {
    case TransferResult::ok:
      return "ok";
    case TransferResult::exists:
      return "exists";
    case TransferResult::exists_with_different_fields:
      return "exists_with_different_fields";
    case TransferResult::linked_event_failed:
      return "linked_event_failed";
    case TransferResult::linked_event_chain_open:
      return "linked_event_chain_open";
    case TransferResult::amount_must_be_positive:
      return "amount_must_be_positive";
    case TransferResult::accounts_must_be_different:
      return "accounts_must_be_different";
    case TransferResult::debit_account_not_found:
      return "debit_account_not_found";
    case TransferResult::credit_account_not_found:
      return "credit_account_not_found";
    case TransferResult::accounts_must_have_the_same_currency:
      return "accounts_must_have_the_same_currency";
    case TransferResult::debit_account_closed:
      return "debit_account_closed";
    case TransferResult::credit_account_closed:
      return "credit_account_closed";
    case TransferResult::exceeds_credits:
      return "exceeds_credits";
    case TransferResult::exceeds_debits:
      return "exceeds_debits";
    case TransferResult::overflows_balance:
      return "overflows_balance";
    case TransferResult::pending_transfer_not_found:
      return "pending_transfer_not_found";
    case TransferResult::pending_transfer_not_pending:
      return "pending_transfer_not_pending";
    case TransferResult::pending_transfer_already_posted:
      return "pending_transfer_already_posted";
    case TransferResult::pending_transfer_already_voided:
      return "pending_transfer_already_voided";
    case TransferResult::pending_transfer_expired:
      return "pending_transfer_expired";
    case TransferResult::exceeds_pending_transfer_amount:
      return "exceeds_pending_transfer_amount";
    case TransferResult::timeout_reserved_for_pending:
      return "timeout_reserved_for_pending";
    case TransferResult::invalid_kind_fields:
      return "invalid_kind_fields";
  }
  return "unknown";
}

Status create_account(store::Tx& tx, const Clock& clock, const AccountSpec& spec) {
  if (!spec.id) return fail(Code::validation_failed, "account id must be positive");
  JISHI_ASSIGN_OR_RETURN(auto existing, get_account(tx, spec.id));
  if (existing) {
    if (existing->currency == spec.currency && existing->code == spec.code &&
        existing->owner == spec.owner && existing->flags == spec.flags)
      return {};
    return fail(Code::already_exists,
                "ledger account " + spec.id.str() + " exists with other fields");
  }
  JISHI_TRY(
      tx.exec("INSERT INTO ledger_accounts (id, currency, code, owner_id, flags, created_at_us) "
              "VALUES ($1, $2, $3, $4, $5, $6)",
              {spec.id.value, spec.currency.code_view(), spec.code, spec.owner,
               static_cast<std::int64_t>(spec.flags), clock.now_us()}));
  return {};
}

Result<std::optional<Account>> get_account(store::Conn& conn, AccountId id) {
  // One literal, not a concatenation: this runs twice per transfer.
  static constexpr std::string_view kSql =
      "SELECT id, currency, code, owner_id, flags, debits_pending, debits_posted, "
      "credits_pending, credits_posted FROM ledger_accounts WHERE id = $1";
  std::optional<Account> out;
  JISHI_TRY(conn.query(kSql, {id.value}, [&](const store::Row& r) {
    out = read_account(r);
    return false;
  }));
  return out;
}

Result<std::vector<TransferResult>> create_transfers(store::Tx& tx, const Clock& clock,
                                                     std::span<const TransferSpec> transfers) {
  std::vector<TransferResult> results(transfers.size(), TransferResult::ok);
  std::size_t i = 0;
  while (i < transfers.size()) {
    std::size_t end = i;  // the chain is [i, end]
    while (end < transfers.size() && transfers[end].linked) ++end;
    if (end == transfers.size()) {  // the batch ends inside a chain
      for (std::size_t k = i; k < transfers.size(); ++k)
        results[k] = k + 1 == transfers.size() ? TransferResult::linked_event_chain_open
                                               : TransferResult::linked_event_failed;
      break;
    }
    if (end == i) {
      JISHI_ASSIGN_OR_RETURN(results[i], apply_one(tx, clock, transfers[i]));
      ++i;
      continue;
    }
    JISHI_TRY(tx.exec("SAVEPOINT ledger_chain"));
    std::optional<std::size_t> failed;
    for (std::size_t k = i; k <= end; ++k) {
      JISHI_ASSIGN_OR_RETURN(results[k], apply_one(tx, clock, transfers[k]));
      if (!succeeded(results[k])) {
        failed = k;
        break;
      }
    }
    if (failed) {
      JISHI_TRY(tx.exec("ROLLBACK TO ledger_chain"));
      for (std::size_t k = i; k <= end; ++k)
        if (k != *failed) results[k] = TransferResult::linked_event_failed;
    }
    JISHI_TRY(tx.exec("RELEASE ledger_chain"));
    i = end + 1;
  }
  return results;
}

Result<std::int64_t> expire_pending(store::Tx& tx, const Clock& clock, IdGenerator& ids,
                                    std::size_t limit) {
  std::vector<std::int64_t> due;
  JISHI_TRY(tx.query(
      "SELECT transfer_id FROM ledger_pending WHERE status = 'pending' AND expires_at_us > 0 "
      "AND expires_at_us <= $1 ORDER BY expires_at_us LIMIT $2",
      {clock.now_us(), static_cast<std::int64_t>(limit)}, [&](const store::Row& r) {
        due.push_back(r.i64(0));
        return true;
      }));
  for (std::int64_t pending : due) {
    JISHI_ASSIGN_OR_RETURN(auto r, resolve(tx, clock, TransferId{ids.next()}, "expire_pending",
                                           TransferId{pending}, 0, {}, {}, 0, "expired"));
    if (r != TransferResult::ok)
      return fail(Code::internal, "ledger: expiring " + std::to_string(pending) + " gave " +
                                      std::string(name_of(r)));
  }
  return static_cast<std::int64_t>(due.size());
}

Result<std::optional<std::string>> verify_ledger(store::Conn& conn) {
  std::optional<std::string> violation;
  auto first = [&](std::string message) {
    if (!violation) violation = std::move(message);
    return false;
  };
  JISHI_TRY(conn.query(
      "SELECT currency, SUM(debits_posted), SUM(credits_posted), SUM(debits_pending), "
      "SUM(credits_pending) FROM ledger_accounts GROUP BY currency ORDER BY currency",
      {}, [&](const store::Row& r) {
        if (r.i64(1) != r.i64(2) || r.i64(3) != r.i64(4))
          return first(r.str(0) + ": total debits != total credits (posted " +
                       std::to_string(r.i64(1)) + " vs " + std::to_string(r.i64(2)) + ", pending " +
                       std::to_string(r.i64(3)) + " vs " + std::to_string(r.i64(4)) + ")");
        return true;
      }));
  if (violation) return violation;
  JISHI_TRY(conn.query(
      "SELECT id, flags, debits_pending, debits_posted, credits_pending, credits_posted FROM "
      "ledger_accounts WHERE debits_pending < 0 OR debits_posted < 0 OR credits_pending < 0 OR "
      "credits_posted < 0 OR ((flags & 1) <> 0 AND debits_posted + debits_pending > "
      "credits_posted) OR ((flags & 2) <> 0 AND credits_posted + credits_pending > debits_posted) "
      "ORDER BY id LIMIT 1",
      {}, [&](const store::Row& r) {
        return first("account " + std::to_string(r.i64(0)) + " breaks its flags or goes negative");
      }));
  if (violation) return violation;
  // Every balance equals the sum of its transfers: posted from single and post transfers,
  // pending from pending transfers still pending.
  JISHI_TRY(
      conn.query("SELECT a.id FROM ledger_accounts a WHERE "
                 "a.debits_posted <> COALESCE((SELECT SUM(t.amount) FROM ledger_transfers t WHERE "
                 "  t.debit_account_id = a.id AND t.kind IN ('single', 'post_pending')), 0) OR "
                 "a.credits_posted <> COALESCE((SELECT SUM(t.amount) FROM ledger_transfers t WHERE "
                 "  t.credit_account_id = a.id AND t.kind IN ('single', 'post_pending')), 0) OR "
                 "a.debits_pending <> COALESCE((SELECT SUM(t.amount) FROM ledger_transfers t JOIN "
                 "  ledger_pending p ON p.transfer_id = t.id WHERE t.debit_account_id = a.id AND "
                 "  p.status = 'pending'), 0) OR "
                 "a.credits_pending <> COALESCE((SELECT SUM(t.amount) FROM ledger_transfers t JOIN "
                 "  ledger_pending p ON p.transfer_id = t.id WHERE t.credit_account_id = a.id AND "
                 "  p.status = 'pending'), 0) "
                 "ORDER BY a.id LIMIT 1",
                 {}, [&](const store::Row& r) {
                   return first("account " + std::to_string(r.i64(0)) +
                                " balances differ from the sum of its transfers");
                 }));
  if (violation) return violation;
  JISHI_TRY(conn.query(
      "SELECT t.id FROM ledger_transfers t WHERE NOT EXISTS (SELECT 1 FROM ledger_accounts a "
      "WHERE a.id = t.debit_account_id) OR NOT EXISTS (SELECT 1 FROM ledger_accounts a WHERE "
      "a.id = t.credit_account_id) ORDER BY t.id LIMIT 1",
      {}, [&](const store::Row& r) {
        return first("transfer " + std::to_string(r.i64(0)) + " names a missing account");
      }));
  if (violation) return violation;
  JISHI_TRY(conn.query(
      "SELECT t.id FROM ledger_transfers t JOIN ledger_accounts d ON d.id = t.debit_account_id "
      "JOIN ledger_accounts c ON c.id = t.credit_account_id WHERE t.currency <> d.currency OR "
      "t.currency <> c.currency OR t.amount < 0 ORDER BY t.id LIMIT 1",
      {}, [&](const store::Row& r) {
        return first("transfer " + std::to_string(r.i64(0)) + " crosses currencies or is negative");
      }));
  return violation;
}

}  // namespace jishi::pay
