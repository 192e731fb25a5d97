// The echo session used by the stream and listener tests (out of line: g++ 12 reports a false
// -Wmismatched-new-delete for coroutine frames inlined from a header).
#include "server_fixture.h"

namespace tern::net::testing {

asio::awaitable<void> echoSession(std::shared_ptr<Stream> s) {
  char buf[16384];
  for (;;) {
    auto [ec, n] = co_await s->readSome(asio::buffer(buf), 5s);
    if (ec) co_return;
    std::string_view got(buf, n);
    if (got == "STARTTLS\r\n") {
      if (co_await s->write("OK begin TLS\r\n")) co_return;
      if (co_await s->startTls(5s)) co_return;
      continue;
    }
    if (got == "WHO\r\n") {
      std::string who = (s->isTls() ? s->tlsVersion() : std::string("plain")) + " " + s->remoteAddress() + " " +
                        std::to_string(s->remotePort()) + " " + std::to_string(s->localPort()) + "\r\n";
      if (co_await s->write(who)) co_return;
      continue;
    }
    if (co_await s->write(got)) co_return;
  }
}

}  // namespace tern::net::testing
