#include "inventory/inventory.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <unordered_map>

#include "core/limits.h"
#include "core/metrics.h"

namespace jishi::inventory {

namespace {

constexpr std::string_view kStockColumns = "sku_id, seller_id, on_hand, reserved, updated_at_us";

Stock read_stock(const store::Row& r) {
  return Stock{r.i64(0), OrgId{r.i64(1)}, r.i64(2), r.i64(3), r.i64(4)};
}

}  // namespace

// The writer's deferred units per SKU, in memory, with the undo log that makes them follow the
// transaction (store::WriterHook's mark / undo_to / committed): every change since the batch
// began is logged, and undoing to a mark takes the changes after it back in reverse. Ordered
// by SKU for the fold's slices.
//
// Beside them, the writer's copy of each stock row's `on_hand - reserved` (`rows`), so that
// reserve() reads no row: exact while every write of inv_stock on the writer's connection goes
// through this file, which keeps the copy (row_is) after each, and no other connection writes
// the table (reserve() empties it when store::Conn::others_committed() says one committed). Its
// fills and changes are logged too: undoing one drops the filled entry or takes the change back, so
// a copy read from a write that is rolled back never stays. Dropping an entry needs no log (the
// next reserve reads the row).
struct DeferredUnits {
  enum class Undo : std::uint8_t { units, fill, row };
  struct Step {
    Undo kind;
    std::int64_t sku, delta;
  };
  std::map<std::int64_t, std::int64_t> units;           // SKU -> units (> 0)
  std::unordered_map<std::int64_t, std::int64_t> rows;  // SKU -> its row's on_hand - reserved
  std::vector<Step> undo;
  // The connection's count of others' commits when `rows` was last exact; nullopt: the
  // connection cannot tell, and no copy is kept.
  std::optional<std::uint64_t> others_committed;
  // Tallies and sizes, atomic so that /metrics can read them while the writer counts
  // (ReservationDeferral::publish_metrics); the sizes are set at the end of each batch.
  struct Counters {
    metrics::Counter row_hits, row_misses;
    std::atomic<std::size_t> rows{0}, deferred_skus{0};
  };
  std::shared_ptr<Counters> counters = std::make_shared<Counters>();
  void sized() {
    counters->rows.store(rows.size(), std::memory_order_relaxed);
    counters->deferred_skus.store(units.size(), std::memory_order_relaxed);
  }

  std::int64_t of(std::int64_t sku) const {
    auto it = units.find(sku);
    return it == units.end() ? 0 : it->second;
  }
  // The log's room first: a change is never made without its undo (an allocation failure
  // leaves both as they were). It grows by doubling: reserving one more each time would copy
  // the whole log on every entry, and a fold logs two per SKU (a fold of every SKU at once,
  // when the writer falls idle after load, took seconds that way).
  void room() {
    if (undo.size() == undo.capacity())
      undo.reserve(std::max<std::size_t>(64, 2 * undo.capacity()));
  }
  void add(std::int64_t sku, std::int64_t delta) {
    if (delta == 0) return;
    room();
    apply(sku, delta);
    undo.push_back({Undo::units, sku, delta});
  }

  // Whether the copies are exact on `conn` now: kept on this connection, and no other
  // connection has committed since they were (copies_for() then empties them, and says yes).
  bool copies_current(const store::Conn& conn) const {
    return others_committed && others_committed == conn.others_committed();
  }
  bool copies_for(const store::Conn& conn) {
    if (!others_committed) return false;
    if (!copies_current(conn)) {
      rows.clear();  // another connection may have written stock rows
      others_committed = conn.others_committed();
    }
    return true;
  }

  const std::int64_t* row(std::int64_t sku) {
    auto it = rows.find(sku);
    if (it == rows.end()) {
      counters->row_misses.add();
      return nullptr;
    }
    counters->row_hits.add();
    return &it->second;
  }
  // A row's availability just read, for a SKU without an entry. At the limit it starts again.
  void fill(std::int64_t sku, std::int64_t available) {
    if (!others_committed) return;  // no copies on this connection
    room();
    if (rows.size() >= limits::stock_cache_entries_max) rows.clear();
    if (!rows.try_emplace(sku, available).second) return;
    undo.push_back({Undo::fill, sku, 0});
  }
  // The row of `sku` now has this availability (after a write of it).
  void row_is(std::int64_t sku, std::int64_t available) {
    auto it = rows.find(sku);
    if (it == rows.end()) return fill(sku, available);
    if (it->second == available) return;
    room();
    std::int64_t delta = available - it->second;
    it->second = available;
    undo.push_back({Undo::row, sku, delta});
  }
  // The row of `sku` changed by `delta`, where an entry exists.
  void row_moved(std::int64_t sku, std::int64_t delta) {
    auto it = rows.find(sku);
    if (it != rows.end()) row_is(sku, it->second + delta);
  }

  void undo_to(std::size_t mark) {
    while (undo.size() > mark) {
      const Step& s = undo.back();
      if (s.kind == Undo::units) {
        apply(s.sku, -s.delta);
      } else if (s.kind == Undo::fill) {
        rows.erase(s.sku);
      } else if (auto it = rows.find(s.sku); it != rows.end()) {
        it->second -= s.delta;  // gone since (dropped, or the limit): nothing to take back
      }
      undo.pop_back();
    }
  }

 private:
  void apply(std::int64_t sku, std::int64_t delta) {
    auto [it, fresh] = units.try_emplace(sku, 0);
    it->second += delta;
    if (it->second == 0) units.erase(it);
  }
};

namespace {

DeferredUnits* deferred_units(const store::Conn& conn) {
  return conn.attachment<DeferredUnits>(kDeferredReservations);
}

// A SKU's deferred units (the caller adds them to its row, then clears them: in that order, so
// that a refused UPDATE leaves them where they were).
std::int64_t deferred_of(const store::Tx& tx, std::int64_t sku_id) {
  const auto* d = deferred_units(tx);
  return d ? d->of(sku_id) : 0;
}

void clear_deferred(store::Tx& tx, std::int64_t sku_id, std::int64_t deferred) {
  if (auto* d = deferred_units(tx)) d->add(sku_id, -deferred);
}

Status journal(store::Tx& tx, Env& env, std::int64_t sku_id, std::string_view kind,
               std::int64_t delta_on_hand, std::int64_t delta_reserved,
               const std::optional<std::string>& reference, std::optional<std::int64_t> actor) {
  JISHI_TRY(tx.exec(
      "INSERT INTO inv_movements (id, sku_id, kind, delta_on_hand, delta_reserved, reference, "
      "actor_id, at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
      {env.ids.next(), sku_id, kind, delta_on_hand, delta_reserved, reference, actor,
       env.clock.now_us()}));
  return {};
}

// Moves one SKU's counters by the deltas (guarded: the CHECKs refuse anything negative or
// over-reserved) and journals it. Returns the change in availability.
Result<StockChange> move(store::Tx& tx, Env& env, std::int64_t sku_id, std::string_view kind,
                         std::int64_t delta_on_hand, std::int64_t delta_reserved,
                         const std::optional<std::string>& reference,
                         std::optional<std::int64_t> actor) {
  // The SKU's deferred reservations, if any, join the row in the same UPDATE.
  std::int64_t deferred = deferred_of(tx, sku_id);
  auto after = tx.query_one(
      "UPDATE inv_stock SET on_hand = on_hand + $2, reserved = reserved + $3, updated_at_us = $4 "
      "WHERE sku_id = $1 RETURNING on_hand, reserved",
      {sku_id, delta_on_hand, delta_reserved + deferred, env.clock.now_us()},
      [](const store::Row& r) { return r.i64(0) - r.i64(1); });
  if (!after) {
    if (after.error().code == Code::conflict)
      return fail(Code::insufficient_stock,
                  "not enough stock of SKU " + std::to_string(sku_id) + " for this change");
    return std::unexpected(after.error());
  }
  if (!*after) return fail(Code::not_found, "no stock record for SKU " + std::to_string(sku_id));
  clear_deferred(tx, sku_id, deferred);
  if (auto* d = deferred_units(tx)) d->row_is(sku_id, **after);
  // The journal records every change of on_hand. Reserved units are accounted for by their
  // holders (the lines of unpaid orders), so a pure reservation move adds no entry.
  if (delta_on_hand != 0)
    JISHI_TRY(journal(tx, env, sku_id, kind, delta_on_hand, delta_reserved, reference, actor));
  std::int64_t now_available = **after;
  return StockChange{sku_id, now_available + delta_reserved - delta_on_hand, now_available};
}

// Sums the wants per SKU (lines sharing a SKU count together), checking each quantity.
Result<std::map<std::int64_t, std::int64_t>> per_sku(std::span<const Want> wants) {
  std::map<std::int64_t, std::int64_t> out;
  for (const auto& w : wants) {
    if (w.quantity <= 0 || w.quantity > limits::order_line_quantity_max)
      return fail(Code::validation_failed,
                  "quantities must be 1.." + std::to_string(limits::order_line_quantity_max));
    out[w.sku_id] += w.quantity;
  }
  return out;
}

// Moves the counters of every SKU in `wants` by the deltas per unit given.
Result<std::vector<StockChange>> move_all(store::Tx& tx, Env& env, std::span<const Want> wants,
                                          std::string_view kind, int on_hand_sign,
                                          int reserved_sign,
                                          const std::optional<std::string>& reference) {
  JISHI_ASSIGN_OR_RETURN(auto skus, per_sku(wants));
  std::vector<StockChange> changes;
  for (const auto& [sku, quantity] : skus) {
    JISHI_ASSIGN_OR_RETURN(auto c, move(tx, env, sku, kind, on_hand_sign * quantity,
                                        reserved_sign * quantity, reference, std::nullopt));
    changes.push_back(c);
  }
  return changes;
}

}  // namespace

Result<std::optional<Stock>> get_stock(store::Conn& conn, std::int64_t sku_id) {
  return conn.query_one(
      "SELECT " + std::string(kStockColumns) + " FROM inv_stock WHERE sku_id = $1", {sku_id},
      read_stock);
}

Result<std::vector<Stock>> get_stocks(store::Conn& conn, std::span<const std::int64_t> sku_ids) {
  std::vector<Stock> out;
  if (sku_ids.empty()) return out;
  std::string sql = "SELECT " + std::string(kStockColumns) + " FROM inv_stock WHERE sku_id IN (";
  std::vector<store::Param> params;
  params.reserve(sku_ids.size());
  for (std::size_t i = 0; i < sku_ids.size(); ++i) {
    sql += (i ? ", $" : "$") + std::to_string(i + 1);
    params.emplace_back(sku_ids[i]);
  }
  sql += ")";
  JISHI_TRY(conn.query(sql, params, [&](const store::Row& r) {
    out.push_back(read_stock(r));
    return true;
  }));
  return out;
}

Result<StockChange> set_on_hand(store::Tx& tx, Env& env, std::int64_t sku_id, OrgId seller,
                                std::int64_t on_hand, UserId actor, std::string_view note) {
  if (on_hand < 0 || on_hand > limits::stock_units_max)
    return fail(Code::validation_failed,
                "on_hand must be 0.." + std::to_string(limits::stock_units_max), "/on_hand");
  if (note.size() > limits::reason_bytes_max)
    return fail(Code::validation_failed, "note is too long", "/note");
  // The SKU's deferred reservations join the row first: the count is checked against them.
  std::int64_t deferred = deferred_of(tx, sku_id);
  if (deferred > 0) {
    JISHI_ASSIGN_OR_RETURN(
        auto updated, tx.exec("UPDATE inv_stock SET reserved = reserved + $2 WHERE sku_id = $1",
                              {sku_id, deferred}));
    if (updated != 1)
      return fail(Code::internal,
                  "deferred units of SKU " + std::to_string(sku_id) + " have no stock row");
    clear_deferred(tx, sku_id, deferred);
    if (auto* d = deferred_units(tx)) d->row_moved(sku_id, -deferred);
  }
  JISHI_ASSIGN_OR_RETURN(auto current, get_stock(tx, sku_id));
  std::optional<std::string> reference =
      note.empty() ? std::nullopt : std::optional<std::string>(note);
  if (!current) {
    JISHI_TRY(
        tx.exec("INSERT INTO inv_stock (sku_id, seller_id, on_hand, reserved, "
                "updated_at_us) VALUES ($1, $2, 0, 0, $3)",
                {sku_id, seller.value, env.clock.now_us()}));
    if (auto* d = deferred_units(tx)) d->row_is(sku_id, 0);
    current = Stock{sku_id, seller, 0, 0, 0};
  }
  if (current->seller != seller) return fail(Code::forbidden, "the SKU belongs to another seller");
  if (on_hand < current->reserved)
    return fail(Code::invalid_state,
                std::to_string(current->reserved) +
                    " units are reserved for unpaid orders; on_hand cannot go below that",
                "/on_hand");
  std::int64_t delta = on_hand - current->on_hand;
  if (delta == 0) return StockChange{sku_id, current->available(), current->available()};
  return move(tx, env, sku_id, "adjust", delta, 0, reference, actor.value);
}

Result<std::vector<StockChange>> reserve(store::Tx& tx, Env& env, std::span<const Want> wants) {
  // Lines sharing a SKU are summed before the check: two lines of 3 against 5 in stock fail.
  JISHI_ASSIGN_OR_RETURN(auto skus, per_sku(wants));
  DeferredUnits* deferred = deferred_units(tx);
  std::vector<StockChange> changes;
  std::vector<std::int64_t> short_skus;
  std::int64_t now = env.clock.now_us();
  const bool copies = deferred && deferred->copies_for(tx);
  for (const auto& [sku, quantity] : skus) {
    // The writer serialises transactions, so the units read here are the units there are. (A
    // read, then the write: in SQLite a RETURNING clause costs an ephemeral table per
    // statement, more than the extra primary-key read.) The writer's copy of the row, if it
    // has one, spares the read.
    std::optional<std::int64_t> available;
    if (const std::int64_t* row = copies ? deferred->row(sku) : nullptr) {
      available = *row;
    } else {
      JISHI_ASSIGN_OR_RETURN(
          available, tx.query_one("SELECT on_hand - reserved FROM inv_stock WHERE sku_id = $1",
                                  {sku}, [](const store::Row& r) { return r.i64(0); }));
      if (available && copies) deferred->fill(sku, *available);
    }
    if (available && deferred) *available -= deferred->of(sku);
    if (!available || *available < quantity) {
      short_skus.push_back(sku);
      continue;
    }
    if (!short_skus.empty()) continue;  // failing anyway
    if (deferred) {
      // Held in the writer's memory until the next fold; the fold's UPDATE meets the table's
      // CHECKs (reserved <= on_hand).
      deferred->add(sku, quantity);
    } else {
      // The UPDATE still carries the guard (and the table its CHECKs).
      JISHI_ASSIGN_OR_RETURN(
          auto updated, tx.exec("UPDATE inv_stock SET reserved = reserved + $2, updated_at_us = $3 "
                                "WHERE sku_id = $1 AND on_hand - reserved >= $2",
                                {sku, quantity, now}));
      if (updated != 1)
        return fail(Code::internal, "the stock guard refused a checked reservation");
    }
    changes.push_back({sku, *available, *available - quantity});
  }
  if (!short_skus.empty()) {
    std::string list;
    for (auto s : short_skus) list += (list.empty() ? "" : ", ") + std::to_string(s);
    return fail(Code::insufficient_stock, "not enough stock for SKU " + list);
  }
  return changes;
}

Result<std::vector<StockChange>> convert(store::Tx& tx, Env& env, std::int64_t order_id,
                                         std::span<const Want> wants) {
  return move_all(tx, env, wants, "convert", -1, -1, std::to_string(order_id));
}

Result<std::vector<StockChange>> release(store::Tx& tx, Env& env, std::span<const Want> wants) {
  return move_all(tx, env, wants, "release", 0, -1, std::nullopt);
}

Result<std::vector<StockChange>> restock(store::Tx& tx, Env& env, std::int64_t order_id,
                                         std::span<const Want> wants) {
  return move_all(tx, env, wants, "restock", 1, 0, std::to_string(order_id));
}

Result<Page<Movement>> movements(store::Conn& conn, std::int64_t sku_id, std::int64_t before,
                                 std::size_t limit) {
  Page<Movement> page;
  JISHI_TRY(conn.query(
      "SELECT id, sku_id, kind, delta_on_hand, delta_reserved, reference, actor_id, at_us "
      "FROM inv_movements WHERE sku_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
      {sku_id, before > 0 ? before : INT64_MAX, static_cast<std::int64_t>(limit + 1)},
      [&](const store::Row& r) {
        page.items.push_back({r.i64(0), r.i64(1), r.str(2), r.i64(3), r.i64(4), r.opt_str(5),
                              r.opt_i64(6), r.i64(7)});
        return true;
      }));
  trim_page(page, limit, [](const Movement& m) { return m.id; });
  return page;
}

Result<VerifyReport> verify(store::Conn& conn, std::string_view holds_sql, bool no_writer) {
  VerifyReport report;
  // On the writer's connection the deferred units count as reserved (and must match exactly).
  const DeferredUnits* deferred = deferred_units(conn);
  const bool exact = deferred || no_writer;
  // The units held per SKU, summed in one pass over the holders first: the holds' SQL may make
  // its columns from its rows (order lines are JSON), which a join would evaluate again for
  // every stock row. A hold that names no SKU or quantity is a problem of its own.
  std::unordered_map<std::int64_t, std::int64_t> held_of;
  std::int64_t malformed = 0;
  JISHI_TRY(conn.query("SELECT sku_id, quantity FROM (" + std::string(holds_sql) + ") AS held", {},
                       [&](const store::Row& r) {
                         if (r.is_null(0) || r.is_null(1)) {
                           ++malformed;
                           return true;
                         }
                         held_of[r.i64(0)] += r.i64(1);
                         return true;
                       }));
  if (malformed > 0)
    report.problems.push_back(std::to_string(malformed) +
                              " lines of unpaid orders name no SKU or quantity");
  // Then one pass: the stock rows joined with their journal sums, summed per SKU in one grouped
  // scan.
  JISHI_TRY(conn.query(
      "SELECT s.sku_id, s.on_hand, s.reserved, COALESCE(m.on_hand, 0) "
      "FROM inv_stock s "
      "LEFT JOIN (SELECT sku_id, SUM(delta_on_hand) AS on_hand FROM inv_movements "
      "GROUP BY sku_id) m ON m.sku_id = s.sku_id ORDER BY s.sku_id",
      {}, [&](const store::Row& r) {
        ++report.skus;
        auto h = held_of.find(r.i64(0));
        std::int64_t sku = r.i64(0), on_hand = r.i64(1), held = h == held_of.end() ? 0 : h->second;
        std::int64_t reserved = r.i64(2) + (deferred ? deferred->of(sku) : 0);
        auto say = [&](const std::string& what) {
          if (report.problems.size() < limits::verify_problems_max)
            report.problems.push_back("SKU " + std::to_string(sku) + ": " + what);
        };
        if (on_hand < 0 || reserved < 0 || reserved > on_hand)
          say("on_hand " + std::to_string(on_hand) + ", reserved " + std::to_string(reserved) +
              " break 0 <= reserved <= on_hand");
        if (r.i64(3) != on_hand)
          say("journal sums to " + std::to_string(r.i64(3)) + " units on hand, the stock says " +
              std::to_string(on_hand));
        if (held > on_hand)
          say("unpaid orders hold " + std::to_string(held) + " units, more than the " +
              std::to_string(on_hand) + " on hand");
        if (held < reserved || (exact && held != reserved)) {
          say("unpaid orders hold " + std::to_string(held) + " units, the stock says " +
              std::to_string(reserved) + " are reserved" +
              (held > reserved && !deferred
                   ? " (no server is running: the last one stopped without folding its deferred "
                     "reservations, and the next start restores them)"
                   : ""));
        } else if (held > reserved) {
          report.deferred_units += held - reserved;  // not folded yet (outside the writer)
          ++report.deferred_skus;
        }
        return true;
      }));
  JISHI_ASSIGN_OR_RETURN(auto n, conn.query_one("SELECT COUNT(*) FROM inv_movements", {},
                                                [](const store::Row& r) { return r.i64(0); }));
  report.movements = n.value_or(0);
  JISHI_TRY(conn.query(
      "SELECT DISTINCT m.sku_id FROM inv_movements m LEFT JOIN inv_stock s ON s.sku_id = m.sku_id "
      "WHERE s.sku_id IS NULL LIMIT 10",
      {}, [&](const store::Row& r) {
        report.problems.push_back("SKU " + std::to_string(r.i64(0)) +
                                  ": journal entries without a stock record");
        return true;
      }));
  return report;
}

namespace {
// An idle writer folds at the end of a batch when no more commands than this ran since the
// last fold: the fold is small then, and light load sees every reservation at once.
constexpr std::size_t kSmallFoldCommands = 8;

std::int64_t steady_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

ReservationDeferral::ReservationDeferral(std::string holds_sql, const Clock& clock,
                                         std::int64_t fold_interval_us, std::int64_t idle_delay_us)
    : holds_sql_(std::move(holds_sql)),
      clock_(clock),
      fold_interval_us_(fold_interval_us),
      idle_delay_us_(idle_delay_us),
      deferred_(std::make_shared<DeferredUnits>()) {}

ReservationDeferral::~ReservationDeferral() = default;

Status ReservationDeferral::prepare(store::Conn& conn) {
  // The sums of what unpaid orders hold go through a TEMP table of the connection. Strict and
  // keyed by value: a hold whose SKU or quantity is not an integer (a malformed line) fails
  // the restore instead of landing on a rowid SQLite would make up for it.
  JISHI_TRY(conn.exec_script(
      "CREATE TEMP TABLE IF NOT EXISTS inv_held (sku_id INTEGER NOT NULL PRIMARY KEY, "
      "n INTEGER NOT NULL CHECK (n > 0)) STRICT, WITHOUT ROWID"));
  // reserved := the units unpaid orders hold, where it differs (after a crash, by the units
  // that had not been folded). The TEMP table ends empty.
  static constexpr const char* kHeldOfRow =
      "(SELECT n FROM temp.inv_held h WHERE h.sku_id = inv_stock.sku_id)";
  std::int64_t restored = 0;
  Status done = store::run_in_transaction(conn, [&]() -> Status {
    std::int64_t now = clock_.now_us();
    JISHI_TRY(conn.exec("DELETE FROM temp.inv_held"));
    JISHI_TRY(
        conn.exec("INSERT INTO temp.inv_held (sku_id, n) SELECT sku_id, SUM(quantity) "
                  "FROM (" +
                  holds_sql_ + ") AS held GROUP BY sku_id"));
    JISHI_ASSIGN_OR_RETURN(
        auto cleared,
        conn.exec("UPDATE inv_stock SET reserved = 0, updated_at_us = $1 WHERE reserved <> 0 "
                  "AND sku_id NOT IN (SELECT sku_id FROM temp.inv_held)",
                  {now}));
    JISHI_ASSIGN_OR_RETURN(
        auto set,
        conn.exec(std::string("UPDATE inv_stock SET reserved = ") + kHeldOfRow +
                      ", updated_at_us = $1 WHERE sku_id IN (SELECT sku_id FROM temp.inv_held) "
                      "AND reserved <> " +
                      kHeldOfRow,
                  {now}));
    JISHI_TRY(conn.exec("DELETE FROM temp.inv_held"));
    restored = cleared + set;
    return {};
  });
  if (!done)
    return fail(done.error().code,
                "cannot restore the reserved units of unpaid orders (run `jishi verify stock`): " +
                    done.error().detail);
  restored_skus_ = restored;
  if (restored_skus_ > 0)
    spdlog::warn(
        "inventory: restored the reserved units of {} SKUs from unpaid orders (the last run "
        "stopped without folding its deferred reservations)",
        restored_skus_);
  deferred_->units.clear();
  deferred_->undo.clear();
  JISHI_TRY(load_rows(conn));
  deferred_->sized();
  conn.attach(kDeferredReservations, deferred_);
  last_fold_us_ = steady_us();
  return {};
}

Status ReservationDeferral::load_rows(store::Conn& conn) {
  // Up to three quarters of the limit (the rest for rows read later), in key order, in one
  // transaction, which no other connection can commit in.
  deferred_->rows.clear();
  deferred_->others_committed = conn.others_committed();
  if (!deferred_->others_committed) return {};  // an engine that cannot tell: no copies
  Status loaded = store::run_in_transaction(conn, [&]() -> Status {
    deferred_->others_committed = conn.others_committed();  // as of this transaction
    std::size_t wanted = limits::stock_cache_entries_max / 4 * 3;
    return conn.query("SELECT sku_id, on_hand - reserved FROM inv_stock ORDER BY sku_id LIMIT $1",
                      {static_cast<std::int64_t>(wanted)}, [&](const store::Row& r) {
                        deferred_->rows.emplace(r.i64(0), r.i64(1));
                        return true;
                      });
  });
  if (!loaded) deferred_->rows.clear();
  return loaded;
}

bool ReservationDeferral::due(store::Conn&, std::size_t commands, bool idle, bool stopping) {
  slice_ = false;
  if (commands == 0 || stopping) {
    // The writer has been idle a while after a batch, or stops: fold whatever is deferred.
    if (deferred_->units.empty()) {
      commands_since_fold_ = 0;  // nothing deferred: as good as a fold
      return false;
    }
    return true;
  }
  // Light load, where few commands ran since the last full fold, folds everything at once, so
  // that readers see every reservation as soon as it is answered; such a fold is small.
  commands_since_fold_ += commands;
  if (idle && commands_since_fold_ <= kSmallFoldCommands) return true;
  // Under load, folding everything whenever the queue runs empty would write the stock pages
  // every few batches (a uniform checkout dirties ~1.4 random pages; at 64 connections a batch
  // of one leaves the queue empty one time in eight), and folding everything once a second
  // would stall one batch for the whole table. So every batch folds the next slice of the
  // SKUs in key order, sized to pass over all of them once per interval: each stock page is
  // written about once per interval, a few pages per batch.
  slice_ = true;
  return true;
}

std::vector<std::pair<std::int64_t, std::int64_t>> ReservationDeferral::take(
    std::int64_t from, std::size_t count) const {
  std::vector<std::pair<std::int64_t, std::int64_t>> slice;
  for (auto it = deferred_->units.lower_bound(from);
       it != deferred_->units.end() && slice.size() < count; ++it)
    slice.emplace_back(*it);
  return slice;
}

Status ReservationDeferral::fold(store::Tx& tx,
                                 std::span<const std::pair<std::int64_t, std::int64_t>> slice) {
  // One primary-key UPDATE per SKU (what the TEMP table's fold did per row, without the table).
  std::int64_t now = clock_.now_us();
  for (const auto& [sku, n] : slice) {
    JISHI_ASSIGN_OR_RETURN(
        auto updated, tx.exec("UPDATE inv_stock SET reserved = reserved + $2, updated_at_us = $3 "
                              "WHERE sku_id = $1",
                              {sku, n, now}));
    // Units are deferred only against a stock row, and none is ever deleted; should one be
    // missing, its units have nowhere to go (`jishi verify stock` then names the SKU).
    if (updated != 1)
      spdlog::error("inventory: {} deferred units of SKU {} have no stock row", n, sku);
    deferred_->add(sku, -n);  // undone with the hook's savepoint if the fold fails
    deferred_->row_moved(sku, -n);
  }
  return {};
}

Status ReservationDeferral::run(store::Tx& tx) {
  std::int64_t now = steady_us();
  std::int64_t elapsed = now - last_fold_us_;
  last_fold_us_ = now;
  if (!slice_) {
    commands_since_fold_ = 0;
    return fold(tx, take(INT64_MIN, deferred_->units.size()));
  }
  slice_ = false;
  auto n = static_cast<std::int64_t>(deferred_->units.size());
  if (n == 0) return {};
  std::int64_t k = std::clamp<std::int64_t>(
      (n * std::max<std::int64_t>(elapsed, 0) + fold_interval_us_ - 1) / fold_interval_us_, 1, n);
  // The next k SKUs from where the sweep stands; fewer than k ahead: to the end, then wrap.
  auto slice = take(sweep_from_, static_cast<std::size_t>(k));
  bool full = slice.size() == static_cast<std::size_t>(k);
  sweep_from_ = full && slice.back().first < INT64_MAX ? slice.back().first + 1 : 0;
  return fold(tx, slice);
}

std::size_t ReservationDeferral::mark() {
  return deferred_->undo.size();
}

void ReservationDeferral::undo_to(std::size_t mark) {
  deferred_->undo_to(mark);
  deferred_->sized();
}

void ReservationDeferral::committed() {
  deferred_->undo.clear();
  deferred_->sized();
}

std::int64_t ReservationDeferral::deferred_units(std::int64_t sku) const {
  return deferred_->of(sku);
}

std::size_t ReservationDeferral::deferred_skus() const {
  return deferred_->units.size();
}

ReservationDeferral::RowCopies ReservationDeferral::row_copies() const {
  return {deferred_->rows.size(), deferred_->counters->row_hits.value(),
          deferred_->counters->row_misses.value()};
}

void ReservationDeferral::publish_metrics(metrics::Registry& registry) const {
  std::shared_ptr<const DeferredUnits::Counters> c = deferred_->counters;
  registry.counter_read("jishi_stock_copies_lookups_total",
                        "Stock rows a reservation found in the writer's copies (hit) or read "
                        "(miss)",
                        "result=\"hit\"", [c] { return c->row_hits.value(); });
  registry.counter_read("jishi_stock_copies_lookups_total", "", "result=\"miss\"",
                        [c] { return c->row_misses.value(); });
  registry.gauge("jishi_stock_copies_entries",
                 "Stock rows whose availability the writer keeps a copy of (at a batch's end)", "",
                 [c] { return static_cast<double>(c->rows.load(std::memory_order_relaxed)); });
  registry.gauge(
      "jishi_stock_deferred_skus",
      "SKUs with reserved units the writer holds and has not folded into inv_stock yet (at a "
      "batch's end)",
      "", [c] { return static_cast<double>(c->deferred_skus.load(std::memory_order_relaxed)); });
}

std::optional<std::int64_t> ReservationDeferral::row_copy(const store::Conn& conn,
                                                          std::int64_t sku) const {
  if (!deferred_->copies_current(conn)) return std::nullopt;
  auto it = deferred_->rows.find(sku);
  if (it == deferred_->rows.end()) return std::nullopt;
  return it->second;
}

}  // namespace jishi::inventory
