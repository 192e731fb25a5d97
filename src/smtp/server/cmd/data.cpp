// DATA and BDAT (RFC 3030), then delivery: the body streams through the protocol layer's readers
// (exact CRLF.CRLF, dot-unstuffing, bare CR/LF normalised, never an end of data) into a buffer bounded
// by the message size limit; then trace headers, one blob, local delivery and the outbound queue.
#include <random>

#include "smtp/protocol/data_reader.h"
#include "smtp/server/session.h"
#include "util/log.h"

namespace tern::smtp::server {

namespace {

std::string newQueueId(uint64_t session, uint32_t n) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%llx%04x%06llx", static_cast<unsigned long long>(session), n,
                static_cast<unsigned long long>(rng() & 0xffffff));
  return buf;
}

std::string notifyText(const std::optional<DsnNotify>& n) {
  if (!n) return {};
  if (n->never) return "NEVER";
  std::string out;
  auto add = [&](bool on, const char* word) {
    if (!on) return;
    if (!out.empty()) out += ',';
    out += word;
  };
  add(n->success, "SUCCESS");
  add(n->failure, "FAILURE");
  add(n->delay, "DELAY");
  return out;
}

}  // namespace

asio::awaitable<void> Session::cmdData() {
  reply(replies::startMailInput());
  bool flowing = co_await flush();
  if (!flowing) co_return;
  std::string& body = txn_->body;
  DataReader reader(ctx_->settings.maxMessageSize, [&body](std::string_view chunk) { body.append(chunk); });
  const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(ctx_->settings.dataTimeout);
  DataReader::Status status;
  for (;;) {
    std::string_view avail = pending();
    status = reader.feed(avail);
    in_.consumeUntil(avail);
    if (status != DataReader::Status::NeedMore) break;
    const bool more = co_await readMore(timeout);
    if (!more) co_return;
  }
  if (status == DataReader::Status::TooBig) {
    resetTransaction();
    reply(replies::messageTooBig());
    co_return;
  }
  if (status == DataReader::Status::BareLineEnding) {
    resetTransaction();
    reply(Reply{554, "5.6.0", {"Bare CR or LF in message"}});
    co_return;
  }
  co_await finishMessage();
}

asio::awaitable<void> Session::cmdBdat(const Bdat& c, bool refused) {
  const uint64_t limit = ctx_->settings.maxMessageSize;
  const uint64_t have = (!refused && txn_) ? txn_->body.size() : 0;
  const uint64_t room = (refused || (txn_ && txn_->tooBig)) ? 0 : (limit > have ? limit - have : 0);
  std::string* body = (!refused && txn_) ? &txn_->body : nullptr;
  BdatReader reader(c.size, room, [body](std::string_view chunk) {
    if (body) body->append(chunk);
  });
  const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(ctx_->settings.dataTimeout);
  BdatReader::Status status;
  for (;;) {
    std::string_view avail = pending();
    status = reader.feed(avail);
    in_.consumeUntil(avail);
    if (status != BdatReader::Status::NeedMore) break;
    const bool more = co_await readMore(timeout);
    if (!more) co_return;
  }
  if (refused) co_return;
  if (status == BdatReader::Status::TooBig) txn_->tooBig = true;
  if (!c.last) {
    if (txn_->tooBig) {
      // RFC 3030 2: the transaction is over; later chunks get 503 and are discarded.
      resetTransaction();
      reply(replies::messageTooBig());
      co_return;
    }
    inBdat_ = true;
    reply(replies::bdatAccepted(c.size));
    co_return;
  }
  inBdat_ = false;
  if (txn_->tooBig) {
    resetTransaction();
    reply(replies::messageTooBig());
    co_return;
  }
  co_await finishMessage();
}

asio::awaitable<void> Session::finishMessage() {
  Transaction txn = std::move(*txn_);
  resetTransaction();
  ++messages_;
  const bool lmtp = service_ == Service::Lmtp;

  // Submission: the header From must be owned too (RFC 6409 8.1 lets us refuse, and we do).
  if (isSubmission()) {
    auto froms = headerFromAddresses(txn.body);
    bool ok = froms.has_value() && !froms->empty();
    if (ok) {
      for (const auto& a : *froms) {
        const bool o = co_await ownsAddress(a);
        if (!o) {
          ok = false;
          break;
        }
      }
    }
    if (!ok) {
      reply(Reply{550, "5.7.1", {"From header address not owned by the authenticated user"}});
      co_return;
    }
  }

  TraceInfo t;
  t.heloDomain = heloDomain_;
  t.remoteIp = stream_->remoteAddress();
  t.hostname = ctx_->settings.hostname;
  t.protocol = protocolName(service_, ehlo_, stream_->isTls(), account_.has_value());
  t.queueId = newQueueId(id_, messages_);
  t.tlsVersion = stream_->tlsVersion();
  t.tlsCipher = stream_->tlsCipher();
  if (account_) t.authenticatedUser = account_->address;
  if (txn.recipients.size() == 1) t.singleRecipient = txn.recipients.front().address;
  if (txn.reversePath.mailbox) t.reversePath = txn.reversePath.mailbox->address();
  t.unixTime = static_cast<int64_t>(::time(nullptr));
  std::string message = traceHeaders(t);
  message.append(txn.body);
  txn.body.clear();
  txn.body.shrink_to_fit();

  std::vector<store::AccountId> accounts;
  store::OutboundMessage out;
  for (const auto& r : txn.recipients) {
    if (r.remote) {
      store::OutboundRecipient o;
      o.address = r.address;
      o.notify = notifyText(r.params.notify);
      if (r.params.orcpt) o.orcpt = r.params.orcpt->addrType + ";" + r.params.orcpt->encoded;
      out.recipients.push_back(std::move(o));
    } else {
      accounts.insert(accounts.end(), r.accounts.begin(), r.accounts.end());
    }
  }
  out.sender = t.reversePath;
  out.size = message.size();
  if (txn.params.ret) out.ret = *txn.params.ret == DsnRet::Full ? "FULL" : "HDRS";
  if (txn.params.envid) out.envid = *txn.params.envid;
  out.smtputf8 = txn.params.smtputf8;
  out.eightBit = txn.params.body && *txn.params.body == BodyType::EightBitMime;
  if (account_) out.submitter = account_->id;

  struct Outcome {
    store::Result<std::vector<store::DeliveryResult>> delivered{std::vector<store::DeliveryResult>{}};
    store::Result<int64_t> queued{int64_t{0}};
    std::optional<store::Error> blobError;
  };
  auto& ctx = *ctx_;
  // One transaction whatever the mix of recipients, so a retry after a failure never duplicates.
  auto persist = [&](const store::StagedBlob& blob) {
    Outcome r;
    out.blobId = blob.id;
    out.inlineBytes = blob.inlineBytes;
    store::NewMessage m;
    m.blobId = blob.id;
    m.inlineBytes = blob.inlineBytes;
    m.size = message.size();
    m.internalDate = store::DateTime{static_cast<int64_t>(::time(nullptr)), 0};
    if (accounts.empty()) r.queued = ctx.mail.enqueueOutbound(out);
    else if (out.recipients.empty()) r.delivered = ctx.mail.deliver(accounts, m);
    else r.delivered = ctx.mail.deliverAndEnqueue(accounts, m, out);
    return r;
  };
  Outcome o;
  if (message.size() <= ctx.blobs.inlineLimit()) {
    // Stored inline (almost all mail): only hashed here, and the rows with the bytes are written on
    // the store's writer as part of its next group commit; no thread waits for the fsync.
    auto blob = ctx.blobs.stage(message);
    if (!blob) {
      o.blobError = blob.error();
    } else {
      store::Result<void> commit;
      co_await net::whenCalledBack(stream_->executor(), [&](std::function<void()> done) {
        ctx.mail.runOnWriter([&] { o = persist(*blob); }, [&commit, done](store::Result<void> r) {
          commit = std::move(r);
          done();
        });
      });
      if (!commit) o.blobError = commit.error();
    }
  } else {
    // A large message's file is written and fsynced first, on the blocking pool.
    o = co_await blocking([&]() {
      auto blob = ctx.blobs.stage(message);
      if (!blob) {
        Outcome r;
        r.blobError = blob.error();
        return r;
      }
      return persist(*blob);
    });
  }

  std::optional<store::Error> failure = o.blobError;
  if (!failure && !o.queued) failure = o.queued.error();
  if (!failure && !o.delivered) failure = o.delivered.error();
  if (failure) {
    log::error("smtp") << logPrefix_ << "delivery failed: " << failure->detail;
    Reply r = storeErrorReply(*failure);
    if (lmtp) {
      for (size_t i = 0; i < txn.recipients.size(); ++i) reply(r);
    } else {
      reply(r);
    }
    co_return;
  }
  if (!out.recipients.empty() && ctx_->onQueued) ctx_->onQueued();
  log::info("smtp") << logPrefix_ << "queued id=" << t.queueId << " size=" << message.size()
                    << " local=" << accounts.size() << " remote=" << out.recipients.size();
  if (!lmtp) {
    reply(replies::messageAccepted(t.queueId));
    co_return;
  }
  // LMTP (RFC 2033 4.2): one reply per accepted RCPT, in order.
  for (const auto& r : txn.recipients) {
    bool ok = true;
    for (auto id : r.accounts) {
      for (const auto& d : *o.delivered) {
        if (d.account == id && !d.delivered) ok = false;
      }
    }
    if (ok) reply(Reply{250, "2.1.5", {"Ok: delivered to <" + r.address + ">"}});
    else reply(Reply{550, "5.1.1", {"Mailbox unavailable"}});
  }
}

}  // namespace tern::smtp::server
