#include "core/json.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "core/limits.h"

namespace jishi {
namespace {

TEST(Json, RejectsMalformedDocuments) {
  auto r = parse_json("{\"a\":");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::invalid_json);
}

TEST(Json, RejectsInvalidUtf8) {
  auto r = parse_json("{\"a\":\"\xff\"}");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::invalid_json);
}

TEST(Json, RejectsNestingBeyondTheLimit) {
  std::string deep(limits::json_depth_max + 1, '[');
  deep += std::string(limits::json_depth_max + 1, ']');
  auto r = parse_json(deep);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::validation_failed);
  std::string ok(limits::json_depth_max - 1, '[');
  ok += std::string(limits::json_depth_max - 1, ']');
  EXPECT_TRUE(parse_json(ok));
}

TEST(Json, RejectsOverlongStringsWithTheirPointer) {
  std::string big(limits::json_string_bytes_max + 1, 'x');
  auto r = parse_json("{\"d\":[\"" + big + "\"]}");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "/d/0");
}

TEST(FieldReader, ReadsTypedFieldsAndTrims) {
  auto v = parse_json(R"({"name":"  集市  ","n":5,"b":true})");
  ASSERT_TRUE(v);
  FieldReader f(*v);
  EXPECT_EQ(f.string("name", 100), "集市");
  EXPECT_EQ(f.integer("n", 1, 10), 5);
  EXPECT_EQ(f.optional_bool("b"), true);
  EXPECT_TRUE(f.finish());
}

TEST(FieldReader, RejectsUnknownFields) {
  auto v = parse_json(R"({"name":"a","nmae":"b"})");
  FieldReader f(*v);
  f.string("name", 100);
  auto r = f.finish();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "/nmae");
}

TEST(FieldReader, ReportsTheFirstBadField) {
  auto v = parse_json(R"({"n":1.5,"name":""})");
  FieldReader f(*v);
  f.integer("n", 0, 10);
  f.string("name", 10);
  auto r = f.finish();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "/n");
  EXPECT_EQ(r.error().code, Code::validation_failed);
}

TEST(FieldReader, RequiresRequiredFieldsAndEnforcesLength) {
  auto v = parse_json(R"({"name":"abcdef"})");
  FieldReader f(*v);
  f.string("name", 3);
  EXPECT_EQ(f.finish().error().field, "/name");
  FieldReader g(*v);
  g.string("name", 10);
  g.string("missing", 10);
  EXPECT_EQ(g.finish().error().field, "/missing");
}

TEST(FieldReader, KeepsSpacesWhenAskedTo) {
  auto v = parse_json(R"({"password":" pass word "})");
  FieldReader f(*v);
  EXPECT_EQ(f.string("password", 100, FieldReader::Trim::no), " pass word ");
}

TEST(FieldReader, RejectsControlCharacters) {
  auto v = parse_json("{\"name\":\"a\\u0000b\"}");
  FieldReader f(*v);
  f.string("name", 10);
  EXPECT_FALSE(f.finish());
}

}  // namespace
}  // namespace jishi
