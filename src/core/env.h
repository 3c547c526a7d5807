// The process-wide services a module function needs besides its transaction: the clock,
// the id generator and the personal-data cipher. Passed explicitly, so tests control them.
#pragma once

#include "core/clock.h"
#include "core/field_cipher.h"
#include "core/ids.h"

namespace jishi {

struct Env {
  const Clock& clock;
  IdGenerator& ids;
  const FieldCipher& cipher;
};

}  // namespace jishi
