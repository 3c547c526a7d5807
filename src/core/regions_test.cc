#include "core/regions.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace jishi {
namespace {

std::size_t count_level(int level) {
  std::size_t n = 0;
  for (const Region* province : region_children("")) {
    if (level == 1) ++n;
    for (const Region* city : region_children(province->code)) {
      if (level == 2) ++n;
      if (level == 3) n += region_children(city->code).size();
    }
  }
  return n;
}

TEST(Regions, LoadsAllProvincesCitiesAndAreas) {
  EXPECT_EQ(count_level(1), 31u + 3u);  // mainland plus Taiwan, Hong Kong, Macao
  EXPECT_EQ(count_level(2), 342u);
  EXPECT_EQ(count_level(3), 2978u);
  EXPECT_EQ(region_count(), 34u + 342u + 2978u);
}

TEST(Regions, FindsAnAreaWithItsParentCity) {
  const Region* chaoyang = find_region("110105");
  ASSERT_NE(chaoyang, nullptr);
  EXPECT_EQ(chaoyang->name, "朝阳区");
  EXPECT_EQ(chaoyang->parent_code, "1101");
  EXPECT_EQ(chaoyang->level, 3);
}

TEST(Regions, FindsProvincesAndCitiesByShortCode) {
  const Region* beijing = find_region("11");
  ASSERT_NE(beijing, nullptr);
  EXPECT_EQ(beijing->name, "北京市");
  EXPECT_EQ(beijing->parent_code, "");
  EXPECT_EQ(beijing->level, 1);
  const Region* shijiazhuang = find_region("1301");
  ASSERT_NE(shijiazhuang, nullptr);
  EXPECT_EQ(shijiazhuang->name, "石家庄市");
  EXPECT_EQ(shijiazhuang->parent_code, "13");
  EXPECT_EQ(shijiazhuang->level, 2);
}

TEST(Regions, IncludesHongKongMacaoAndTaiwan) {
  EXPECT_EQ(find_region("81")->name, "香港特别行政区");
  EXPECT_EQ(find_region("82")->name, "澳门特别行政区");
  EXPECT_EQ(find_region("71")->name, "台湾省");
  EXPECT_TRUE(is_known_area_code("810000"));
}

TEST(Regions, EveryRegionIsFoundByItsCodeAndNoOther) {
  std::size_t seen = 0;
  for (const Region* province : region_children("")) {
    std::vector<const Region*> all{province};
    for (const Region* city : region_children(province->code)) {
      all.push_back(city);
      for (const Region* area : region_children(city->code)) all.push_back(area);
    }
    for (const Region* r : all) {
      ++seen;
      ASSERT_EQ(find_region(r->code), r) << r->code;
      // The same digits at another length are another code, or none.
      std::string longer = "00" + r->code;
      const Region* other = find_region(longer);
      EXPECT_TRUE(other == nullptr || other->code == longer) << longer;
    }
  }
  EXPECT_EQ(seen, region_count());
  EXPECT_EQ(find_region("0011"), nullptr);
  EXPECT_EQ(find_region("1x"), nullptr);
  EXPECT_EQ(find_region("11010５"), nullptr);
}

TEST(Regions, UnknownOrMalformedCodesAreNotFound) {
  EXPECT_EQ(find_region(""), nullptr);
  EXPECT_EQ(find_region("99"), nullptr);
  EXPECT_EQ(find_region("110"), nullptr);
  EXPECT_EQ(find_region("110000"), nullptr);  // padded forms are for is_known_area_code
  EXPECT_EQ(find_region("1101051"), nullptr);
}

TEST(Regions, ChildrenOfBeijingAreItsCities) {
  std::vector<const Region*> children = region_children("11");
  ASSERT_FALSE(children.empty());
  for (const Region* child : children) {
    EXPECT_EQ(child->parent_code, "11");
    EXPECT_EQ(child->level, 2);
  }
  EXPECT_EQ(children.front()->code, "1101");
  EXPECT_TRUE(std::ranges::is_sorted(children, {}, &Region::code));
  EXPECT_EQ(region_children("1101").size(), 16u);  // Beijing's 16 districts
  EXPECT_TRUE(region_children("99").empty());
  EXPECT_TRUE(region_children("110105").empty());
}

TEST(Regions, KnownAreaCodesIncludePaddedProvincesAndCities) {
  EXPECT_TRUE(is_known_area_code("110105"));
  EXPECT_TRUE(is_known_area_code("110000"));
  EXPECT_TRUE(is_known_area_code("110100"));
  EXPECT_TRUE(is_known_area_code("440300"));
  EXPECT_TRUE(is_known_area_code("441900"));  // 东莞市: a city without districts
  EXPECT_FALSE(is_known_area_code("990000"));
  EXPECT_FALSE(is_known_area_code("119900"));
  EXPECT_FALSE(is_known_area_code("110199"));
  EXPECT_FALSE(is_known_area_code("11010"));
  EXPECT_FALSE(is_known_area_code("11010a"));
}

}  // namespace
}  // namespace jishi
