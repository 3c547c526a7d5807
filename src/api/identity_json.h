// JSON shapes of identity's types in the API (see docs/openapi.yaml).
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <vector>

#include "identity/orgs.h"
#include "identity/types.h"

namespace jishi::api {

boost::json::object user_json(const identity::User& u);
boost::json::object membership_json(const identity::Membership& m);
boost::json::object org_json(const identity::Org& o, const std::vector<std::string>& warnings = {});
boost::json::object review_json(const identity::OrgReview& r);
boost::json::object member_json(const identity::Member& m);
boost::json::object api_key_json(const identity::ApiKey& k);

}  // namespace jishi::api
