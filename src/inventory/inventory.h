// Stock per SKU: on_hand units and the part of them reserved for unpaid orders.
//
//   available = on_hand - reserved;  0 <= reserved <= on_hand   (CHECKs in the table, and the
//   guarded UPDATEs below: stock never goes negative and is never oversold)
//
// A checkout reserves units per order (all or nothing); payment converts the reservation (the
// units leave on_hand); closing an unpaid order releases it; a refund before shipment (or a
// returned parcel) restocks converted units. Every change of on_hand appends to the movement
// journal; every reserved unit is held by a reservation row (order, quantity, status). So, per
// SKU,
//   sum(delta_on_hand) == on_hand   and   reserved == sum of active reservations,
// which verify() (`jishi verify stock`) checks. Reserving and releasing add no journal entry
// (until 2026-11 they did; such older entries are kept and carry on_hand deltas of 0).
// Functions run inside the caller's transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/ids.h"
#include "core/page.h"
#include "core/result.h"
#include "store/database.h"

namespace jishi::inventory {

struct Stock {
  std::int64_t sku_id = 0;
  OrgId seller;
  std::int64_t on_hand = 0, reserved = 0;
  std::int64_t updated_at_us = 0;
  std::int64_t available() const { return on_hand - reserved; }
};

// A stock level before and after a change; the catalog's in-stock flag follows `available > 0`.
struct StockChange {
  std::int64_t sku_id = 0;
  std::int64_t available_before = 0, available_after = 0;
  bool crossed_zero() const { return (available_before > 0) != (available_after > 0); }
};

Result<std::optional<Stock>> get_stock(store::Conn& conn, std::int64_t sku_id);
// The stock rows of these SKUs (unknown ones absent), in one query.
Result<std::vector<Stock>> get_stocks(store::Conn& conn, std::span<const std::int64_t> sku_ids);

// Sets the units on hand (a stock count or a delivery from the supplier). A count below the
// reserved units is invalid_state: those belong to orders.
Result<StockChange> set_on_hand(store::Tx& tx, Env& env, std::int64_t sku_id, OrgId seller,
                                std::int64_t on_hand, UserId actor, std::string_view note);

struct Want {
  std::int64_t sku_id = 0;
  std::int64_t quantity = 0;
};
// Reserves units for one order: wants naming the same SKU are summed first; all or nothing
// (insufficient_stock names the SKUs that fall short, and nothing is reserved).
Result<std::vector<StockChange>> reserve(store::Tx& tx, Env& env, std::int64_t order_id,
                                         std::span<const Want> wants, std::int64_t expires_at_us);
// The order was paid: its active reservations are converted (the units leave on_hand).
Result<std::vector<StockChange>> convert(store::Tx& tx, Env& env, std::int64_t order_id);
// The unpaid order was closed: its active reservations are released back to available.
Result<std::vector<StockChange>> release(store::Tx& tx, Env& env, std::int64_t order_id);
// The paid order's goods are back (refund before shipment, or a returned parcel): converted
// units return to on_hand. Each reservation restocks at most once.
Result<std::vector<StockChange>> restock(store::Tx& tx, Env& env, std::int64_t order_id);

struct Movement {
  std::int64_t id = 0, sku_id = 0;
  std::string kind;  // adjust | convert | restock (and reserve | release in older entries)
  std::int64_t delta_on_hand = 0, delta_reserved = 0;
  std::optional<std::string> reference;
  std::optional<std::int64_t> actor_id;
  std::int64_t at_us = 0;
};
// A SKU's journal, newest first.
Result<Page<Movement>> movements(store::Conn& conn, std::int64_t sku_id, std::int64_t before,
                                 std::size_t limit);

struct VerifyReport {
  std::int64_t skus = 0, movements = 0;
  std::vector<std::string> problems;  // empty when every invariant holds
};
Result<VerifyReport> verify(store::Conn& conn);

}  // namespace jishi::inventory
