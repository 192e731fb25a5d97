// FETCH: metadata from the view; ENVELOPE, BODYSTRUCTURE and section offsets from the stored parse
// (never re-parsed here); bytes cut from memory-mapped blobs (byte-exact). BINARY decodes the
// transfer encoding. Sets \Seen for non-PEEK body fetches in a read-write mailbox. Output is flushed
// in chunks, and store rows (size, date, blob) and structures are loaded per chunk, so a large FETCH
// never builds one huge buffer.
#include <algorithm>
#include <cstring>

#include "imap/protocol/message_structure.h"
#include "imap/protocol/response.h"
#include "imap/server/message_text.h"
#include "imap/server/session.h"
#include "imap/server/structures.h"
#include "mime/decode.h"
#include "mime/header.h"
#include "util/log.h"

namespace tern::imap::server {
namespace {

constexpr size_t kChunk = 256;  // messages whose structures are loaded at once

bool supportedNow(const FetchAtt& a) {
  using K = FetchAtt::Kind;
  switch (a.kind) {
    case K::ModSeq: case K::SaveDate: return false;  // CONDSTORE / SAVEDATE are not offered
    default: return true;
  }
}

bool needsBlob(const FetchAtt& a) {
  using K = FetchAtt::Kind;
  return a.kind == K::Rfc822 || a.kind == K::Rfc822Header || a.kind == K::Rfc822Text ||
         a.kind == K::BodySection || a.kind == K::Binary || a.kind == K::BinarySize || a.kind == K::Preview;
}

bool needsStructure(const FetchAtt& a) {
  using K = FetchAtt::Kind;
  return a.kind == K::Envelope || a.kind == K::Body || a.kind == K::BodyStructure || a.kind == K::Binary ||
         a.kind == K::BinarySize || a.kind == K::Preview ||
         (a.kind == K::BodySection && (!a.section.part.empty() || a.section.text == Section::Text::Mime));
}

// INTERNALDATE and RFC822.SIZE are not in the view: they come from the store row.
bool needsRow(const FetchAtt& a) {
  using K = FetchAtt::Kind;
  return a.kind == K::InternalDate || a.kind == K::Rfc822Size || needsBlob(a) || needsStructure(a);
}

bool setsSeen(const FetchAtt& a) {
  using K = FetchAtt::Kind;
  return a.kind == K::Rfc822 || a.kind == K::Rfc822Text || ((a.kind == K::BodySection || a.kind == K::Binary) && !a.peek);
}

std::string partName(const std::vector<uint32_t>& part) {
  std::string out;
  for (size_t i = 0; i < part.size(); ++i) {
    if (i) out += '.';
    out += std::to_string(part[i]);
  }
  return out;
}

std::string sectionName(const char* prefix, const Section& s) {
  std::string out = prefix;
  out += '[';
  out += partName(s.part);
  if (s.text != Section::Text::None && !s.part.empty()) out += '.';
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

void appendLiteral(std::string& out, std::string_view bytes, bool binary = false) {
  if (binary) out += '~';
  out += '{';
  out += std::to_string(bytes.size());
  out += "}\r\n";
  out += bytes;
}

std::string_view slice(std::string_view whole, size_t offset, size_t size) {
  if (offset > whole.size()) return {};
  return whole.substr(offset, std::min(size, whole.size() - offset));
}

std::string_view applyPartial(std::string_view data, const std::optional<Partial>& p) {
  if (!p) return data;
  uint64_t off = std::min<uint64_t>(p->offset, data.size());
  return data.substr(off, std::min<uint64_t>(p->length, data.size() - off));
}

// The bytes of BODY[section]; nullopt when the section names nothing (answered with NIL).
std::optional<std::string> bodySection(std::string_view whole, const mime::ParsedMessage* parsed, const Section& s) {
  using T = Section::Text;
  if (s.part.empty()) {
    auto split = mime::splitHeader(whole);
    switch (s.text) {
      case T::None: return std::string(whole);
      case T::Header: return std::string(split.header);
      case T::Text: return std::string(split.body);
      case T::HeaderFields:
      case T::HeaderFieldsNot:
        return mime::selectHeaderFields(split.header, s.fields, s.text == T::HeaderFieldsNot);
      case T::Mime: return std::nullopt;
    }
    return std::nullopt;
  }
  if (!parsed) return std::nullopt;
  const mime::Part* p = mime::findPart(*parsed, s.part);
  if (!p) return std::nullopt;
  if (s.text == T::None) return std::string(slice(whole, p->bodyOffset, p->bodySize));
  if (s.text == T::Mime) return std::string(slice(whole, p->headerOffset, p->headerSize));
  // HEADER, HEADER.FIELDS, TEXT of a part: only for an encapsulated message.
  if (!p->hasNestedMessage()) return std::nullopt;
  const mime::Part& inner = p->children[0];
  std::string_view header = slice(whole, inner.headerOffset, inner.headerSize);
  switch (s.text) {
    case T::Header: return std::string(header);
    case T::Text: return std::string(slice(whole, inner.bodyOffset, inner.bodySize));
    case T::HeaderFields:
    case T::HeaderFieldsNot: return mime::selectHeaderFields(header, s.fields, s.text == T::HeaderFieldsNot);
    default: return std::nullopt;
  }
}

enum class BinaryStatus { Ok, NoPart, UnknownCte };
// The decoded bytes of BINARY[part]. A multipart or message part is returned as is (no encoding of
// its own may be other than identity, RFC 2045 6.4).
BinaryStatus binarySection(std::string_view whole, const mime::ParsedMessage& parsed, const Section& s,
                           std::string& out) {
  if (s.part.empty()) {
    out.assign(whole);
    return BinaryStatus::Ok;
  }
  const mime::Part* p = mime::findPart(parsed, s.part);
  if (!p) return BinaryStatus::NoPart;
  std::string_view body = slice(whole, p->bodyOffset, p->bodySize);
  if (p->isMultipart() || p->hasNestedMessage()) {
    out.assign(body);
    return BinaryStatus::Ok;
  }
  auto decoded = mime::decodeBody(body, p->encoding);
  if (!decoded) return BinaryStatus::UnknownCte;
  out = std::move(*decoded);
  return BinaryStatus::Ok;
}

// Appends the requested items of one message to its FETCH line; false for an unknown transfer
// encoding in BINARY (RFC 3516 4.3). A plain function, so the coroutine frame stays small.
bool appendItems(std::string& line, bool& first, const Fetch& c, const ViewMessage& m, const store::MessageMeta* row,
                 const store::Blob* blob, const CachedStructure* structure, bool utf8, bool showRecent) {
  const mime::ParsedMessage* parsed = structure ? &structure->parsed() : nullptr;
  auto item = [&](std::string_view name) {
    if (!first) line += ' ';
    first = false;
    line += name;
  };
  for (const auto& a : c.atts) {
    using K = FetchAtt::Kind;
    switch (a.kind) {
      case K::Flags: item("FLAGS " + formatFlags(m.flags, showRecent)); break;
      case K::Uid: item("UID " + std::to_string(m.uid)); break;
      case K::InternalDate:
        item("INTERNALDATE " + formatDateTime(DateTime{row->internalDate.unixSeconds, row->internalDate.tzOffsetMinutes}));
        break;
      case K::Rfc822Size: item("RFC822.SIZE " + std::to_string(row->size)); break;
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
      case K::Envelope:
        item("ENVELOPE ");
        line += structure->envelope(utf8);
        break;
      case K::Body:
        item("BODY ");
        line += structure->bodyStructure(false, utf8);
        break;
      case K::BodyStructure:
        item("BODYSTRUCTURE ");
        line += structure->bodyStructure(true, utf8);
        break;
      case K::BodySection: {
        std::string name = sectionName("BODY", a.section);
        if (a.partial) name += "<" + std::to_string(a.partial->offset) + ">";
        item(name + " ");
        auto data = bodySection(blob->bytes(), parsed, a.section);
        if (!data)
          line += "NIL";
        else
          appendLiteral(line, applyPartial(*data, a.partial));
        break;
      }
      case K::Binary:
      case K::BinarySize: {
        std::string decoded;
        auto st = binarySection(blob->bytes(), *parsed, a.section, decoded);
        if (st == BinaryStatus::UnknownCte) return false;
        if (a.kind == K::BinarySize) {
          item(sectionName("BINARY.SIZE", a.section) + " " +
               std::to_string(st == BinaryStatus::NoPart ? 0 : decoded.size()));
          break;
        }
        std::string name = sectionName("BINARY", a.section);
        if (a.partial) name += "<" + std::to_string(a.partial->offset) + ">";
        item(name + " ");
        if (st == BinaryStatus::NoPart) {
          line += "NIL";
        } else {
          std::string_view data = applyPartial(decoded, a.partial);
          appendLiteral(line, data, std::memchr(data.data(), '\0', data.size()) != nullptr);
        }
        break;
      }
      case K::Preview: {
        item("PREVIEW ");
        std::string text = previewText(blob->bytes(), *parsed);
        appendString(line, text, utf8);
        break;
      }
      default: break;
    }
  }
  return true;
}

}  // namespace

asio::awaitable<void> Session::cmdFetch(const std::string& tag, const Fetch& c) {
  auto msns = resolveSet(c.set, c.uid);
  if (!msns) {
    bad(tag, "", "Invalid message sequence number");
    co_return;
  }
  bool wantsBlob = false, wantsStructure = false, wantsRow = false, wantsSeen = false, hasUid = false, hasFlags = false;
  for (const auto& a : c.atts) {
    if (!supportedNow(a)) {
      bad(tag, "", "FETCH item not supported");
      co_return;
    }
    wantsBlob = wantsBlob || needsBlob(a);
    wantsStructure = wantsStructure || needsStructure(a);
    wantsRow = wantsRow || needsRow(a);
    wantsSeen = wantsSeen || setsSeen(a);
    hasUid = hasUid || a.kind == FetchAtt::Kind::Uid;
    hasFlags = hasFlags || a.kind == FetchAtt::Kind::Flags;
  }
  if (c.changedSince || c.vanished) {
    bad(tag, "", "CONDSTORE is not enabled");
    co_return;
  }
  const bool utf8 = rev2_ || utf8Accept_;

  // Implicit \Seen, stored durably before the data goes out.
  std::vector<bool> seenChanged(msns->size(), false);
  if (wantsSeen && !view_->readOnly()) {
    std::vector<store::Uid> unseen;
    for (uint32_t msn : *msns)
      if (!(view_->at(msn).flags.system & store::kSeen)) unseen.push_back(view_->uidAt(msn));
    if (!unseen.empty()) {
      const auto account = account_->id;
      const auto mailbox = view_->id();
      store::Flags seen;
      seen.system = store::kSeen;
      auto r = co_await writing(
          [&] { return ctx_->mail.storeFlags(account, mailbox, unseen, store::FlagOp::Add, seen); });
      if (!r) {
        noStore(tag, r.error(), "FETCH");
        co_return;
      }
      for (const auto& u : r->updated) view_->setFlags(u.uid, u.flags, u.modSeq);
      std::sort(unseen.begin(), unseen.end());
      for (size_t i = 0; i < msns->size(); ++i)
        seenChanged[i] = std::binary_search(unseen.begin(), unseen.end(), view_->uidAt((*msns)[i]));
    }
  }

  bool missingBlob = false, expunged = false;
  MessageRows chunk;  // store rows (and structures) of the current chunk, when the items need them
  for (size_t i = 0; i < msns->size(); ++i) {
    const uint32_t msn = (*msns)[i];
    if (wantsRow && i % kChunk == 0) {
      std::vector<store::Uid> uids;
      for (size_t j = i; j < std::min(msns->size(), i + kChunk); ++j) uids.push_back(view_->uidAt((*msns)[j]));
      const auto account = account_->id;
      const auto mailbox = view_->id();
      // At most kChunk indexed rows and stored structures: on the worker, like the blob reads below.
      auto loaded =
          loadMessageRows(ctx_->mail, ctx_->blobs, ctx_->structures, account, mailbox, uids, wantsStructure);
      if (!loaded) {
        noStore(tag, loaded.error(), "FETCH");
        co_return;
      }
      chunk = std::move(*loaded);
    }
    const ViewMessage m = view_->at(msn);
    const store::MessageMeta* row = wantsRow ? &chunk.rows[i % kChunk] : nullptr;
    if (row && row->uid == 0) {
      // Expunged by another session and not yet announced here: its data is gone (RFC 9051 7.1).
      expunged = true;
      continue;
    }
    const CachedStructure* structure = wantsStructure ? chunk.structures[i % kChunk].get() : nullptr;
    std::shared_ptr<const store::Blob> blob;
    if (wantsBlob || (wantsStructure && !structure)) {
      auto b = ctx_->blobs.open(row->blobId);
      if (!b) {
        log::error("imap") << logPrefix_ << "blob " << row->blobId << " unreadable: " << b.error().detail;
        missingBlob = true;
        continue;
      }
      blob = *b;
    }
    if (wantsStructure && !structure) {  // the blob opened but no structure: cannot happen unless the store failed
      missingBlob = true;
      continue;
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
    if (!appendItems(line, first, c, m, row, blob.get(), structure, utf8, m.recent && !rev2_)) {
      // RFC 3516 4.3: the whole FETCH fails; what was sent for earlier messages stands.
      no(tag, "UNKNOWN-CTE", "Unknown Content-Transfer-Encoding");
      co_return;
    }
    line += ")\r\n";
    send(line);
    const bool flowing = co_await flushIfLarge();
    if (!flowing) co_return;
  }
  if (missingBlob)
    no(tag, "SERVERBUG", "Some messages could not be read");
  else if (expunged)
    no(tag, "EXPUNGEISSUED", "Some messages were expunged meanwhile");
  else
    ok(tag, "FETCH completed");
}

}  // namespace tern::imap::server
