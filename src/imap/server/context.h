// What every IMAP session shares: the store, the authenticator, the blocking pool and the settings.
// Built once by `tern serve`; sessions hold a shared_ptr to it.
#pragma once

#include <asio/thread_pool.hpp>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "auth/authenticator.h"
#include "imap/server/index_cache.h"
#include "imap/server/structure_cache.h"
#include "imap/protocol/reader.h"
#include "store/blob_store.h"
#include "store/change_hub.h"
#include "store/store.h"

namespace tern::imap::server {

struct ImapSettings {
  std::string hostname = "localhost";
  ReaderLimits reader;
  uint64_t maxMessageSize = 64ull * 1024 * 1024;
  std::chrono::seconds preAuthTimeout{60};
  std::chrono::seconds idleTimeout{30 * 60};
  uint32_t maxBadCommands = 20;
  std::vector<std::string> trustedNetworks = {"127.0.0.1/32", "::1/128"};
  bool tlsAvailable = true;  // STARTTLS offered
};

struct ImapContext {
  store::Directory& directory;
  store::MailStore& mail;
  store::BlobStore& blobs;
  store::ChangeHub& hub;
  auth::Authenticator& auth;
  asio::thread_pool& pool;
  ImapSettings settings;
  std::atomic<uint64_t> nextSessionId{1};
  std::atomic<uint64_t> activeSessions{0};
  IndexCache indexCache;  // SELECT of large mailboxes (index_cache.h)
  StructureCache structures;  // parsed messages for FETCH, SEARCH, SORT (structure_cache.h)
};

}  // namespace tern::imap::server
