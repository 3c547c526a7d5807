// Result<T>: an expected value or an Error. Expected failures are values, never
// exceptions (STYLE.md); exceptions do not cross module boundaries.
#pragma once

#include <expected>

#include "core/error.h"

namespace jishi {

template <class T>
using Result = std::expected<T, Error>;

using Status = std::expected<void, Error>;

inline std::unexpected<Error> fail(Code code, std::string detail = {}, std::string field = {}) {
  return std::unexpected<Error>(Error{code, std::move(detail), std::move(field)});
}
inline std::unexpected<Error> fail(Error error) {
  return std::unexpected<Error>(std::move(error));
}

}  // namespace jishi

// Propagate an error from an expression returning Result/Status.
#define JISHI_TRY(expr)                                               \
  do {                                                                \
    if (auto jishi_try_result_ = (expr); !jishi_try_result_)          \
      return ::std::unexpected(std::move(jishi_try_result_).error()); \
  } while (0)

// Assign the value of a Result or propagate its error.
#define JISHI_CONCAT_INNER_(a, b) a##b
#define JISHI_CONCAT_(a, b) JISHI_CONCAT_INNER_(a, b)
#define JISHI_ASSIGN_OR_RETURN(lhs, expr) \
  JISHI_ASSIGN_OR_RETURN_IMPL_(JISHI_CONCAT_(jishi_r_, __LINE__), lhs, expr)
#define JISHI_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr)          \
  auto tmp = (expr);                                          \
  if (!tmp) return ::std::unexpected(std::move(tmp).error()); \
  lhs = std::move(*tmp)
