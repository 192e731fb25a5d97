// Fuzzes modified UTF-7 decoding/encoding and UTF-8 validation. Properties: a decoded name is valid
// UTF-8 and re-encodes to exactly the input (one spelling per name); valid UTF-8 without NUL survives
// encode -> decode unchanged.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "imap/protocol/mutf7.h"

using namespace tern::imap;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto d = mutf7Decode(in)) {
    if (!isValidUtf8(*d)) abort();
    if (mutf7Encode(*d) != in) abort();
  }
  if (isValidUtf8(in) && in.find('\0') == std::string_view::npos) {
    std::string enc = mutf7Encode(in);
    for (char c : enc)
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) abort();
    auto back = mutf7Decode(enc);
    if (!back || *back != in) abort();
  } else {
    // Invalid input still encodes to something decodable (U+FFFD replaces bad bytes).
    std::string enc = mutf7Encode(in);
    if (in.find('\0') == std::string_view::npos && !mutf7Decode(enc)) abort();
  }
  return 0;
}
