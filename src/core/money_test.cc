#include "core/money.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <limits>

#include "core/currency.h"

namespace jishi {
namespace {

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();

Currency currency(std::string_view code) {
  auto c = currency_from_code(code);
  EXPECT_TRUE(c.has_value()) << code;
  return c.value_or(Currency{});
}

Money cny(std::int64_t minor) {
  return Money{minor, currency("CNY")};
}

boost::json::value parse(std::string_view text) {
  return boost::json::parse(text);
}

TEST(Currency, Iso4217ExponentsAndNumericCodes) {
  struct Row {
    std::string_view code;
    int numeric;
    int exponent;
  };
  for (Row row : {Row{"CNY", 156, 2}, Row{"USD", 840, 2}, Row{"EUR", 978, 2}, Row{"HKD", 344, 2},
                  Row{"GBP", 826, 2}, Row{"JPY", 392, 0}, Row{"KRW", 410, 0}, Row{"KWD", 414, 3},
                  Row{"BHD", 48, 3}, Row{"TND", 788, 3}, Row{"CLP", 152, 0}, Row{"ISK", 352, 0},
                  Row{"VND", 704, 0}, Row{"MOP", 446, 2}, Row{"TWD", 901, 2}}) {
    auto c = currency_from_code(row.code);
    ASSERT_TRUE(c) << row.code;
    EXPECT_EQ(c->code_view(), row.code);
    EXPECT_EQ(c->numeric, row.numeric) << row.code;
    EXPECT_EQ(c->exponent, row.exponent) << row.code;
  }
}

TEST(Currency, RejectsLowercaseAndUnknownCodes) {
  for (std::string_view code : {"cny", "Cny", "CN", "CNYY", "", "XXX", "RMB"}) {
    auto c = currency_from_code(code);
    ASSERT_FALSE(c) << code;
    EXPECT_EQ(c.error().code, Code::validation_failed);
    EXPECT_TRUE(c.error().detail.starts_with("unknown currency")) << c.error().detail;
  }
}

TEST(Currency, FindsByNumericCode) {
  EXPECT_EQ(currency_from_numeric(156)->code_view(), "CNY");
  EXPECT_FALSE(currency_from_numeric(999));
}

TEST(Currency, TableIsSortedByCode) {
  auto all = known_currencies();
  ASSERT_GE(all.size(), 30u);
  for (std::size_t i = 1; i < all.size(); ++i)
    EXPECT_LT(all[i - 1].code_view(), all[i].code_view());
}

TEST(Money, AddsAndSubtractsWithinOneCurrency) {
  EXPECT_EQ(add(cny(1999), cny(1)).value(), cny(2000));
  EXPECT_EQ(subtract(cny(5), cny(10)).value(), cny(-5));
  EXPECT_EQ(multiply(cny(1999), 3).value(), cny(5997));
  EXPECT_EQ(negate(cny(5)).value(), cny(-5));
}

TEST(Money, AddDetectsOverflowAtInt64Bounds) {
  EXPECT_TRUE(add(cny(kMax - 1), cny(1)));
  auto up = add(cny(kMax), cny(1));
  ASSERT_FALSE(up);
  EXPECT_EQ(up.error().code, Code::validation_failed);
  EXPECT_EQ(up.error().detail, "amount overflow");
  EXPECT_FALSE(add(cny(kMin), cny(-1)));
  EXPECT_FALSE(subtract(cny(kMin), cny(1)));
  EXPECT_FALSE(subtract(cny(0), cny(kMin)));
}

TEST(Money, MultiplyDetectsOverflowAtInt64Bounds) {
  EXPECT_TRUE(multiply(cny(kMax), 1));
  EXPECT_TRUE(multiply(cny(kMax / 2), 2));
  auto product = multiply(cny(kMax / 2 + 1), 2);
  ASSERT_FALSE(product);
  EXPECT_EQ(product.error().detail, "amount overflow");
  EXPECT_FALSE(multiply(cny(kMin), -1));
  EXPECT_FALSE(multiply(cny(-1), kMin));
}

TEST(Money, NegateOfInt64MinIsOverflow) {
  EXPECT_EQ(negate(cny(kMin)).error().detail, "amount overflow");
  EXPECT_EQ(negate(cny(kMax)).value(), cny(-kMax));
}

TEST(Money, MixingCurrenciesFails) {
  Money usd{100, currency("USD")};
  for (auto result : {add(cny(100), usd), subtract(cny(100), usd)}) {
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, Code::validation_failed);
    EXPECT_TRUE(result.error().detail.starts_with("currency mismatch")) << result.error().detail;
  }
  EXPECT_FALSE(compare(cny(100), usd));
  EXPECT_NE(cny(100), usd);
}

TEST(Money, ComparesWithinOneCurrency) {
  EXPECT_EQ(compare(cny(1), cny(2)).value(), std::strong_ordering::less);
  EXPECT_EQ(compare(cny(2), cny(2)).value(), std::strong_ordering::equal);
  EXPECT_EQ(compare(cny(-1), cny(-2)).value(), std::strong_ordering::greater);
}

TEST(Money, FormatsWithTheCurrencyExponent) {
  EXPECT_EQ(format_decimal(cny(1999)), "19.99");
  EXPECT_EQ(format_decimal(cny(-5)), "-0.05");
  EXPECT_EQ(format_decimal(cny(0)), "0.00");
  EXPECT_EQ(format_decimal(cny(100)), "1.00");
  EXPECT_EQ(format_decimal(Money{1999, currency("JPY")}), "1999");
  EXPECT_EQ(format_decimal(Money{-1999, currency("JPY")}), "-1999");
  EXPECT_EQ(format_decimal(Money{1999, currency("KWD")}), "1.999");
  EXPECT_EQ(format_decimal(Money{7, currency("KWD")}), "0.007");
  EXPECT_EQ(format_decimal(cny(kMin)), "-92233720368547758.08");
  EXPECT_EQ(format_decimal(cny(kMax)), "92233720368547758.07");
}

TEST(Money, JsonRoundTrips) {
  for (Money m : {cny(1999), cny(-5), cny(kMin), cny(kMax), Money{1999, currency("KWD")}}) {
    boost::json::value json = to_json(m);
    auto back = money_from_json(parse(boost::json::serialize(json)));
    ASSERT_TRUE(back) << back.error().detail;
    EXPECT_EQ(*back, m);
  }
  EXPECT_EQ(boost::json::serialize(to_json(cny(1999))), R"({"amount":1999,"currency":"CNY"})");
}

void expect_rejected(std::string_view text, std::string_view field, std::string_view pointer = "") {
  auto m = money_from_json(parse(text), pointer);
  ASSERT_FALSE(m) << text;
  EXPECT_EQ(m.error().code, Code::validation_failed) << text;
  EXPECT_EQ(m.error().field, field) << text << ": " << m.error().detail;
}

TEST(Money, JsonRejectsMajorUnitsAndStrings) {
  expect_rejected(R"({"amount":19.99,"currency":"CNY"})", "/amount");
  expect_rejected(R"({"amount":1999.0,"currency":"CNY"})", "/amount");
  expect_rejected(R"({"amount":"1999","currency":"CNY"})", "/amount");
  expect_rejected(R"({"amount":null,"currency":"CNY"})", "/amount");
  expect_rejected(R"({"amount":true,"currency":"CNY"})", "/amount");
}

TEST(Money, JsonRejectsAmountsOutsideInt64) {
  expect_rejected(R"({"amount":9223372036854775808,"currency":"CNY"})", "/amount");
  expect_rejected(R"({"amount":-9223372036854775809,"currency":"CNY"})", "/amount");
  expect_rejected(R"({"amount":100000000000000000000,"currency":"CNY"})", "/amount");
  auto m = money_from_json(parse(R"({"amount":9223372036854775808,"currency":"CNY"})"));
  EXPECT_EQ(m.error().detail, "amount out of range");
}

TEST(Money, JsonRejectsMissingWrongOrExtraFields) {
  expect_rejected(R"({"amount":1999})", "/currency");
  expect_rejected(R"({"currency":"CNY"})", "/amount");
  expect_rejected(R"({"amount":1999,"currency":156})", "/currency");
  expect_rejected(R"({"amount":1999,"currency":"cny"})", "/currency");
  expect_rejected(R"({"amount":1999,"currency":"XYZ"})", "/currency");
  expect_rejected(R"({"amount":1999,"currency":"CNY","note":"x"})", "/note");
  expect_rejected(R"({"amount":1999,"currency":"CNY","a/b":1})", "/a~1b");
  expect_rejected(R"([1999,"CNY"])", "");
  expect_rejected(R"(1999)", "");
}

TEST(Money, JsonErrorsCarryTheCallersPointer) {
  expect_rejected(R"({"amount":19.99,"currency":"CNY"})", "/lines/0/price/amount",
                  "/lines/0/price");
  expect_rejected(R"("19.99")", "/price", "/price");
}

}  // namespace
}  // namespace jishi

namespace jishi {
namespace {

TEST(Money, ParsesGatewayDecimalsExactly) {
  auto cny = *currency_from_code("CNY");
  auto jpy = *currency_from_code("JPY");
  EXPECT_EQ(parse_decimal("19.99", cny)->minor, 1999);
  EXPECT_EQ(parse_decimal("20", cny)->minor, 2000);
  EXPECT_EQ(parse_decimal("0.1", cny)->minor, 10);
  EXPECT_EQ(parse_decimal("1999", jpy)->minor, 1999);
  EXPECT_EQ(parse_decimal("92233720368547758.07", cny)->minor, INT64_MAX);
  for (auto bad :
       {"", ".5", "5.", "1.999", "-1.00", "+1", "1e3", " 1", "1,00", "92233720368547758.08"})
    EXPECT_FALSE(parse_decimal(bad, cny)) << bad;
  EXPECT_FALSE(parse_decimal("1.5", jpy));
  for (std::int64_t v : {0LL, 1LL, 5LL, 1999LL, 123456789LL})
    EXPECT_EQ(parse_decimal(format_decimal({v, cny}), cny)->minor, v);
}

}  // namespace
}  // namespace jishi
