// QR codes for the QR channel: the gateway's qr_code text rendered for the payer's wallet app
// to scan, as SVG (for the web UI) or PNG (for anything else). Error correction level M, a
// quiet zone of four modules as ISO/IEC 18004 requires.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace jishi::pay {

// An SVG document, `module_px` user units per module. validation_failed for empty text or text
// too long for a QR code.
Result<std::string> qr_svg(std::string_view text, int module_px = 4);
// PNG bytes (8-bit greyscale), `module_px` pixels per module. Same failures as qr_svg.
Result<std::string> qr_png(std::string_view text, int module_px = 4);

}  // namespace jishi::pay
