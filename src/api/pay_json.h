// JSON renderings of payment values shared by the payment and trading routes.
#pragma once

#include <boost/json/object.hpp>

#include "core/json_writer.h"
#include "pay/payments.h"

namespace jishi::api {

boost::json::object intent_json(const pay::Intent& i);
// The same as text, for hot replies (the checkout's); api_test checks the two agree.
void write_intent(JsonWriter& w, const pay::Intent& i);

}  // namespace jishi::api
