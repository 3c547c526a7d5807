#include "pay/qr.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace jishi::pay {
namespace {

std::uint32_t be32(const std::string& s, std::size_t at) {
  return (std::uint32_t(std::uint8_t(s[at])) << 24) |
         (std::uint32_t(std::uint8_t(s[at + 1])) << 16) |
         (std::uint32_t(std::uint8_t(s[at + 2])) << 8) | std::uint32_t(std::uint8_t(s[at + 3]));
}

TEST(Qr, PngHasTheSignatureAndASquareGreyscaleHeaderScaledByModuleSize) {
  auto png = qr_png("http://127.0.0.1:8080/sim/cashier/2026112822000000000001", 4);
  ASSERT_TRUE(png) << png.error().detail;
  ASSERT_GT(png->size(), 33u);
  EXPECT_EQ(png->substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(be32(*png, 8), 13u);  // IHDR length
  EXPECT_EQ(png->substr(12, 4), "IHDR");
  auto width = be32(*png, 16), height = be32(*png, 20);
  EXPECT_EQ(width, height);
  // A 56-byte URL needs version 4 at level M (33 modules) plus 2 x 4 quiet-zone modules.
  EXPECT_EQ(width, (33u + 8u) * 4u);
  EXPECT_EQ(std::uint8_t((*png)[24]), 8);  // bit depth
  EXPECT_EQ(std::uint8_t((*png)[25]), 0);  // colour type: greyscale
  EXPECT_EQ(png->substr(png->size() - 8, 4), "IEND");
  auto bigger = qr_png("http://127.0.0.1:8080/sim/cashier/2026112822000000000001", 8);
  EXPECT_EQ(be32(*bigger, 16), width * 2);
}

TEST(Qr, SvgIsOneWellFormedSvgDocumentWithModules) {
  auto svg = qr_svg("weixin://wxpay/bizpayurl?pr=茶叶");
  ASSERT_TRUE(svg) << svg.error().detail;
  EXPECT_TRUE(svg->starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg "));
  EXPECT_TRUE(svg->ends_with("</svg>\n"));
  EXPECT_NE(svg->find("xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  // Well formed: every element is self-closed except <svg>, which is closed once.
  std::size_t opens = 0, self_closed = 0;
  for (std::size_t i = svg->find("<svg"); i != std::string::npos; i = svg->find('<', i + 1))
    if ((*svg)[i + 1] != '/') ++opens;
  for (std::size_t i = svg->find("/>"); i != std::string::npos; i = svg->find("/>", i + 1))
    ++self_closed;
  EXPECT_EQ(opens, self_closed + 1);
  EXPECT_NE(svg->find("<path fill=\"#000\" d=\"M"), std::string::npos);
}

TEST(Qr, EmptyOrOversizedTextIsRefused) {
  EXPECT_EQ(qr_svg("").error().code, Code::validation_failed);
  EXPECT_EQ(qr_png(std::string(3000, 'a')).error().code, Code::validation_failed);
  EXPECT_EQ(qr_png("x", 0).error().code, Code::validation_failed);
}

}  // namespace
}  // namespace jishi::pay
