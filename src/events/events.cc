#include "events/events.h"

#include <algorithm>
#include <boost/json.hpp>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "core/limits.h"
#include "core/registry.h"
#include "store/watched_cache.h"

namespace jishi::events {

namespace {

constexpr std::string_view kColumns = "id, org_id, type, subject, data, created_at_us";

Event read(const store::Row& r) {
  Event e;
  e.id = EventId{r.i64(0)};
  if (!r.is_null(1)) e.org = OrgId{r.i64(1)};
  e.type = r.str(2);
  e.subject = r.str(3);
  e.data_json = r.str(4);
  e.created_at_us = r.i64(5);
  return e;
}

// The renderers of the types whose data is made when read (render_on_read).
NamedRegistry<DataRenderer>& renderers() {
  static NamedRegistry<DataRenderer> r;
  return r;
}

// The sources of implied events (imply_events), by type.
NamedRegistry<ImpliedEvents>& sources() {
  static NamedRegistry<ImpliedEvents> s;
  return s;
}

// The first id a type's source implies: events of the type before it were stored.
Result<std::int64_t> implied_from(store::Conn& conn, std::string_view type) {
  JISHI_ASSIGN_OR_RETURN(auto from,
                         conn.query_one("SELECT from_id FROM ev_implied WHERE type = $1", {type},
                                        [](const store::Row& r) { return r.i64(0); }));
  return from.value_or(0);
}

// An event stored without data gets it from its type's renderer.
Status fill_data(store::Conn& conn, Event& e) {
  if (!e.data_json.empty()) return {};
  auto render = renderers().find(e.type);
  if (!render) return fail(Code::internal, "no renderer for the data of " + e.type + " events");
  JISHI_ASSIGN_OR_RETURN(e.data_json, (*render)(conn, e));
  return {};
}

Status check(const NewEvent& e) {
  bool ok_type = !e.type.empty() && e.type.size() <= limits::event_type_bytes_max;
  for (char c : e.type) ok_type = ok_type && ((c >= 'a' && c <= 'z') || c == '_' || c == '.');
  if (!ok_type) return fail(Code::internal, "bad event type " + e.type);
  if (e.rendered_on_read) {
    if (!e.data_json.empty())
      return fail(Code::internal, "an event rendered on read stores no data: " + e.type);
    return {};
  }
  if (e.data_json.size() > limits::event_data_bytes_max)
    return fail(Code::internal, "event data of " + e.type + " is too large");
  if (e.data_json.empty() || e.data_json.front() != '{')
    return fail(Code::internal, "event data must be a JSON object");
  return {};
}

Result<EventId> insert(store::Tx& tx, Env& env, const NewEvent& e) {
  JISHI_TRY(check(e));
  EventId id{env.ids.next()};
  std::optional<std::int64_t> org;
  if (e.org) org = e.org->value;
  JISHI_TRY(
      tx.exec("INSERT INTO ev_events (id, org_id, type, subject, data, created_at_us) "
              "VALUES ($1, $2, $3, $4, $5, $6)",
              {id.value, org, e.type, e.subject, e.data_json, env.clock.now_us()}));
  return id;
}

}  // namespace

namespace {
// The writer's memory of the sellers' enabled webhooks (prepare_webhook_cache), by
// organisation, exact by store::TableWatch on ev_webhooks (dropped whenever a webhook comes,
// goes or changes, a transaction is rolled back, or another connection commits).
constexpr std::string_view kWebhookCache = "events.webhook_cache";
using Webhooks = std::vector<std::pair<std::int64_t, std::string>>;  // id, event_types
using WebhookCache = store::WatchedCache<std::int64_t, std::shared_ptr<const Webhooks>>;

Result<std::shared_ptr<const Webhooks>> webhooks_of(store::Tx& tx, OrgId org) {
  auto* cache = WebhookCache::of(tx, kWebhookCache);
  if (cache)
    if (const auto* kept = cache->find(org.value)) return *kept;
  auto found = std::make_shared<Webhooks>();
  JISHI_TRY(tx.query("SELECT id, event_types FROM ev_webhooks WHERE org_id = $1 AND enabled = 1",
                     {org.value}, [&](const store::Row& r) {
                       found->emplace_back(r.i64(0), r.str(1));
                       return true;
                     }));
  if (cache) cache->keep(org.value, found);
  return found;
}
}  // namespace

Status prepare_webhook_cache(store::Conn& conn) {
  return WebhookCache::prepare(conn, kWebhookCache, "ev_webhooks", {},
                               limits::webhook_cache_orgs_max);
}

namespace {
// One delivery per enabled webhook of the org subscribed to the type ("*" or the type among its
// list).
Status queue_deliveries(store::Tx& tx, Env& env, OrgId org, std::string_view type, EventId id) {
  std::int64_t now = env.clock.now_us();
  JISHI_ASSIGN_OR_RETURN(auto webhooks, webhooks_of(tx, org));
  std::vector<std::int64_t> hooks;
  for (const auto& [hook, event_types] : *webhooks) {
    std::string types = " " + event_types + " ";
    if (types == " * " || types.find(" " + std::string(type) + " ") != std::string::npos)
      hooks.push_back(hook);
  }
  for (auto hook : hooks)
    JISHI_TRY(
        tx.exec("INSERT INTO ev_deliveries (id, webhook_id, event_id, status, attempts, "
                "next_attempt_at_us, created_at_us) VALUES ($1, $2, $3, 'pending', 0, $4, "
                "$4)",
                {env.ids.next(), hook, id.value, now}));
  return {};
}
}  // namespace

Result<EventId> publish(store::Tx& tx, Env& env, const NewEvent& e) {
  JISHI_ASSIGN_OR_RETURN(auto id, insert(tx, env, e));
  if (e.org) JISHI_TRY(queue_deliveries(tx, env, *e.org, e.type, id));
  return id;
}

Status publish_implied(store::Tx& tx, Env& env, const Event& e) {
  if (!sources().find(e.type) || !e.org || !e.id)
    return fail(Code::internal, "no source implies " + e.type + " events for an organisation");
  return queue_deliveries(tx, env, *e.org, e.type, e.id);
}

Result<EventId> publish_to(store::Tx& tx, Env& env, const NewEvent& e, std::int64_t webhook_id) {
  JISHI_ASSIGN_OR_RETURN(auto id, insert(tx, env, e));
  std::int64_t now = env.clock.now_us();
  JISHI_TRY(
      tx.exec("INSERT INTO ev_deliveries (id, webhook_id, event_id, status, attempts, "
              "next_attempt_at_us, created_at_us) VALUES ($1, $2, $3, 'pending', 0, $4, $4)",
              {env.ids.next(), webhook_id, id.value, now}));
  return id;
}

void render_on_read(const std::string& type, DataRenderer renderer) {
  renderers().set(type, renderer);
}

Result<std::optional<Event>> find_implied(store::Conn& conn, EventId id) {
  for (const auto& [type, source] : sources().all()) {
    JISHI_ASSIGN_OR_RETURN(auto from, implied_from(conn, type));
    if (id.value < from) continue;
    JISHI_ASSIGN_OR_RETURN(auto e, source.find(conn, id));
    if (e) return e;
  }
  return std::optional<Event>{};
}

void imply_events(const std::string& type, ImpliedEvents source) {
  sources().set(type, source);
}

Result<std::optional<Event>> get_event(store::Conn& conn, EventId id) {
  JISHI_ASSIGN_OR_RETURN(
      auto e, conn.query_one("SELECT " + std::string(kColumns) + " FROM ev_events WHERE id = $1",
                             {id.value}, read));
  if (!e) {
    JISHI_ASSIGN_OR_RETURN(e, find_implied(conn, id));
  }
  if (e) JISHI_TRY(fill_data(conn, *e));
  return e;
}

Result<Page<Event>> events_after(store::Conn& conn, OrgId org, std::int64_t after,
                                 const std::optional<std::string>& type, std::size_t limit) {
  Page<Event> page;
  if (after == std::numeric_limits<std::int64_t>::max()) return page;  // nothing comes after
  // The stored and the implied events on one snapshot: read one after the other without it, a
  // commit in between could show a newer implied event and hide an older stored one, and a
  // consumer whose cursor then passed it would never see it.
  JISHI_ASSIGN_OR_RETURN(auto snapshot, store::ReadSnapshot::begin(conn));
  // A type that its source implies is stored only before its cutover.
  std::int64_t stored_below = std::numeric_limits<std::int64_t>::max();
  std::vector<std::pair<ImpliedEvents, std::int64_t>> implied_sources;  // and their cutovers
  for (const auto& [source_type, source] : sources().all()) {
    if (type && *type != source_type) continue;
    JISHI_ASSIGN_OR_RETURN(auto from, implied_from(conn, source_type));
    if (type) stored_below = from;
    implied_sources.emplace_back(source, from);
  }
  std::string sql = "SELECT " + std::string(kColumns) +
                    " FROM ev_events WHERE org_id = $1 AND id > $2 AND id < $4" +
                    (type ? " AND type = $5" : "") + " ORDER BY id LIMIT $3";
  auto on_row = [&](const store::Row& r) {
    page.items.push_back(read(r));
    return true;
  };
  if (after + 1 < stored_below) {
    if (type)
      JISHI_TRY(conn.query(
          sql, {org.value, after, static_cast<std::int64_t>(limit + 1), stored_below, *type},
          on_row));
    else
      JISHI_TRY(conn.query(
          sql, {org.value, after, static_cast<std::int64_t>(limit + 1), stored_below}, on_row));
  }
  // Merged with the implied events in id order: each source's first limit + 1 after the
  // cursor (and from its cutover on) are enough for the page and whether there is another.
  bool merged = false;
  for (const auto& [source, from] : implied_sources) {
    JISHI_ASSIGN_OR_RETURN(auto implied,
                           source.from(conn, org, std::max(after + 1, from), limit + 1));
    for (auto& e : implied) page.items.push_back(std::move(e));
    merged = merged || !implied.empty();
  }
  if (merged) {
    std::sort(page.items.begin(), page.items.end(),
              [](const Event& a, const Event& b) { return a.id < b.id; });
    if (page.items.size() > limit + 1) page.items.resize(limit + 1);
  }
  trim_page(page, limit, [](const Event& e) { return e.id.value; });
  for (auto& e : page.items) JISHI_TRY(fill_data(conn, e));
  return page;
}

std::string event_envelope(const Event& e) {
  // The data was serialised by the publisher; splice it in rather than re-parse it.
  boost::json::object head;
  head["id"] = std::to_string(e.id.value);
  head["type"] = e.type;
  head["created_at"] = format_rfc3339(e.created_at_us);
  head["org_id"] = e.org ? boost::json::value(std::to_string(e.org->value)) : nullptr;
  head["subject"] = e.subject;
  std::string out = json_to_string(head);
  out.pop_back();
  out += ",\"data\":";
  out += e.data_json;
  out += "}";
  return out;
}

}  // namespace jishi::events
