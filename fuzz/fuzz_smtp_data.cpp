// Fuzzes the DATA and BDAT readers. The DATA reader, fed in three pieces, must end exactly at the
// first raw CRLF "." CRLF (or a leading ".\r\n") - never at a bare CR/LF variant - and deliver the
// same body as a straightforward reference model; the body never holds a bare CR or LF.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "smtp/protocol/data_reader.h"

using namespace tern::smtp;

namespace {

std::optional<size_t> referenceEnd(std::string_view in) {
  if (in.starts_with(".\r\n")) return 3;
  size_t p = in.find("\r\n.\r\n");
  if (p == std::string_view::npos) return std::nullopt;
  return p + 5;
}

std::string referenceBody(std::string_view raw) {
  std::string out, line;
  auto endLine = [&] {
    if (line.size() > 1 && line[0] == '.') line.erase(0, 1);
    out += line;
    out += "\r\n";
    line.clear();
  };
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\r') {
      if (i + 1 < raw.size() && raw[i + 1] == '\n') ++i;
      endLine();
    } else if (raw[i] == '\n') {
      endLine();
    } else {
      line += raw[i];
    }
  }
  return out + line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 3, size - 3);
  size_t a = data[0] % (in.size() + 1), b = data[1] % (in.size() + 1);
  if (a > b) std::swap(a, b);
  uint64_t max = data[2] < 128 ? data[2] : UINT64_MAX;
  size_t chunk = 1 + data[2] % 17;

  std::string body;
  DataReader reader(max, [&](std::string_view c) {
    if (c.empty() || c.size() > chunk) abort();
    body.append(c);
  }, BareLineEndingPolicy::Normalise, chunk);
  DataReader::Status st = DataReader::Status::NeedMore;
  size_t consumed = 0;
  for (std::string_view part : {in.substr(0, a), in.substr(a, b - a), in.substr(b)}) {
    if (st != DataReader::Status::NeedMore) break;
    size_t before = part.size();
    st = reader.feed(part);
    consumed += before - part.size();
    if (st == DataReader::Status::NeedMore && !part.empty()) abort();
  }
  auto end = referenceEnd(in);
  if (!end) {
    if (st != DataReader::Status::NeedMore || consumed != in.size()) abort();
    return 0;
  }
  if (st == DataReader::Status::NeedMore || consumed != *end) abort();
  std::string expected = referenceBody(in.substr(0, *end - 3));
  if (reader.messageSize() != expected.size()) abort();
  if (expected.size() > max) {
    if (st != DataReader::Status::TooBig || body.size() > max) abort();
  } else {
    if (st != DataReader::Status::Complete || body != expected) abort();
  }

  // BDAT: exactly n octets, untouched.
  uint64_t n = data[0] % (in.size() + 1);
  std::string got;
  BdatReader bdat(n, data[1], [&](std::string_view c) { got.append(c); });
  std::string_view rest = in;
  auto bs = bdat.feed(rest);
  if (bs == BdatReader::Status::NeedMore || rest.size() != in.size() - n) abort();
  if (n > data[1] ? (bs != BdatReader::Status::TooBig || !got.empty())
                  : (bs != BdatReader::Status::Complete || got != in.substr(0, n)))
    abort();
  return 0;
}
