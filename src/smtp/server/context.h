// What every SMTP/LMTP session shares: the store, the authenticator, the blocking pool, the settings
// and which of the four services (inbound MX, submission, implicit-TLS submission, LMTP) a listener runs.
// Built once by `tern serve`; sessions hold a shared_ptr to it. No untrusted input here.
#pragma once

#include <asio/thread_pool.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "auth/authenticator.h"
#include "smtp/server/recipient_cache.h"
#include "store/blob_store.h"
#include "store/store.h"

namespace tern::smtp::server {

enum class Service {
  Inbound,      // port 25: mail for our domains only, no AUTH, no relay
  Submission,   // port 587: STARTTLS, then AUTH; relays for the authenticated user
  Submissions,  // port 465: implicit TLS, then AUTH
  Lmtp,         // RFC 2033: local delivery only, per-recipient replies after DATA
};

struct SmtpSettings {
  std::string hostname = "localhost";
  uint64_t maxMessageSize = 64ull * 1024 * 1024;
  size_t maxLineLength = 4096;
  uint32_t maxRecipients = 100;
  std::chrono::seconds commandTimeout{300};
  std::chrono::seconds dataTimeout{600};
  uint32_t maxErrors = 10;
  uint32_t maxMessagesPerConnection = 100;
  std::chrono::seconds tlsHandshakeTimeout{30};
  bool tlsAvailable = true;  // STARTTLS offered (plain listeners)
};

struct SmtpContext {
  store::Directory& directory;
  store::MailStore& mail;
  store::BlobStore& blobs;
  auth::Authenticator& auth;
  asio::thread_pool& pool;
  SmtpSettings settings;
  // Called after mail for other domains was queued (the delivery scheduler's wake-up); may be empty.
  std::function<void()> onQueued;
  std::atomic<uint64_t> nextSessionId{1};
  std::atomic<uint64_t> activeSessions{0};
  RecipientCache recipients;  // RCPT's directory answers (used when the directory has a generation)
};

}  // namespace tern::smtp::server
