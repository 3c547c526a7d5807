// Reconciliation: the platform's records of a channel's business day matched against the
// channel's statement file (docs/payments-gateway.md for its columns).
//
// Every statement line and every platform record of the day ends up in exactly one item:
//   matched          both sides, same amount and fee
//   cutoff           both sides, but booked on different sides of midnight (a timing
//                    difference, not an error)
//   channel_only     only the channel has it (长款: money we never recorded)
//   platform_only    only we have it (短款: money the channel does not know)
//   amount_mismatch  both sides, amounts differ
//   fee_mismatch     both sides, same amount, fees differ
// A run books what the statement proves the channel has settled with the custodian bank, once
// per movement: for matched and cutoff items, clearing -> custody net of the channel's fee
// (and the fee to channel_fees); refunds the other way. Differences move no money: an operator
// corrects each with resolve_item(), which books one transfer through the suspense account,
// with a reason, once per difference (a later run of the same day cannot correct it again).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/page.h"
#include "core/result.h"
#include "pay/gateway.h"
#include "store/database.h"

namespace jishi::pay {

struct StatementLine {
  std::string trade_no, out_trade_no, type;  // type: payment | refund
  std::int64_t amount = 0, fee = 0;
  std::string currency, status;
  std::int64_t finished_at_us = 0;
};
// Parses a statement CSV (header required; at most limits::recon_statement_lines_max lines).
Result<std::vector<StatementLine>> parse_statement(std::string_view csv);

struct ReconItem {
  std::int64_t id = 0, run_id = 0;
  std::string kind, entry_type, channel, currency, trade_no, out_trade_no;
  std::optional<std::int64_t> platform_amount, channel_amount, platform_fee, channel_fee;
  std::string detail;
  std::optional<std::int64_t> resolution_transfer_id, resolved_by;
  std::optional<std::string> resolution_reason;
  std::optional<std::int64_t> resolved_at_us;
};

struct ReconRun {
  std::int64_t id = 0;
  Channel channel = Channel::card;
  std::string business_date, statement_sha256;
  std::int64_t matched = 0, differences = 0, created_at_us = 0;
  std::map<std::string, std::int64_t> counts;  // per kind
};

// Reconciles `date` against a gateway's statement. One gateway serves card, netbank and qr with
// one statement, so a run covers the platform's records of all three; `channel` names the
// clearing account of movements the platform does not know (channel_only). statements holds the
// channel's statement CSV per date: the date itself is required; the previous and next days, when
// given, let a record booked across midnight be recognised as `cutoff` instead of a difference.
Result<ReconRun> reconcile(store::Tx& tx, Env& env, Channel channel, std::string_view date,
                           const std::map<std::string, std::string>& statements);
Result<std::optional<ReconRun>> get_recon_run(store::Conn& conn, std::int64_t id);
Result<Page<ReconRun>> list_recon_runs(store::Conn& conn, std::int64_t before, std::size_t limit);
// kind filter: "differences" for every kind except matched and cutoff; empty for all.
Result<Page<ReconItem>> list_recon_items(store::Conn& conn, std::int64_t run_id,
                                         std::string_view kind, std::int64_t before,
                                         std::size_t limit);
// Books the correction of a difference through suspense (invalid_state for matched/cutoff
// items and for items already resolved).
Result<ReconItem> resolve_item(store::Tx& tx, Env& env, std::int64_t item_id, UserId by,
                               std::string_view reason);

}  // namespace jishi::pay
