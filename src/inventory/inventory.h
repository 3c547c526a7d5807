// Stock per SKU: on_hand units and the part of them reserved for unpaid orders.
//
//   available = on_hand - reserved;  0 <= reserved <= on_hand   (CHECKs in the table, and the
//   guarded UPDATEs below: stock never goes negative and is never oversold)
//
// A checkout reserves units (all or nothing); payment converts them (the units leave on_hand);
// closing an unpaid order releases them; a full refund of a paid order (before shipment, or
// after a returned parcel) restocks them. Inventory keeps no record per holder: the holder, an
// order, holds what its lines say while it is unpaid, and calls each of these once, on the one
// transition of its own state that matches (flows: an order leaves pending_payment once, and
// its refund completes once). Every change of on_hand appends to the movement journal, so per
// SKU
//   sum(delta_on_hand) == on_hand   and   reserved == the units held by unpaid orders,
// which verify() (`jishi verify stock`) checks. Reserving and releasing add no journal entry
// (until 2026-11 they did; such older entries are kept and carry on_hand deltas of 0; until
// 2026-11-29 each reservation was also a row of its own, inv_reservations).
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
// Reserves units for an unpaid order: wants naming the same SKU are summed first; all or
// nothing (insufficient_stock names the SKUs that fall short, and nothing is reserved).
Result<std::vector<StockChange>> reserve(store::Tx& tx, Env& env, std::span<const Want> wants);
// The order was paid: the units it holds leave on_hand (journal: "convert", the order's id).
Result<std::vector<StockChange>> convert(store::Tx& tx, Env& env, std::int64_t order_id,
                                         std::span<const Want> wants);
// The unpaid order was closed: the units it held are available again.
Result<std::vector<StockChange>> release(store::Tx& tx, Env& env, std::span<const Want> wants);
// The paid order's goods are back: its units return to on_hand (journal: "restock").
Result<std::vector<StockChange>> restock(store::Tx& tx, Env& env, std::int64_t order_id,
                                         std::span<const Want> wants);

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
// `holds_sql` selects (sku_id, quantity) rows: every unit held by an unpaid order (the holder's
// module supplies it; flows::verify_stock does for orders).
Result<VerifyReport> verify(store::Conn& conn, std::string_view holds_sql);

}  // namespace jishi::inventory
