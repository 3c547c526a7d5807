// Names the calling thread for `top -H`, `perf` and debuggers (Linux: at most 15 bytes shown).
#pragma once

#include <pthread.h>

namespace jishi {

inline void name_this_thread(const char* name) {
  (void)pthread_setname_np(pthread_self(), name);
}

}  // namespace jishi
