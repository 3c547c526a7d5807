// Structured logging on spdlog. One process-wide logger; lines are key=value so they grep and
// parse. Secrets (passwords, tokens, keys, personal data) are never passed to a logger.
#pragma once

#include <spdlog/spdlog.h>
#include <string_view>

namespace jishi {

// Configures the default logger: stderr, level by name ("info", ...), UTC timestamps.
void init_logging(std::string_view level);

}  // namespace jishi
