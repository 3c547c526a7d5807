// JSON renderings of payment values shared by the payment and trading routes.
#pragma once

#include <boost/json/object.hpp>

#include "pay/payments.h"

namespace jishi::api {

boost::json::object intent_json(const pay::Intent& i);

}  // namespace jishi::api
