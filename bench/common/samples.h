// A fixed, deterministic set of realistic sample messages (plain, multipart/alternative, attachments,
// RFC 2047 headers, quoted-printable, forwarded message/rfc822, calendar invite, mailing-list headers).
// Every message handed out is made unique (Message-ID, X-Bench-Id) so no server can deduplicate it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tern::bench {

namespace detail {

inline std::string words(uint32_t seed, size_t bytes, size_t lineLen = 72) {
  static const char* w[] = {"the", "meeting", "report", "is", "attached", "please", "review", "before",
                            "Friday", "quarterly", "numbers", "look", "good", "thanks", "for", "your",
                            "help", "with", "project", "deadline", "we", "should", "discuss", "budget",
                            "and", "schedule", "next", "week", "customer", "feedback", "on", "release"};
  std::string out, line;
  uint32_t x = seed * 2654435761u + 1;
  while (out.size() < bytes) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    const char* word = w[x % 32];
    if (line.size() + std::string_view(word).size() + 1 > lineLen) {
      out += line + "\r\n";
      line.clear();
    }
    if (!line.empty()) line += ' ';
    line += word;
  }
  if (!line.empty()) out += line + "\r\n";
  return out;
}

inline std::string base64Blob(uint32_t seed, size_t rawBytes) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t x = seed | 1;
  size_t chars = (rawBytes + 2) / 3 * 4;
  for (size_t i = 0; i < chars; ++i) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    out += a[x & 63];
    if (i % 76 == 75) out += "\r\n";
  }
  out += "\r\n";
  return out;
}

inline std::string commonHeaders(const std::string& from, const std::string& to, const std::string& subject,
                                 const std::string& date) {
  return "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject + "\r\nDate: " + date +
         "\r\nMIME-Version: 1.0\r\n";
}

}  // namespace detail

// The samples without Message-ID (added per use). Sizes range from ~700 B to ~60 KB, mean ~12 KB.
inline std::vector<std::string> sampleMessages() {
  using namespace detail;
  std::vector<std::string> v;
  // 1. Short plain text.
  v.push_back(commonHeaders("Alice Example <alice@example.net>", "bench@example.test", "Lunch?",
                            "Mon, 06 May 2024 11:02:13 +0200") +
              "Content-Type: text/plain; charset=us-ascii\r\n\r\nShall we meet at noon?\r\n\r\nAlice\r\n");
  // 2. Plain text, ~4 KB, with a reply chain.
  v.push_back(commonHeaders("Bob Builder <bob@example.org>", "Team <team@example.test>",
                            "Re: Quarterly report draft", "Tue, 07 May 2024 09:15:00 -0400") +
              "In-Reply-To: <draft-17@example.org>\r\nReferences: <draft-12@example.org> <draft-17@example.org>\r\n"
              "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
              words(2, 2500) + "\r\n> " + words(3, 1200, 60));
  // 3. multipart/alternative text + HTML, ~9 KB.
  {
    std::string text = words(4, 2800);
    std::string html = "<html><body><p>" + words(5, 4800) + "</p></body></html>\r\n";
    v.push_back(commonHeaders("\"Newsletter\" <news@shop.example.com>", "bench@example.test",
                              "Your weekly deals", "Wed, 08 May 2024 06:00:00 +0000") +
                "List-Unsubscribe: <mailto:unsub@shop.example.com>\r\n"
                "Content-Type: multipart/alternative; boundary=\"b1_alt\"\r\n\r\n"
                "--b1_alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text +
                "--b1_alt\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n" + html +
                "--b1_alt--\r\n");
  }
  // 4. multipart/mixed with a base64 PDF attachment, ~55 KB.
  v.push_back(commonHeaders("Carol <carol@example.com>", "bench@example.test", "Contract (signed)",
                            "Thu, 09 May 2024 16:44:51 +0100") +
              "Content-Type: multipart/mixed; boundary=\"mix-42\"\r\n\r\nThis is a multi-part message in MIME format.\r\n"
              "--mix-42\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nSigned copy attached.\r\n"
              "--mix-42\r\nContent-Type: application/pdf; name=\"contract.pdf\"\r\n"
              "Content-Disposition: attachment; filename=\"contract.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
              base64Blob(4, 40000) + "--mix-42--\r\n");
  // 5. RFC 2047 headers, quoted-printable body.
  v.push_back("From: =?UTF-8?Q?Jos=C3=A9_Mart=C3=ADnez?= <jose@example.es>\r\nTo: bench@example.test\r\n"
              "Cc: =?ISO-8859-1?Q?Andr=E9?= <andre@example.fr>\r\n"
              "Subject: =?UTF-8?B?UmU6IFJldW5pw7NuIGRlbCBsdW5lcw==?=\r\n"
              "Date: Fri, 10 May 2024 08:30:00 +0200\r\nMIME-Version: 1.0\r\n"
              "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
              "Hola, la reuni=C3=B3n del lunes se mueve a las 10:00. =\r\nGracias.\r\n" + words(6, 1500));
  // 6. Mailing-list message with a long trace.
  {
    std::string trace;
    for (int i = 0; i < 6; ++i)
      trace += "Received: from relay" + std::to_string(i) + ".lists.example.org (relay" + std::to_string(i) +
               ".lists.example.org [192.0.2." + std::to_string(10 + i) + "])\r\n\tby mx.example.test with ESMTPS id " +
               std::to_string(900000 + i) + "\r\n\tfor <bench@example.test>; Sat, 11 May 2024 10:0" +
               std::to_string(i) + ":00 +0000\r\n";
    v.push_back(trace +
                commonHeaders("dev-list <dev@lists.example.org>", "dev@lists.example.org",
                              "[dev] Patch v3 1/4: fix the parser", "Sat, 11 May 2024 10:00:00 +0000") +
                "List-Id: Developers <dev.lists.example.org>\r\nList-Post: <mailto:dev@lists.example.org>\r\n"
                "Precedence: list\r\nDKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=s1; h=from:to:subject; "
                "bh=abc=; b=def=\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" + words(7, 3000));
  }
  // 7. Forwarded message (message/rfc822 inside multipart/mixed).
  v.push_back(commonHeaders("Dave <dave@example.net>", "bench@example.test", "Fwd: Invoice 2024-117",
                            "Sun, 12 May 2024 19:20:00 -0700") +
              "Content-Type: multipart/mixed; boundary=\"fw\"\r\n\r\n--fw\r\nContent-Type: text/plain\r\n\r\nFYI\r\n"
              "--fw\r\nContent-Type: message/rfc822\r\n\r\n" +
              commonHeaders("billing@vendor.example", "dave@example.net", "Invoice 2024-117",
                            "Sat, 11 May 2024 09:00:00 +0000") +
              "Content-Type: text/plain\r\n\r\n" + words(8, 2000) + "--fw--\r\n");
  // 8. multipart/related HTML with an inline image, ~20 KB.
  v.push_back(commonHeaders("Eve <eve@example.com>", "bench@example.test", "Photo from the trip",
                            "Mon, 13 May 2024 12:00:00 +0000") +
              "Content-Type: multipart/related; boundary=\"rel\"; type=\"text/html\"\r\n\r\n"
              "--rel\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Look!</p><img src=\"cid:img1@x\">\r\n"
              "--rel\r\nContent-Type: image/jpeg\r\nContent-ID: <img1@x>\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
              base64Blob(8, 15000) + "--rel--\r\n");
  // 9. Calendar invitation.
  v.push_back(commonHeaders("Frank <frank@example.org>", "bench@example.test", "Invitation: Planning @ Tue",
                            "Tue, 14 May 2024 07:45:00 +0000") +
              "Content-Type: multipart/alternative; boundary=\"cal\"\r\n\r\n--cal\r\nContent-Type: text/plain\r\n\r\n"
              "Planning meeting, Tuesday 10:00.\r\n--cal\r\nContent-Type: text/calendar; method=REQUEST; charset=utf-8\r\n\r\n"
              "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:evt-1@example.org\r\n"
              "DTSTART:20240521T100000Z\r\nDTEND:20240521T110000Z\r\nSUMMARY:Planning\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
              "--cal--\r\n");
  // 10. Plain UTF-8, 8bit, ~1 KB.
  v.push_back(commonHeaders("=?UTF-8?B?0JjQstCw0L0=?= <ivan@example.ru>", "bench@example.test",
                            "=?UTF-8?B?0J/RgNC40LLQtdGC?=", "Wed, 15 May 2024 21:10:00 +0300") +
              "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
              "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82!\r\n" + words(10, 900));
  return v;
}

// Sample `i` (mod the set) made unique by `id`.
inline std::string uniqueMessage(const std::vector<std::string>& samples, uint64_t i, const std::string& id) {
  return "Message-ID: <" + id + "@bench.example.test>\r\nX-Bench-Id: " + id + "\r\n" + samples[i % samples.size()];
}

// A small message for generating very large mailboxes quickly (still unique per `n`).
inline std::string smallMessage(uint64_t n) {
  std::string id = std::to_string(n);
  return "Message-ID: <big-" + id + "@bench.example.test>\r\nFrom: gen" + std::to_string(n % 97) +
         "@example.net\r\nTo: bench@example.test\r\nSubject: generated message " + id +
         "\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\nContent-Type: text/plain\r\n\r\nGenerated body " + id +
         ".\r\n";
}

}  // namespace tern::bench
