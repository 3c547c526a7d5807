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
//
// Deferred reservations (the server's writer connection, ReservationDeferral below): there,
// reserve() does not update inv_stock. It adds the units to a counter per SKU in the writer's
// memory, so a checkout dirties no page of inv_stock (a uniform checkout used to write ~1.4
// random stock pages) and costs one read per SKU. The counters follow the transaction through
// an undo log: the writer marks it before each command and takes it back whenever it rolls
// back (store::WriterHook). (Until 2026-11-29, session 12, they were a TEMP table, whose
// upsert and lookup per SKU cost ~4% of the server's CPU under checkout load.) Every other
// change of a SKU first takes its deferred units into the row, and the writer folds them into
// inv_stock at the end of a batch when it falls idle, at least once a second under load, and
// when it stops. So per SKU, always:
//   inv_stock.reserved + deferred units == units held by unpaid orders <= on_hand
// Readers on other connections see inv_stock.reserved, short by the deferred units (none once
// the writer is idle); the writer decides on the exact figure, so nothing oversells. A crash
// loses the counters but not the orders' lines: prepare() restores `reserved` from them before
// the writer starts.
//
// The writer also keeps a copy of each stock row's `on_hand - reserved` (since 2026-11-30), so
// that reserve() reads no row at all: prepare() loads up to three quarters of
// limits::stock_cache_entries_max rows, a row read later is kept, and every write of inv_stock
// on the writer's connection (all of them are in this file) sets its copy. The copies follow
// the transaction through the same undo log as the counters (a copy made or changed after a
// mark goes when the writer undoes to it), and all of them go when another connection has
// committed (store::Conn::others_committed), so reserve() never decides on a stale row.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/env.h"
#include "core/ids.h"
#include "core/page.h"
#include "core/result.h"
#include "store/database.h"
#include "store/writer.h"

namespace jishi::metrics {
class Registry;
}

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
  // Units held by unpaid orders and not yet folded into inv_stock.reserved, and their SKUs: a
  // running server's deferred reservations (or, after a crash, ones its next start restores).
  // Seen only from outside the writer's connection; not a problem.
  std::int64_t deferred_units = 0, deferred_skus = 0;
  std::vector<std::string> problems;  // empty when every invariant holds
};
// `holds_sql` selects (sku_id, quantity) rows: every unit held by an unpaid order (the holder's
// module supplies it; flows::verify_stock does for orders). Per SKU: 0 <= reserved <= on_hand,
// the journal sums to on_hand, and the units held are at most on_hand. On the writer's
// connection reserved plus the deferred units must equal the units held; on any other, reserved
// may fall short of them by deferred units but never exceed them, unless `no_writer` says that
// no server is running (then nothing can be deferred, and they must be equal).
Result<VerifyReport> verify(store::Conn& conn, std::string_view holds_sql, bool no_writer = false);

// The name the deferred units are attached to the writer's connection under (store::Conn).
inline constexpr std::string_view kDeferredReservations = "inventory.deferred_reservations";

struct DeferredUnits;

// Deferred reservations on the writer's connection (above), as the writer's hook.
class ReservationDeferral final : public store::WriterHook {
 public:
  // `holds_sql` as for verify(). Folds everything: at the end of a batch that leaves the writer
  // idle when at most 8 commands ran since the last such fold (light load: readers see each
  // reservation as soon as it is answered); `idle_delay_us` after the last batch when the
  // writer has fallen idle with units still deferred; and at stop. Under load, each batch
  // folds the next slice of the table in key order, sized so that the sweep passes over all
  // of it about once per `fold_interval_us`.
  ReservationDeferral(std::string holds_sql, const Clock& clock,
                      std::int64_t fold_interval_us = 1'000'000,
                      std::int64_t idle_delay_us = 100'000);
  ~ReservationDeferral() override;
  // Restores inv_stock.reserved from the units unpaid orders hold (one transaction; fails when
  // they hold more than is on hand) and attaches the (empty) deferred units to the connection.
  Status prepare(store::Conn& conn) override;
  bool due(store::Conn& conn, std::size_t commands, bool idle, bool stopping) override;
  std::int64_t idle_delay_us() const override { return idle_delay_us_; }
  // Folds the deferred units into inv_stock.reserved: all of them, or the slice due() chose.
  Status run(store::Tx& tx) override;
  // The deferred units follow the writer's transaction (store::WriterHook).
  std::size_t mark() override;
  void undo_to(std::size_t mark) override;
  void committed() override;
  // SKUs whose reserved units prepare() had to restore (the last run stopped without folding).
  std::int64_t restored_skus() const { return restored_skus_; }
  // A SKU's deferred units, and the SKUs with any (not folded yet).
  std::int64_t deferred_units(std::int64_t sku) const;
  std::size_t deferred_skus() const;
  // The writer's copies of stock rows (their on_hand - reserved), and how often reserve()
  // found one or read the row.
  struct RowCopies {
    std::size_t entries = 0;
    std::uint64_t hits = 0, misses = 0;
  };
  RowCopies row_copies() const;
  // The copies' tallies and the deferred SKUs on /metrics (jishi_stock_copies_*,
  // jishi_stock_deferred_skus), read from the registry's thread.
  void publish_metrics(metrics::Registry& registry) const;
  // The copy of a SKU's row that reserve() would use on `conn` now; nullopt when none is kept,
  // or when another connection has committed since they were exact (reserve() empties them
  // all before its next use).
  std::optional<std::int64_t> row_copy(const store::Conn& conn, std::int64_t sku) const;

 private:
  // Up to `count` SKUs and their deferred units, from SKU `from` on in key order.
  std::vector<std::pair<std::int64_t, std::int64_t>> take(std::int64_t from,
                                                          std::size_t count) const;
  // Copies the stock rows' availability into memory, as far as the limit allows.
  Status load_rows(store::Conn& conn);
  // Folds these SKUs' units into their rows.
  Status fold(store::Tx& tx, std::span<const std::pair<std::int64_t, std::int64_t>> slice);

  std::string holds_sql_;
  const Clock& clock_;
  std::int64_t fold_interval_us_, idle_delay_us_;
  std::int64_t last_fold_us_ = 0;  // steady clock
  std::size_t commands_since_fold_ = 0;
  bool slice_ = false;           // the next run() folds a slice, not everything
  std::int64_t sweep_from_ = 0;  // the slice starts at this SKU id
  std::int64_t restored_skus_ = 0;
  std::shared_ptr<DeferredUnits> deferred_;  // also attached to the writer's connection
};

}  // namespace jishi::inventory
