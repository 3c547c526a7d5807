// The outbox: every business event (order.paid, order.shipped, ...) is appended in the same
// transaction as the state change it reports, so an event exists iff the change committed.
// Merchants receive their events by signed webhooks (webhooks.h) or pull them by cursor.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/ids.h"
#include "core/page.h"
#include "core/result.h"
#include "store/database.h"

namespace jishi::events {

using EventId = Id<struct EventTag>;

struct NewEvent {
  std::string type;          // "order.paid": [a-z_.], <= 64 bytes
  std::optional<OrgId> org;  // the organisation it concerns (webhooks and the pull API)
  std::string subject;       // what it is about, e.g. the order id as decimal text
  std::string data_json;     // the event's JSON object, serialised (<= event_data_bytes_max)
  // No data stored: the type's renderer (render_on_read) makes it from `subject` whenever the
  // event is read. Only for data that is a function of rows that never change after the event
  // (order.created: the order's totals and lines, its statuses as they start); data_json stays
  // empty.
  bool rendered_on_read = false;
};

struct Event {
  EventId id;
  std::optional<OrgId> org;
  std::string type, subject, data_json;
  std::int64_t created_at_us = 0;
};

// Makes the data of an event of `type` published with rendered_on_read, on the reader's
// connection. Registered once at start (app runtime; tests that read such events); reading
// such an event of a type with no renderer fails (Code::internal) rather than invent data.
using DataRenderer = Result<std::string> (*)(store::Conn& conn, const Event& event);
void render_on_read(const std::string& type, DataRenderer renderer);

// Events implied by rows another module owns and never changes, one per row (order.created:
// one per order, from the order row): nothing is stored in the outbox for them. The pull API
// and webhook deliveries read them from their source, merged with the stored events in id
// order (their ids come from the same generator as the events'). Only ids from the type's
// cutover on are implied (ev_implied.from_id, above every id stored when it was set: events
// of that type before it were stored, are read as stored, and none is stored from it on; a
// typed page reads the stored ones only below it). Registered once at start
// (flows::register_on_read), with the data made by the type's renderer (render_on_read).
struct ImpliedEvents {
  // The org's events of this type with from <= id, oldest first, at most `limit`; their
  // data_json left empty.
  Result<std::vector<Event>> (*from)(store::Conn& conn, OrgId org, std::int64_t from,
                                     std::size_t limit) = nullptr;
  // The event with this id, if the source implies one.
  Result<std::optional<Event>> (*find)(store::Conn& conn, EventId id) = nullptr;
};
void imply_events(const std::string& type, ImpliedEvents source);
// The implied event with this id, of whichever type implies it, its data not made.
Result<std::optional<Event>> find_implied(store::Conn& conn, EventId id);

// Appends to the outbox in the caller's transaction and queues one delivery per enabled webhook
// of the org subscribed to the type.
Result<EventId> publish(store::Tx& tx, Env& env, const NewEvent& e);
// As publish, for an event its type's source implies (e.id is the source row's id): queues the
// deliveries and stores nothing else.
Status publish_implied(store::Tx& tx, Env& env, const Event& e);
// On the writer's connection: publish() keeps each organisation's enabled webhooks in memory
// instead of reading them for every event. Exact by store::TableWatch; on an engine that
// cannot watch, it does nothing.
Status prepare_webhook_cache(store::Conn& conn);
// As publish, but delivered to one webhook only (webhook.ping).
Result<EventId> publish_to(store::Tx& tx, Env& env, const NewEvent& e, std::int64_t webhook_id);
Result<std::optional<Event>> get_event(store::Conn& conn, EventId id);
// The org's events after the cursor (an event id), oldest first; `type` filters when set.
Result<Page<Event>> events_after(store::Conn& conn, OrgId org, std::int64_t after,
                                 const std::optional<std::string>& type, std::size_t limit);
// The whole event as delivered and pulled: {"id","type","created_at","org_id","subject","data"}.
std::string event_envelope(const Event& e);

}  // namespace jishi::events
