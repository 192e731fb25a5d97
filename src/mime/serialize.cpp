// ParsedMessage <-> bytes: LEB128 varints and length-prefixed strings, fields in a fixed order.
// Reading is bounds-checked everywhere; recursion is limited to kMaxDepth.
#include "mime/serialize.h"

namespace tern::mime {

namespace {

constexpr unsigned char kVersion = 1;
constexpr size_t kMaxDepth = 256;

class Writer {
 public:
  void u(uint64_t v) {
    while (v >= 0x80) {
      out_ += static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    out_ += static_cast<char>(v);
  }
  void s(std::string_view v) {
    u(v.size());
    out_.append(v);
  }
  void os(const std::optional<std::string>& v) {
    u(v ? 1 : 0);
    if (v) s(*v);
  }
  void params(const Params& ps) {
    u(ps.size());
    for (const auto& p : ps) {
      s(p.name);
      s(p.value);
      s(p.language);
    }
  }
  void addresses(const std::vector<Address>& as) {
    u(as.size());
    for (const auto& a : as) {
      u(static_cast<uint64_t>(a.kind));
      u(a.hasName ? 1 : 0);
      s(a.name);
      s(a.route);
      s(a.mailbox);
      s(a.host);
    }
  }
  void envelope(const Envelope& e) {
    os(e.date);
    os(e.subject);
    os(e.inReplyTo);
    os(e.messageId);
    for (const auto* l : {&e.from, &e.sender, &e.replyTo, &e.to, &e.cc, &e.bcc}) addresses(*l);
  }
  void part(const Part& p) {
    for (size_t v : {p.headerOffset, p.headerSize, p.bodyOffset, p.bodySize, p.bodyLines}) u(v);
    s(p.type);
    s(p.subtype);
    params(p.params);
    u(p.hasContentType ? 1 : 0);
    os(p.id);
    os(p.description);
    os(p.md5);
    os(p.location);
    s(p.encoding);
    s(p.disposition);
    params(p.dispositionParams);
    u(p.language.size());
    for (const auto& l : p.language) s(l);
    u(p.envelope ? 1 : 0);
    if (p.envelope) envelope(*p.envelope);
    u(p.children.size());
    for (const auto& c : p.children) part(c);
  }
  std::string& out() { return out_; }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view d) : d_(d) {}
  bool ok() const { return ok_; }
  bool atEnd() const { return i_ == d_.size(); }
  uint64_t u() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (i_ >= d_.size()) return fail();
      auto b = static_cast<unsigned char>(d_[i_++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    return fail();
  }
  bool b() { return u() != 0; }
  // A count of items that each take at least one byte.
  size_t count() {
    uint64_t n = u();
    if (n > d_.size() - i_) return static_cast<size_t>(fail());
    return static_cast<size_t>(n);
  }
  std::string s() {
    size_t n = count();
    if (!ok_) return {};
    std::string v(d_.substr(i_, n));
    i_ += n;
    return v;
  }
  std::optional<std::string> os() {
    if (!b()) return std::nullopt;
    return s();
  }
  Params params() {
    // Grown item by item so a corrupt count cannot make us allocate far more than the input.
    Params ps;
    for (size_t n = count(); n > 0 && ok_; --n) {
      Param& p = ps.emplace_back();
      p.name = s();
      p.value = s();
      p.language = s();
    }
    return ps;
  }
  std::vector<Address> addresses() {
    std::vector<Address> as;
    for (size_t n = count(); n > 0 && ok_; --n) {
      Address& a = as.emplace_back();
      uint64_t k = u();
      if (k > 2) fail();
      a.kind = static_cast<Address::Kind>(k);
      a.hasName = b();
      a.name = s();
      a.route = s();
      a.mailbox = s();
      a.host = s();
    }
    return as;
  }
  Envelope envelope() {
    Envelope e;
    e.date = os();
    e.subject = os();
    e.inReplyTo = os();
    e.messageId = os();
    for (auto* l : {&e.from, &e.sender, &e.replyTo, &e.to, &e.cc, &e.bcc}) *l = addresses();
    return e;
  }
  void part(Part& p, size_t depth) {
    if (depth > kMaxDepth) {
      fail();
      return;
    }
    for (size_t* v : {&p.headerOffset, &p.headerSize, &p.bodyOffset, &p.bodySize, &p.bodyLines})
      *v = static_cast<size_t>(u());
    p.type = s();
    p.subtype = s();
    p.params = params();
    p.hasContentType = b();
    p.id = os();
    p.description = os();
    p.md5 = os();
    p.location = os();
    p.encoding = s();
    p.disposition = s();
    p.dispositionParams = params();
    for (size_t n = count(); n > 0 && ok_; --n) p.language.push_back(s());
    if (b()) p.envelope = envelope();
    for (size_t n = count(); n > 0 && ok_; --n) part(p.children.emplace_back(), depth + 1);
  }

 private:
  uint64_t fail() {
    ok_ = false;
    i_ = d_.size();
    return 0;
  }
  std::string_view d_;
  size_t i_ = 0;
  bool ok_ = true;
};

}  // namespace

std::string serializeMessage(const ParsedMessage& m) {
  Writer w;
  w.out() += static_cast<char>(kVersion);
  w.u(m.size);
  w.u(m.truncated ? 1 : 0);
  w.part(m.root);
  w.envelope(m.envelope);
  const SortFields& s = m.sort;
  w.s(s.subject);
  w.s(s.baseSubject);
  w.u(s.date ? 1 : 0);
  if (s.date) {
    w.u(static_cast<uint64_t>(s.date->unixTime));
    w.u(static_cast<uint64_t>(static_cast<int64_t>(s.date->zoneMinutes)));
  }
  for (const auto* v : {&s.fromMailbox, &s.fromDisplay, &s.toMailbox, &s.toDisplay, &s.ccMailbox, &s.messageId})
    w.s(*v);
  for (const auto* l : {&s.inReplyTo, &s.references}) {
    w.u(l->size());
    for (const auto& id : *l) w.s(id);
  }
  return std::move(w.out());
}

std::optional<ParsedMessage> deserializeMessage(std::string_view data) {
  if (data.empty() || static_cast<unsigned char>(data[0]) != kVersion) return std::nullopt;
  Reader r(data.substr(1));
  ParsedMessage m;
  m.size = static_cast<size_t>(r.u());
  m.truncated = r.b();
  r.part(m.root, 0);
  m.envelope = r.envelope();
  SortFields& s = m.sort;
  s.subject = r.s();
  s.baseSubject = r.s();
  if (r.b()) {
    Date d;
    d.unixTime = static_cast<int64_t>(r.u());
    d.zoneMinutes = static_cast<int>(static_cast<int64_t>(r.u()));
    s.date = d;
  }
  for (auto* v : {&s.fromMailbox, &s.fromDisplay, &s.toMailbox, &s.toDisplay, &s.ccMailbox, &s.messageId})
    *v = r.s();
  for (auto* l : {&s.inReplyTo, &s.references}) {
    for (size_t n = r.count(); n > 0 && r.ok(); --n) l->push_back(r.s());
  }
  if (!r.ok() || !r.atEnd()) return std::nullopt;
  return m;
}

}  // namespace tern::mime
