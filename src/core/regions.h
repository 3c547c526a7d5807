// GB/T 2260 administrative divisions (2023 edition, embedded at build time from
// data/regions/*.csv) plus Taiwan 71, Hong Kong 81 and Macao 82. Used to check the region
// part of credit codes and ID numbers and to validate addresses. The table is read-only and
// built once on first use (thread-safe); returned pointers stay valid for the whole process.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace jishi {

// One division. Codes are stored in their short form: 2 digits for a province (11),
// 4 for a prefecture-level city (1101), 6 for a county-level area (110105).
struct Region {
  std::string code;
  std::string name;         // official Chinese name, UTF-8: "朝阳区"
  std::string parent_code;  // "" for provinces, the province for cities, the city for areas
  int level = 0;            // 1 province, 2 city, 3 area
};

// The region with this 2-, 4- or 6-digit code, or nullptr. Six-digit padded forms of
// provinces and cities ("110000", "110100") are not looked up here: see is_known_area_code.
const Region* find_region(std::string_view code);

// True for the six-digit codes found in credit codes and ID numbers: an area code (110105),
// or a known province or city padded with zeros (110000, 110100). An unknown code is not
// proof of forgery (codes issued before a redistricting stay valid for life), so callers
// treat false as a warning.
bool is_known_area_code(std::string_view six_digits);

// Direct children of a region, sorted by code; "" yields the provinces. Unknown parent -> empty.
std::vector<const Region*> region_children(std::string_view parent_code);

// Number of regions in the table (provinces + cities + areas).
std::size_t region_count();

}  // namespace jishi
