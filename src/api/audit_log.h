// Writing to the audit log from a handler's write step.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "api/services.h"
#include "audit/audit.h"

namespace jishi::api {

inline Status audit_log(store::Tx& tx, Services& s, std::string_view kind,
                        std::optional<std::int64_t> actor, const boost::json::object& data) {
  JISHI_TRY(audit::append(tx, s.env.clock, kind, actor, boost::json::serialize(data)));
  return {};
}

}  // namespace jishi::api
