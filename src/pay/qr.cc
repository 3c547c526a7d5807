// QR rendering over libqrencode (encoding) and libpng's simplified write API (no setjmp).
#include "pay/qr.h"

#include <png.h>
#include <qrencode.h>

#include <memory>
#include <vector>

namespace jishi::pay {

namespace {

constexpr int kQuietZoneModules = 4;
constexpr int kModulePxMax = 64;
// QR version 40 at level M holds 2331 bytes; beyond that libqrencode fails anyway.
constexpr std::size_t kTextBytesMax = 2331;

struct QrFree {
  void operator()(QRcode* q) const { QRcode_free(q); }
};

// The dark/light matrix including the quiet zone.
struct Matrix {
  int size = 0;
  std::vector<bool> dark;
  bool at(int x, int y) const { return dark[static_cast<std::size_t>(y * size + x)]; }
};

Result<Matrix> encode(std::string_view text, int module_px) {
  if (text.empty() || text.size() > kTextBytesMax)
    return fail(Code::validation_failed,
                "QR text must be 1.." + std::to_string(kTextBytesMax) + " bytes");
  if (module_px < 1 || module_px > kModulePxMax)
    return fail(Code::validation_failed, "module size must be 1..64");
  std::string copy(text);  // libqrencode wants a NUL-terminated string; 8-bit mode keeps UTF-8
  std::unique_ptr<QRcode, QrFree> qr(
      QRcode_encodeData(static_cast<int>(copy.size()),
                        reinterpret_cast<const unsigned char*>(copy.data()), 0, QR_ECLEVEL_M));
  if (!qr) return fail(Code::validation_failed, "the text does not fit in a QR code");
  Matrix m;
  m.size = qr->width + 2 * kQuietZoneModules;
  m.dark.assign(static_cast<std::size_t>(m.size * m.size), false);
  for (int y = 0; y < qr->width; ++y)
    for (int x = 0; x < qr->width; ++x)
      if (qr->data[y * qr->width + x] & 1)
        m.dark[static_cast<std::size_t>((y + kQuietZoneModules) * m.size + x + kQuietZoneModules)] =
            true;
  return m;
}

}  // namespace

Result<std::string> qr_svg(std::string_view text, int module_px) {
  JISHI_ASSIGN_OR_RETURN(auto m, encode(text, module_px));
  auto side = std::to_string(m.size * module_px);
  std::string out =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
      side + "\" height=\"" + side + "\" viewBox=\"0 0 " + std::to_string(m.size) + " " +
      std::to_string(m.size) + "\" shape-rendering=\"crispEdges\">\n" +
      "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n<path fill=\"#000\" d=\"";
  // One horizontal run per path segment keeps the document small.
  for (int y = 0; y < m.size; ++y) {
    for (int x = 0; x < m.size;) {
      if (!m.at(x, y)) {
        ++x;
        continue;
      }
      int run = 1;
      while (x + run < m.size && m.at(x + run, y)) ++run;
      out += "M" + std::to_string(x) + " " + std::to_string(y) + "h" + std::to_string(run) +
             "v1h-" + std::to_string(run) + "z";
      x += run;
    }
  }
  out += "\"/>\n</svg>\n";
  return out;
}

Result<std::string> qr_png(std::string_view text, int module_px) {
  JISHI_ASSIGN_OR_RETURN(auto m, encode(text, module_px));
  int side = m.size * module_px;
  std::vector<unsigned char> pixels(static_cast<std::size_t>(side) * side, 255);
  for (int y = 0; y < side; ++y)
    for (int x = 0; x < side; ++x)
      if (m.at(x / module_px, y / module_px)) pixels[static_cast<std::size_t>(y) * side + x] = 0;
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(side);
  image.height = static_cast<png_uint_32>(side);
  image.format = PNG_FORMAT_GRAY;
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&image, nullptr, &size, 0, pixels.data(), 0, nullptr))
    return fail(Code::internal, std::string("PNG encoding failed: ") + image.message);
  std::string out(size, '\0');
  if (!png_image_write_to_memory(&image, out.data(), &size, 0, pixels.data(), 0, nullptr))
    return fail(Code::internal, std::string("PNG encoding failed: ") + image.message);
  out.resize(size);
  png_image_free(&image);
  return out;
}

}  // namespace jishi::pay
