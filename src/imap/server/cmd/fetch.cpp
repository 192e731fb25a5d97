// FETCH: message metadata from the view, bodies from memory-mapped blobs, sections cut from the
// original bytes (byte-exact). Sets \Seen for non-PEEK body fetches in a read-write mailbox.
// Output is flushed in chunks so a large FETCH never builds one huge buffer.
#include <algorithm>

#include "imap/protocol/response.h"
#include "imap/server/session.h"
#include "mime/header.h"
#include "util/log.h"

namespace tern::imap::server {
namespace {

bool supportedNow(const FetchAtt& a) {
  using K = FetchAtt::Kind;
  switch (a.kind) {
    case K::Flags: case K::InternalDate: case K::Rfc822: case K::Rfc822Header: case K::Rfc822Size:
    case K::Rfc822Text: case K::Uid:
      return true;
    case K::BodySection:
      return a.section.part.empty() && a.section.text != Section::Text::Mime;
    default:
      return false;  // ENVELOPE, BODYSTRUCTURE, BINARY, parts: the MIME parser's work
  }
}

bool needsBody(const FetchAtt& a) {
  using K = FetchAtt::Kind;
  return a.kind == K::Rfc822 || a.kind == K::Rfc822Header || a.kind == K::Rfc822Text || a.kind == K::BodySection;
}

bool setsSeen(const FetchAtt& a) {
  using K = FetchAtt::Kind;
  return a.kind == K::Rfc822 || a.kind == K::Rfc822Text || (a.kind == K::BodySection && !a.peek);
}

std::string sectionName(const Section& s) {
  std::string out = "BODY[";
  switch (s.text) {
    case Section::Text::None: break;
    case Section::Text::Header: out += "HEADER"; break;
    case Section::Text::Text: out += "TEXT"; break;
    case Section::Text::Mime: out += "MIME"; break;
    case Section::Text::HeaderFields:
    case Section::Text::HeaderFieldsNot: {
      out += s.text == Section::Text::HeaderFields ? "HEADER.FIELDS (" : "HEADER.FIELDS.NOT (";
      for (size_t i = 0; i < s.fields.size(); ++i) {
        if (i) out += ' ';
        appendAstring(out, s.fields[i], false);
      }
      out += ')';
      break;
    }
  }
  out += ']';
  return out;
}

void appendLiteral(std::string& out, std::string_view bytes) {
  out += '{';
  out += std::to_string(bytes.size());
  out += "}\r\n";
  out += bytes;
}

}  // namespace

asio::awaitable<void> Session::cmdFetch(const std::string& tag, const Fetch& c) {
  auto msns = resolveSet(c.set, c.uid);
  if (!msns) {
    bad(tag, "", "Invalid message sequence number");
    co_return;
  }
  bool wantsBody = false, wantsSeen = false, hasUid = false, hasFlags = false;
  for (const auto& a : c.atts) {
    if (!supportedNow(a)) {
      bad(tag, "", "FETCH item not supported");
      co_return;
    }
    wantsBody = wantsBody || needsBody(a);
    wantsSeen = wantsSeen || setsSeen(a);
    hasUid = hasUid || a.kind == FetchAtt::Kind::Uid;
    hasFlags = hasFlags || a.kind == FetchAtt::Kind::Flags;
  }
  if (c.changedSince || c.vanished) {
    bad(tag, "", "CONDSTORE is not enabled");
    co_return;
  }

  // Implicit \Seen, stored durably before the data goes out.
  std::vector<bool> seenChanged(msns->size(), false);
  if (wantsSeen && !view_->readOnly()) {
    std::vector<store::Uid> unseen;
    for (uint32_t msn : *msns)
      if (!(view_->at(msn).flags.system & store::kSeen)) unseen.push_back(view_->at(msn).uid);
    if (!unseen.empty()) {
      const auto account = account_->id;
      const auto mailbox = view_->id();
      store::Flags seen;
      seen.system = store::kSeen;
      auto r = co_await blocking(
          [&] { return ctx_->mail.storeFlags(account, mailbox, unseen, store::FlagOp::Add, seen); });
      if (!r) {
        noStore(tag, r.error(), "FETCH");
        co_return;
      }
      for (const auto& u : r->updated) view_->setFlags(u.uid, u.flags, u.modSeq);
      for (size_t i = 0; i < msns->size(); ++i)
        seenChanged[i] = std::find(unseen.begin(), unseen.end(), view_->at((*msns)[i]).uid) != unseen.end();
    }
  }

  bool missingBlob = false;
  for (size_t i = 0; i < msns->size(); ++i) {
    const uint32_t msn = (*msns)[i];
    const ViewMessage& m = view_->at(msn);
    std::shared_ptr<const store::Blob> blob;
    if (wantsBody) {
      auto b = ctx_->blobs.open(m.blobId);
      if (!b) {
        log::error("imap") << logPrefix_ << "blob " << m.blobId << " unreadable: " << b.error().detail;
        missingBlob = true;
        continue;
      }
      blob = *b;
    }
    std::string line = "* " + std::to_string(msn) + " FETCH (";
    bool first = true;
    auto item = [&](std::string_view name) {
      if (!first) line += ' ';
      first = false;
      line += name;
    };
    if (c.uid && !hasUid) item("UID " + std::to_string(m.uid));
    if (seenChanged[i] && !hasFlags) item("FLAGS " + formatFlags(m.flags, m.recent && !rev2_));
    for (const auto& a : c.atts) {
      using K = FetchAtt::Kind;
      switch (a.kind) {
        case K::Flags: item("FLAGS " + formatFlags(m.flags, m.recent && !rev2_)); break;
        case K::Uid: item("UID " + std::to_string(m.uid)); break;
        case K::InternalDate:
          item("INTERNALDATE " + formatDateTime(DateTime{m.internalDate.unixSeconds, m.internalDate.tzOffsetMinutes}));
          break;
        case K::Rfc822Size: item("RFC822.SIZE " + std::to_string(m.size)); break;
        case K::Rfc822:
          item("RFC822 ");
          appendLiteral(line, blob->bytes());
          break;
        case K::Rfc822Header:
          item("RFC822.HEADER ");
          appendLiteral(line, mime::splitHeader(blob->bytes()).header);
          break;
        case K::Rfc822Text:
          item("RFC822.TEXT ");
          appendLiteral(line, mime::splitHeader(blob->bytes()).body);
          break;
        case K::BodySection: {
          std::string_view whole = blob->bytes();
          std::string selected;
          std::string_view data;
          auto split = mime::splitHeader(whole);
          switch (a.section.text) {
            case Section::Text::None: data = whole; break;
            case Section::Text::Header: data = split.header; break;
            case Section::Text::Text: data = split.body; break;
            case Section::Text::HeaderFields:
            case Section::Text::HeaderFieldsNot:
              selected = mime::selectHeaderFields(split.header, a.section.fields,
                                                  a.section.text == Section::Text::HeaderFieldsNot);
              data = selected;
              break;
            case Section::Text::Mime: break;
          }
          std::string name = sectionName(a.section);
          if (a.partial) {
            uint64_t off = std::min<uint64_t>(a.partial->offset, data.size());
            data = data.substr(off, std::min<uint64_t>(a.partial->length, data.size() - off));
            name += "<" + std::to_string(a.partial->offset) + ">";
          }
          item(name + " ");
          appendLiteral(line, data);
          break;
        }
        default: break;
      }
    }
    line += ")\r\n";
    send(line);
    if (!co_await flushIfLarge()) co_return;
  }
  if (missingBlob)
    no(tag, "SERVERBUG", "Some messages could not be read");
  else
    ok(tag, "FETCH completed");
}

}  // namespace tern::imap::server
