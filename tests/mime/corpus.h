// Test corpus of generated messages shared by the mime tests and the IMAP BODYSTRUCTURE tests.
// Written with "\n" for readability; crlf() turns them into the CRLF form messages are stored in.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tern::mime::testing {

inline std::string crlf(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

struct CorpusMessage {
  std::string name;
  std::string bytes;
};

// Bodies used by several tests, so expected sizes can be computed from them independently.
inline const std::string kPlainBody = crlf("Hi everyone.\nSee you at noon.\n");
inline const std::string kAltText = crlf("Plain version.");
inline const std::string kAltHtml = crlf("<p>HTML version.</p>");

inline std::vector<CorpusMessage> corpus() {
  std::vector<CorpusMessage> c;
  c.push_back({"plain", crlf("From: \"Joe Q. Public\" <john.q.public@example.com>\n"
                             "To: Mary Smith <mary@x.test>, jdoe@example.org\n"
                             "Cc: \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>\n"
                             "Date: Tue, 1 Jul 2003 10:52:37 +0200\n"
                             "Subject: Saying\n Hello\n"
                             "Message-ID: <1234@local.machine.example>\n"
                             "\n") + kPlainBody});

  c.push_back({"alternative", crlf("From: a@example.com\n"
                                   "Subject: Re: [list] Fwd: alt\n"
                                   "MIME-Version: 1.0\n"
                                   "Content-Type: multipart/alternative; boundary=\"b1\"\n"
                                   "\n"
                                   "This is the preamble.\n"
                                   "--b1\n"
                                   "Content-Type: text/plain; charset=us-ascii\n"
                                   "\n") + kAltText + crlf("\n--b1\n"
                                   "Content-Type: text/html; charset=\"utf-8\"\n"
                                   "Content-Transfer-Encoding: quoted-printable\n"
                                   "\n") + kAltHtml + crlf("\n--b1--\n"
                                   "This is the epilogue.\n")});

  c.push_back({"attachments", crlf("From: b@example.com\n"
                                   "Subject: files\n"
                                   "Content-Type: multipart/mixed; boundary=mix\n"
                                   "\n"
                                   "--mix\n"
                                   "Content-Type: text/plain; charset=iso-8859-1\n"
                                   "Content-Transfer-Encoding: quoted-printable\n"
                                   "\n"
                                   "Caf=E9 cr=E8me=\n"
                                   " br=FBl=E9e\n"
                                   "--mix\n"
                                   "Content-Type: application/pdf; name*=utf-8''%E2%82%AC%20rates.pdf\n"
                                   "Content-Disposition: attachment;\n"
                                   " filename*0*=utf-8'en'%E2%82%AC%20;\n"
                                   " filename*1=rates.pdf\n"
                                   "Content-Transfer-Encoding: base64\n"
                                   "Content-ID: <part2@example.com>\n"
                                   "Content-Description: the rates\n"
                                   "Content-Language: en, de\n"
                                   "Content-Location: http://example.com/rates.pdf\n"
                                   "\n"
                                   "JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSPj4Kc3RyZWFtCg==\n"
                                   "--mix\n"
                                   "Content-Type: image/png; name=\"=?UTF-8?B?w6lsw6luLnBuZw==?=\"\n"
                                   "Content-Transfer-Encoding: base64\n"
                                   "\n"
                                   "iVBORw0KGgo=\n"
                                   "--mix--\n")});

  c.push_back({"nested", crlf("From: outer@example.com\n"
                              "Subject: Fwd: inner\n"
                              "Content-Type: multipart/mixed; boundary=\"outer\"\n"
                              "\n"
                              "--outer\n"
                              "Content-Type: text/plain\n"
                              "\n"
                              "See attached.\n"
                              "--outer\n"
                              "Content-Type: message/rfc822\n"
                              "\n"
                              "From: Inner Person <inner@example.org>\n"
                              "To: group: a@b.example, c@d.example;\n"
                              "Subject: inner\n"
                              "Date: 2 Jan 2024 03:04:05 -0500\n"
                              "Content-Type: multipart/alternative; boundary=inner\n"
                              "\n"
                              "--inner\n"
                              "Content-Type: text/plain\n"
                              "\n"
                              "inner text\n"
                              "--inner\n"
                              "Content-Type: text/html\n"
                              "\n"
                              "<b>inner</b>\n"
                              "--inner--\n"
                              "--outer--\n")});

  c.push_back({"missing-final-boundary", crlf("From: c@example.com\n"
                                              "Content-Type: multipart/mixed; boundary=x\n"
                                              "\n"
                                              "--x\n"
                                              "Content-Type: text/plain\n"
                                              "\n"
                                              "one\n"
                                              "--x\n"
                                              "Content-Type: text/plain\n"
                                              "\n"
                                              "two, never closed\n")});

  c.push_back({"broken-boundaries", crlf("From: d@example.com\n"
                                         "Content-Type: multipart/mixed; boundary=\"q\"\n"
                                         "\n"
                                         "--qq not a boundary\n"
                                         "--q  \n"
                                         "Content-Type: multipart/alternative; boundary=\"in\"\n"
                                         "\n"
                                         "--in\n"
                                         "\n"
                                         "default typed, inner never closed\n"
                                         "--q\n"
                                         "Content-Type: text/plain\n"
                                         "\n"
                                         "--q- almost\n"
                                         "last\n"
                                         "--q--\n")});

  c.push_back({"8bit-headers", crlf("From: J\xC3\xBCrgen M\xC3\xBCller <juergen@example.de>\n"
                                    "To: Ren\xE9 <rene@example.fr>\n"
                                    "Subject: Gr\xC3\xBC\xC3\x9F" "e\n"
                                    "Content-Type: text/plain; charset=utf-8\n"
                                    "Content-Transfer-Encoding: 8bit\n"
                                    "\n"
                                    "Gr\xC3\xBC\xC3\x9F" "e\n")});

  c.push_back({"encoded-words", crlf("From: =?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>\n"
                                     "To: =?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>\n"
                                     "Subject: =?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\n"
                                     " =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=\n"
                                     "Content-Type: text/plain; charset=shift_jis\n"
                                     "\n"
                                     "\x93\xFA\x96\x7B\x8C\xEA\n")});

  c.push_back({"groups", crlf("From: \"john doe\"@example.com\n"
                              "To: undisclosed-recipients:;\n"
                              "Cc: A Group(Some people):Chris Jones <c@(Chris's host.)public.example>,\n"
                              "    joe@example.org, John <jdoe@one.test> (my dear friend); (the end)\n"
                              "Bcc: <@route.example,@two.example:user@host.example>\n"
                              "Reply-To: \n"
                              "In-Reply-To: <parent@example.com>\n"
                              "References: <root@example.com> (comment) <parent@example.com>\n"
                              "\n"
                              "body\n")});

  c.push_back({"digest", crlf("From: list@example.com\n"
                              "Content-Type: multipart/digest; boundary=d\n"
                              "\n"
                              "--d\n"
                              "\n"
                              "From: one@example.com\n"
                              "Subject: first\n"
                              "\n"
                              "first body\n"
                              "--d\n"
                              "Content-Type: text/plain\n"
                              "\n"
                              "not a message\n"
                              "--d--\n")});

  c.push_back({"no-header-body", crlf("\nbody only, no header\n")});

  // Bare LF line ends throughout (seen from broken gateways; not converted).
  c.push_back({"lf-only", "From: e@example.com\n"
                          "Content-Type: multipart/related; boundary=lf; type=\"text/html\"\n"
                          "\n"
                          "--lf\n"
                          "Content-Type: text/html\n"
                          "\n"
                          "<img src=\"cid:x\">\n"
                          "--lf\n"
                          "Content-Type: image/gif\n"
                          "Content-ID: <x>\n"
                          "Content-Transfer-Encoding: base64\n"
                          "\n"
                          "R0lG\nODlh\n"
                          "--lf--\n"});

  c.push_back({"encodings", crlf("Content-Type: multipart/mixed; boundary=\"=_enc\"\n"
                                 "\n"
                                 "--=_enc\n"
                                 "Content-Type: text/plain; charset=utf-8\n"
                                 "Content-Transfer-Encoding: quoted-printable\n"
                                 "\n"
                                 "trailing space  \n"
                                 "soft=\n"
                                 "break =3D equals, lower =c3=a9\n"
                                 "--=_enc\n"
                                 "Content-Type: application/octet-stream\n"
                                 "Content-Transfer-Encoding: BASE64\n"
                                 "\n"
                                 "AAECAwQF\n"
                                 "BgcICQoL\n"
                                 "--=_enc\n"
                                 "Content-Type: message/global\n"
                                 "\n"
                                 "Subject: =?utf-8?q?gr=C3=BC=C3=9Fe?=\n"
                                 "\n"
                                 "global body\n"
                                 "--=_enc\n"
                                 "Content-Type: text/plain; charset=iso-8859-1\n"
                                 "Content-Transfer-Encoding: 8bit\n"
                                 "\n"
                                 "caf\xE9\n"
                                 "--=_enc--\n")});
  return c;
}

}  // namespace tern::mime::testing
