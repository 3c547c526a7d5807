#include "core/json.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "core/json_writer.h"
#include "core/limits.h"

namespace jishi {
namespace {

// The writer's text is what boost::json::serialize makes of the same tree: every ASCII
// character and some UTF-8 in strings and keys, nesting, empty containers, numbers, nulls.
TEST(JsonWriter, WritesWhatBoostJsonSerializes) {
  std::string every_ascii;
  for (int c = 0; c < 128; ++c) every_ascii += static_cast<char>(c);
  for (std::string_view s : {std::string_view(every_ascii), std::string_view("浙江省 杭州市"),
                             std::string_view(""), std::string_view("a\"b\\c\n")}) {
    boost::json::object tree;
    tree[s] = s;
    tree["n"] = std::int64_t{-9223372036854775807LL - 1};
    tree["m"] = std::int64_t{9223372036854775807LL};
    tree["t"] = true;
    tree["f"] = false;
    tree["z"] = nullptr;
    tree["e"] = boost::json::object();
    tree["a"] =
        boost::json::array{1, "x", nullptr, boost::json::array(), boost::json::object{{"k", 0}}};
    JsonWriter w;
    w.begin_object().key_escaped(s).string(s);
    w.key("n").integer(-9223372036854775807LL - 1).key("m").integer(9223372036854775807LL);
    w.key("t").boolean(true).key("f").boolean(false).key("z").null();
    w.key("e").begin_object().end_object();
    w.key("a").begin_array().integer(1).string("x").null().begin_array().end_array();
    w.begin_object().key("k").integer(0).end_object().end_array();
    w.end_object();
    EXPECT_EQ(w.take(), boost::json::serialize(tree));
  }
  JsonWriter top;
  top.begin_array().string_or_null(std::nullopt).string_or_null(std::string("v")).end_array();
  EXPECT_EQ(top.take(), R"([null,"v"])");
}

TEST(JsonWriter, EscapesAtEveryOffsetOfAWord) {
  // Strings are copied in runs between escapes: put each character that needs an escape (and
  // its neighbours, ASCII or UTF-8) at every offset, in strings of every length up to 40.
  for (std::string_view fill :
       {std::string_view("a"), std::string_view("中"), std::string_view("\x7f")}) {
    for (char special : {'"', '\\', '\n', '\x01', '\x1f', ' ', '~'}) {
      for (std::size_t len = 0; len <= 40; ++len) {
        for (std::size_t at = 0; at <= len; ++at) {
          std::string s;
          while (s.size() < at) s += fill;
          s += special;
          while (s.size() < len + 1) s += fill;
          JsonWriter w;
          w.begin_array().string(s).end_array();
          EXPECT_EQ(w.take(), boost::json::serialize(boost::json::array{boost::json::string(s)}))
              << len << " " << at << " " << static_cast<int>(special);
        }
      }
    }
  }
}

// Long strings are reserved for exactly (short ones for the worst case); ids are written as
// strings; a writer taken from starts again empty.
TEST(JsonWriter, WritesLongStringsIdsAndStartsAgainAfterTake) {
  std::string long_text;
  for (int i = 0; i < 3000; ++i) long_text += i % 7 == 0 ? "\x01" : i % 5 == 0 ? "\"" : "字";
  boost::json::object tree;
  tree[long_text] = long_text;
  tree["id"] = "-9223372036854775808";
  tree["z"] = "0";
  // Whatever room is made up front (none, too little, about right, far too much).
  for (std::size_t expected : {0u, 1u, 300u, 4096u, 1u << 20}) {
    JsonWriter w(expected);
    w.begin_object().key_escaped(long_text).string(long_text).key("id");
    w.integer_string(-9223372036854775807LL - 1).key("z").integer_string(0).end_object();
    EXPECT_EQ(w.take(), boost::json::serialize(tree)) << expected;
    w.begin_array().integer(1).end_array();
    EXPECT_EQ(w.take(), "[1]") << expected;
  }
}

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

TEST(Json, NamesTheDeepestValueOverALimit) {
  std::string big(limits::json_string_bytes_max + 1, 'x');
  auto r = parse_json(R"({"ok":[1,2],"a":{"b":[0,1,2,{"c":")" + big + R"("}]}})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::validation_failed);
  EXPECT_EQ(r.error().field, "/a/b/3/c");
  std::string many = "[";
  for (std::size_t i = 0; i <= limits::json_container_items_max; ++i) many += i ? ",0" : "0";
  r = parse_json(R"({"x":{"y":)" + many + "]}}");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "/x/y");
  EXPECT_NE(r.error().detail.find("too many"), std::string::npos);
  EXPECT_TRUE(parse_json(R"({"a":{"b":[0,1,2,{"c":"short"}]}})"));
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

TEST(FieldReader, FindsAnUnreadFieldAmongMany) {
  // Objects past 64 members keep their read marks elsewhere: every position must count.
  for (int members : {3, 64, 65, 200}) {
    for (int unread : {0, members / 2, members - 1}) {
      std::string text = "{";
      for (int i = 0; i < members; ++i)
        text += (i ? ",\"f" : "\"f") + std::to_string(i) + "\":" + std::to_string(i);
      text += "}";
      auto v = parse_json(text);
      ASSERT_TRUE(v);
      FieldReader all(*v);
      for (int i = 0; i < members; ++i) all.integer("f" + std::to_string(i), 0, 1000);
      EXPECT_TRUE(all.finish()) << members;
      FieldReader f(*v);
      for (int i = 0; i < members; ++i)
        if (i != unread) f.integer("f" + std::to_string(i), 0, 1000);
      f.optional_integer("absent", 0, 1);  // asking for an absent field marks nothing
      auto r = f.finish();
      ASSERT_FALSE(r) << members << " " << unread;
      EXPECT_EQ(r.error().field, "/f" + std::to_string(unread));
    }
  }
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
