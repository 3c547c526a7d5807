#include "audit/audit.h"

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <limits>

#include "audit/merkle.h"
#include "core/json.h"

namespace jishi::audit {

namespace json = boost::json;

std::string head_text(std::int64_t tree_size, std::int64_t at_us, std::string_view root_hex) {
  return "jishi-audit-head/1\n" + std::to_string(tree_size) + "\n" + std::to_string(at_us) + "\n" +
         std::string(root_hex) + "\n";
}

namespace {

constexpr std::size_t kDataBytesMax = 8192;

Entry read_entry(const store::Row& r) {
  return {r.i64(0), r.i64(1), r.str(2), r.opt_i64(3), r.str(4), r.str(5)};
}

Head read_head(const store::Row& r) {
  return {r.i64(0), r.i64(1), r.str(2), r.str(3), r.str(4), r.str(5)};
}

#define AUDIT_ENTRY_COLUMNS "idx, at_us, kind, actor, entry, leaf_hash"
#define AUDIT_HEAD_COLUMNS "tree_size, at_us, root_hash, algorithm, signer_serial, signature"

Result<std::int64_t> tree_size(store::Conn& conn) {
  JISHI_ASSIGN_OR_RETURN(auto n,
                         conn.query_one("SELECT COALESCE(MAX(idx), -1) + 1 FROM audit_entries", {},
                                        [](const store::Row& r) { return r.i64(0); }));
  return n.value_or(0);
}

Result<std::vector<merkle::Hash>> leaf_hashes(store::Conn& conn, std::int64_t n) {
  std::vector<merkle::Hash> out;
  out.reserve(static_cast<std::size_t>(n));
  bool bad = false;
  JISHI_TRY(conn.query("SELECT leaf_hash FROM audit_entries WHERE idx < $1 ORDER BY idx", {n},
                       [&](const store::Row& r) {
                         auto h = merkle::from_hex(r.text(0));
                         if (!h) bad = true;
                         out.push_back(h.value_or(merkle::Hash{}));
                         return !bad;
                       }));
  if (bad) return fail(Code::storage_failure, "a stored leaf hash is damaged");
  if (static_cast<std::int64_t>(out.size()) != n)
    return fail(Code::storage_failure, "the audit log has a gap");
  return out;
}

std::vector<std::string> hexes(const std::vector<merkle::Hash>& hs) {
  std::vector<std::string> out;
  for (const auto& h : hs) out.push_back(merkle::to_hex(h));
  return out;
}

}  // namespace

namespace {
std::atomic<std::int64_t> g_money_threshold{1'000'000};
}

void set_money_threshold(std::int64_t minor_units) {
  g_money_threshold = minor_units;
}
std::int64_t money_threshold() {
  return g_money_threshold.load(std::memory_order_relaxed);
}

Result<std::int64_t> append(store::Tx& tx, const Clock& clock, std::string_view kind,
                            std::optional<std::int64_t> actor, std::string_view data_json) {
  if (kind.empty() || kind.size() > 64) return fail(Code::internal, "bad audit kind");
  if (data_json.size() > kDataBytesMax) return fail(Code::internal, "audit data too large");
  JISHI_ASSIGN_OR_RETURN(auto data, parse_json(data_json));
  if (!data.is_object()) return fail(Code::internal, "audit data is a JSON object");
  JISHI_ASSIGN_OR_RETURN(auto idx, tree_size(tx));
  std::int64_t now = clock.now_us();
  json::object e;
  e["idx"] = idx;
  e["at_us"] = now;
  e["kind"] = kind;
  e["actor"] = actor ? json::value(std::to_string(*actor)) : json::value(nullptr);
  e["data"] = std::move(data);
  std::string text = json::serialize(e);
  std::string leaf = merkle::to_hex(merkle::leaf_hash(text));
  JISHI_TRY(
      tx.exec("INSERT INTO audit_entries (idx, at_us, kind, actor, entry, leaf_hash) "
              "VALUES ($1, $2, $3, $4, $5, $6)",
              {idx, now, kind, actor, text, leaf}));
  return idx;
}

Result<Page<Entry>> list_entries(store::Conn& conn, std::int64_t after,
                                 std::optional<std::string> kind, std::size_t limit) {
  Page<Entry> page;
  JISHI_TRY(conn.query("SELECT " AUDIT_ENTRY_COLUMNS
                       " FROM audit_entries WHERE idx > $1 AND ($2 IS NULL OR kind = $2) "
                       "ORDER BY idx LIMIT $3",
                       {after, kind, static_cast<std::int64_t>(limit + 1)},
                       [&](const store::Row& r) {
                         page.items.push_back(read_entry(r));
                         return true;
                       }));
  trim_page(page, limit, [](const Entry& e) { return e.idx; });
  return page;
}

Result<Entry> get_entry(store::Conn& conn, std::int64_t idx) {
  JISHI_ASSIGN_OR_RETURN(
      auto row, conn.query_one("SELECT " AUDIT_ENTRY_COLUMNS " FROM audit_entries WHERE idx = $1",
                               {idx}, read_entry));
  if (!row) return fail(Code::not_found, "no such audit entry");
  return *row;
}

Result<std::optional<Head>> latest_head(store::Conn& conn) {
  return conn.query_one("SELECT " AUDIT_HEAD_COLUMNS
                        " FROM audit_heads ORDER BY tree_size DESC LIMIT 1",
                        {}, read_head);
}

Result<Head> get_head(store::Conn& conn, std::int64_t size) {
  JISHI_ASSIGN_OR_RETURN(auto row, conn.query_one("SELECT " AUDIT_HEAD_COLUMNS
                                                  " FROM audit_heads WHERE tree_size = $1",
                                                  {size}, read_head));
  if (!row) return fail(Code::not_found, "no signed head for that tree size");
  return *row;
}

Result<std::vector<Head>> list_heads(store::Conn& conn, std::int64_t before, std::size_t limit) {
  std::vector<Head> out;
  JISHI_TRY(conn.query("SELECT " AUDIT_HEAD_COLUMNS
                       " FROM audit_heads WHERE tree_size < $1 ORDER BY tree_size DESC LIMIT $2",
                       {before > 0 ? before : std::numeric_limits<std::int64_t>::max(),
                        static_cast<std::int64_t>(limit)},
                       [&](const store::Row& r) {
                         out.push_back(read_head(r));
                         return true;
                       }));
  return out;
}

Result<std::vector<std::string>> inclusion_proof(store::Conn& conn, std::int64_t idx,
                                                 std::int64_t size) {
  JISHI_TRY(get_head(conn, size));
  if (idx < 0 || idx >= size)
    return fail(Code::validation_failed, "the entry is not in a tree of that size", "/index");
  JISHI_ASSIGN_OR_RETURN(auto leaves, leaf_hashes(conn, size));
  return hexes(merkle::inclusion_proof(leaves, static_cast<std::uint64_t>(idx)));
}

Result<std::vector<std::string>> consistency_proof(store::Conn& conn, std::int64_t first,
                                                   std::int64_t second) {
  JISHI_TRY(get_head(conn, first));
  JISHI_TRY(get_head(conn, second));
  if (first < 1 || first > second)
    return fail(Code::validation_failed, "first must be between 1 and second", "/first");
  JISHI_ASSIGN_OR_RETURN(auto leaves, leaf_hashes(conn, second));
  return hexes(merkle::consistency_proof(leaves, static_cast<std::uint64_t>(first)));
}

Result<std::optional<Head>> make_head(store::Conn& conn, const Env& env, const HeadSigner& signer) {
  JISHI_ASSIGN_OR_RETURN(auto n, tree_size(conn));
  JISHI_ASSIGN_OR_RETURN(auto last, latest_head(conn));
  if (n == 0 || (last && last->tree_size >= n)) return std::optional<Head>();
  JISHI_ASSIGN_OR_RETURN(auto leaves, leaf_hashes(conn, n));
  Head h;
  h.tree_size = n;
  h.at_us = env.clock.now_us();
  h.root_hash = merkle::to_hex(merkle::root(leaves));
  JISHI_ASSIGN_OR_RETURN(auto sig, signer(head_text(h.tree_size, h.at_us, h.root_hash)));
  h.algorithm = sig.algorithm;
  h.signer_serial = sig.signer_serial;
  h.signature = sig.signature;
  return std::optional(h);
}

Status save_head(store::Tx& tx, const Head& h) {
  JISHI_TRY(tx.exec(
      "INSERT INTO audit_heads (tree_size, at_us, root_hash, algorithm, signer_serial, signature) "
      "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tree_size) DO NOTHING",
      {h.tree_size, h.at_us, h.root_hash, h.algorithm, h.signer_serial, h.signature}));
  return {};
}

Result<Report> verify_log(store::Conn& conn, const HeadVerifier& verifier) {
  Report rep;
  auto problem = [&](std::string p) {
    rep.ok = false;
    if (rep.problems.size() < 100) rep.problems.push_back(std::move(p));
  };
  // Every leaf: its hash from its text, its index inside the text, no gaps.
  merkle::Frontier frontier;
  std::vector<std::pair<std::int64_t, std::string>> roots;  // size -> root after it
  JISHI_ASSIGN_OR_RETURN(auto heads, list_heads(conn, 0, 1'000'000));
  std::sort(heads.begin(), heads.end(),
            [](const Head& a, const Head& b) { return a.tree_size < b.tree_size; });
  std::size_t next_head = 0;
  auto check_heads = [&](std::int64_t size) {
    while (next_head < heads.size() && heads[next_head].tree_size == size) {
      const Head& h = heads[next_head++];
      ++rep.heads;
      if (merkle::to_hex(frontier.root()) != h.root_hash)
        problem("head " + std::to_string(h.tree_size) + ": its root does not match the entries");
      if (!verifier(head_text(h.tree_size, h.at_us, h.root_hash), h.signer_serial, h.signature))
        problem("head " + std::to_string(h.tree_size) + ": its signature does not verify");
    }
  };
  std::int64_t expected = 0;
  JISHI_TRY(conn.query(
      "SELECT " AUDIT_ENTRY_COLUMNS " FROM audit_entries ORDER BY idx", {},
      [&](const store::Row& r) {
        Entry e = read_entry(r);
        if (e.idx != expected) {
          problem("entry " + std::to_string(expected) + " is missing");
          expected = e.idx;
        }
        auto h = merkle::leaf_hash(e.entry);
        if (merkle::to_hex(h) != e.leaf_hash)
          problem("entry " + std::to_string(e.idx) + ": its hash does not match its text");
        auto parsed = parse_json(e.entry);
        const json::object* o = parsed && parsed->is_object() ? &parsed->as_object() : nullptr;
        auto field_is = [&](std::string_view k, const json::value& v) {
          const json::value* f = o ? o->if_contains(k) : nullptr;
          return f && *f == v;
        };
        if (!field_is("idx", json::value(e.idx)) || !field_is("kind", json::value(e.kind)) ||
            !field_is("at_us", json::value(e.at_us)))
          problem("entry " + std::to_string(e.idx) + ": its text disagrees with its columns");
        frontier.append(h);
        ++rep.entries;
        ++expected;
        check_heads(expected);
        return true;
      }));
  check_heads(expected);
  if (next_head < heads.size())
    problem("head " + std::to_string(heads[next_head].tree_size) + " covers entries that are gone");
  return rep;
}

}  // namespace jishi::audit
