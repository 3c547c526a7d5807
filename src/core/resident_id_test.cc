#include "core/resident_id.h"

#include <gtest/gtest.h>

namespace jishi {
namespace {

constexpr int kToday = 20250801;

Error error_of(std::string_view text, int today = kToday) {
  auto id = parse_resident_id(text, today);
  EXPECT_FALSE(id) << text;
  return id ? Error{} : id.error();
}

TEST(ResidentId, AcceptsPublishedValidNumbers) {
  for (std::string_view text : {"11010519491231002X", "360426199101010071", "110101200002290018"}) {
    auto id = parse_resident_id(text, kToday);
    ASSERT_TRUE(id) << text << ": " << id.error().detail;
    EXPECT_EQ(id->normalized, text);
  }
}

TEST(ResidentId, DecodesBirthDateSexAndRegion) {
  auto id = parse_resident_id("11010519491231002X", kToday);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->birth_yyyymmdd, 19491231);
  EXPECT_EQ(id->sex, 'F');  // 17th digit 2
  EXPECT_EQ(id->region_code, "110105");
  EXPECT_EQ(parse_resident_id("360426199101010071", kToday)->sex, 'M');  // 17th digit 7
}

TEST(ResidentId, LowercaseXIsNormalisedToUppercase) {
  auto id = parse_resident_id("11010519491231002x", kToday);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->normalized, "11010519491231002X");
}

TEST(ResidentId, RejectsWrongCheckDigit) {
  Error e = error_of("110101199003071234");
  EXPECT_EQ(e.code, Code::validation_failed);
  EXPECT_EQ(e.detail, "check digit mismatch");
}

TEST(ResidentId, RejectsThirtiethOfFebruary) {
  EXPECT_EQ(error_of("110101199002300014").detail, "invalid birth date");
}

TEST(ResidentId, RejectsTwentyNinthOfFebruary1900) {
  EXPECT_EQ(error_of("110101190002290011").detail, "invalid birth date");
}

TEST(ResidentId, LeapDaysFollowTheGregorianRule) {
  EXPECT_TRUE(parse_resident_id("110105200002290013", kToday));  // 2000 is a leap year
  EXPECT_TRUE(parse_resident_id("110105199602290011", kToday));
  EXPECT_EQ(error_of("110105199702290019").detail, "invalid birth date");
}

TEST(ResidentId, RejectsImpossibleMonthsAndDays) {
  EXPECT_EQ(error_of("110105199013010018").detail, "invalid birth date");  // month 13
  EXPECT_EQ(error_of("110105199001000015").detail, "invalid birth date");  // day 0
}

TEST(ResidentId, RejectsBirthBefore1850) {
  EXPECT_EQ(error_of("110105184912310020").detail, "invalid birth date");
  EXPECT_TRUE(parse_resident_id("110105185001010021", kToday));
}

TEST(ResidentId, RejectsBirthAfterToday) {
  EXPECT_TRUE(parse_resident_id("110105202508010022", kToday));  // born today
  EXPECT_EQ(error_of("110105202508020028").detail, "invalid birth date");
  EXPECT_EQ(error_of("110105202601010027").detail, "invalid birth date");
}

TEST(ResidentId, SystemClockOverloadAcceptsAPastBirthDate) {
  EXPECT_TRUE(parse_resident_id("11010519491231002X"));
  EXPECT_FALSE(parse_resident_id("110101199002300014"));
}

TEST(ResidentId, RejectsWrongLength) {
  for (std::string_view text :
       {"", "11010519491231002", "11010519491231002XX", "110105491231002"}) {
    EXPECT_EQ(error_of(text).detail, "must be 18 characters") << text;
  }
}

TEST(ResidentId, NamesThePositionOfAnInvalidCharacter) {
  EXPECT_EQ(error_of("1101051949123100XX").detail, "invalid character at position 17");
  EXPECT_EQ(error_of("A1010519491231002X").detail, "invalid character at position 1");
  EXPECT_EQ(error_of("11010519491231002Y").detail, "invalid character at position 18");
  EXPECT_EQ(error_of("11010519491231 02X").detail, "invalid character at position 15");
}

}  // namespace
}  // namespace jishi
