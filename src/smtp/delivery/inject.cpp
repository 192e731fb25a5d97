// Delivery of server-generated mail (see inject.h). Input is our own report text; recipient addresses
// come from the queue (validated when they were accepted over SMTP).
#include "smtp/delivery/inject.h"

#include <ctime>

#include "util/log.h"
#include "util/strings.h"

namespace tern::smtp::delivery {

InjectResult injectMessage(store::Directory& directory, store::MailStore& mail, store::BlobStore& blobs,
                           std::string_view message, std::string_view sender,
                           const std::vector<std::string>& recipients) {
  InjectResult out;
  std::vector<store::AccountId> accounts;
  store::OutboundMessage outbound;
  for (const auto& r : recipients) {
    auto resolved = directory.resolveAddress(r);
    if (!resolved) {
      out.error = "cannot resolve <" + r + ">: " + resolved.error().detail;
      return out;
    }
    if (!resolved->empty()) {
      for (const auto& a : *resolved) accounts.push_back(a.id);
      continue;
    }
    const size_t at = r.rfind('@');
    auto local = directory.hasDomain(at == std::string::npos ? std::string_view() : std::string_view(r).substr(at + 1));
    if (local && *local) {
      log::warn("queue") << "report for <" << log::escape(r) << "> dropped: no such local address";
      continue;
    }
    outbound.recipients.push_back(store::OutboundRecipient{r, "NEVER", ""});
  }
  if (accounts.empty() && outbound.recipients.empty()) {
    out.ok = true;
    return out;
  }
  auto blob = blobs.stage(message);
  if (!blob) {
    out.error = "cannot store: " + blob.error().detail;
    return out;
  }
  store::NewMessage m;
  m.blobId = blob->id;
  m.inlineBytes = blob->inlineBytes;
  m.size = message.size();
  m.internalDate = store::DateTime{static_cast<int64_t>(::time(nullptr)), 0};
  outbound.sender = std::string(sender);
  outbound.blobId = blob->id;
  outbound.inlineBytes = blob->inlineBytes;
  outbound.size = message.size();
  store::Result<std::vector<store::DeliveryResult>> delivered{std::vector<store::DeliveryResult>{}};
  store::Result<int64_t> queued{int64_t{0}};
  if (accounts.empty()) queued = mail.enqueueOutbound(outbound);
  else if (outbound.recipients.empty()) delivered = mail.deliver(accounts, m);
  else delivered = mail.deliverAndEnqueue(accounts, m, outbound);
  if (!delivered) {
    out.error = delivered.error().detail;
    return out;
  }
  if (!queued) {
    out.error = queued.error().detail;
    return out;
  }
  for (const auto& d : *delivered) out.delivered += d.delivered ? 1 : 0;
  out.queued = !outbound.recipients.empty();
  out.ok = true;
  return out;
}

}  // namespace tern::smtp::delivery
