# Generates a .cc holding every migration file as a raw string (run with -P).
# Inputs: MIGRATIONS_DIR, OUT.
file(GLOB files RELATIVE ${MIGRATIONS_DIR} ${MIGRATIONS_DIR}/*.sql)
list(SORT files)
set(body "")
foreach(f ${files})
  string(REGEX MATCH "^([0-9]+)_(.*)\\.sql$" _ ${f})
  set(version ${CMAKE_MATCH_1})
  set(name ${CMAKE_MATCH_2})
  math(EXPR version "${version} + 0")
  file(READ ${MIGRATIONS_DIR}/${f} sql)
  string(APPEND body "    {${version}, \"${name}\", R\"jishi_sql(${sql})jishi_sql\"},\n")
endforeach()
file(WRITE ${OUT}.tmp "// Generated from src/store/migrations by embed_migrations.cmake. Do not edit.
#include \"store/migrate.h\"

namespace jishi::store {
namespace {
constexpr Migration kMigrations[] = {
${body}};
}  // namespace
std::span<const Migration> embedded_migrations() { return kMigrations; }
}  // namespace jishi::store
")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUT}.tmp ${OUT})
