// Invariant checks that stay on in release builds (money and stock): a broken invariant is a
// bug, and carrying on would spread it into the ledger. Never use on user input; that is a
// validation error.
#pragma once

#include <cstdio>
#include <cstdlib>

#define JISHI_INVARIANT(cond, what)                                                          \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      std::fprintf(stderr, "invariant broken at %s:%d: %s (%s)\n", __FILE__, __LINE__, what, \
                   #cond);                                                                   \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)
