#include "core/uscc.h"

#include <gtest/gtest.h>

namespace jishi {
namespace {

TEST(Uscc, AcceptsPublishedValidCodes) {
  for (std::string_view code :
       {"91110000600037341L", "914403001922038216", "91330106MA2CDE7R6C", "92440305L12345674M"}) {
    auto check = check_uscc(code);
    ASSERT_TRUE(check) << code << ": " << check.error().detail;
    EXPECT_TRUE(check->checksum_ok) << code;
    EXPECT_TRUE(validate_uscc(code)) << code;
  }
}

TEST(Uscc, ReportsRegionOfPositionsThreeToEight) {
  auto beijing = check_uscc("91110000600037341L");
  EXPECT_EQ(beijing->region_code, "110000");
  EXPECT_TRUE(beijing->region_known);  // a province padded with zeros
  auto shenzhen = check_uscc("914403001922038216");
  EXPECT_EQ(shenzhen->region_code, "440300");
  EXPECT_TRUE(shenzhen->region_known);                          // a city padded with zeros
  EXPECT_TRUE(check_uscc("91330106MA2CDE7R6C")->region_known);  // 西湖区
}

TEST(Uscc, UnknownRegionIsAWarningNotAnError) {
  // 999999 is no region, but the code is otherwise well formed with a correct check character.
  auto check = check_uscc("91999999600037341N");
  ASSERT_TRUE(check);
  EXPECT_TRUE(check->checksum_ok);
  EXPECT_FALSE(check->region_known);
  EXPECT_TRUE(validate_uscc("91999999600037341N"));
}

TEST(Uscc, WrongCheckCharacterIsReportedNotRejected) {
  auto check = check_uscc("91110000600037341K");
  ASSERT_TRUE(check);
  EXPECT_FALSE(check->checksum_ok);
  auto status = validate_uscc("91110000600037341K");
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, Code::validation_failed);
  EXPECT_EQ(status.error().detail, "check character mismatch");
}

TEST(Uscc, FujianPilotCodeFailsChecksumButIsAcceptedWhenConfirmed) {
  auto check = check_uscc("91350100M0001TGQXM");
  ASSERT_TRUE(check);
  EXPECT_FALSE(check->checksum_ok);
  EXPECT_TRUE(check->region_known);  // 350100 福州市
  EXPECT_FALSE(validate_uscc("91350100M0001TGQXM"));
  EXPECT_TRUE(validate_uscc("91350100M0001TGQXM", /*accept_bad_checksum=*/true));
}

TEST(Uscc, RejectsLetterI) {
  auto check = check_uscc("9111000060003734IL");
  ASSERT_FALSE(check);
  EXPECT_EQ(check.error().code, Code::validation_failed);
  EXPECT_TRUE(check.error().detail.starts_with("invalid character at position 17"))
      << check.error().detail;
  EXPECT_FALSE(validate_uscc("9111000060003734IL", /*accept_bad_checksum=*/true));
}

TEST(Uscc, RejectsLettersOutsideTheCharset) {
  for (char letter : {'I', 'O', 'S', 'V', 'Z'}) {
    std::string code = "91110000600037341L";
    code[0] = letter;
    auto check = check_uscc(code);
    ASSERT_FALSE(check) << code;
    EXPECT_TRUE(check.error().detail.starts_with("invalid character at position 1"));
  }
}

TEST(Uscc, RejectsLowercaseAndSaysUppercaseIsRequired) {
  auto check = check_uscc("91330106ma2cde7r6c");
  ASSERT_FALSE(check);
  EXPECT_NE(check.error().detail.find("position 9"), std::string::npos) << check.error().detail;
  EXPECT_NE(check.error().detail.find("uppercase"), std::string::npos) << check.error().detail;
}

TEST(Uscc, RejectsWrongLength) {
  for (std::string_view code : {"", "91110000600037341", "91110000600037341LL"}) {
    auto check = check_uscc(code);
    ASSERT_FALSE(check) << code;
    EXPECT_TRUE(check.error().detail.starts_with("must be 18 characters"));
  }
}

TEST(Uscc, RejectsNonAsciiAndPunctuation) {
  EXPECT_FALSE(check_uscc("91110000-00037341L"));
  EXPECT_FALSE(check_uscc("9111000060003734\xef\xbc"));
}

}  // namespace
}  // namespace jishi
