// Mail the server writes itself (delivery reports): stored once, then delivered like any message:
// local recipients get it in their INBOX, others are queued. Blocking; run on the blocking pool.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "store/blob_store.h"
#include "store/store.h"

namespace tern::smtp::delivery {

struct InjectResult {
  bool ok = false;
  size_t delivered = 0;  // local INBOXes
  bool queued = false;   // remote recipients went to the queue
  std::string error;
};

// `sender` is the reverse path for queued copies ("" for reports). Local addresses that resolve to
// no account are dropped with a log line (a report to a vanished local sender has nowhere to go).
InjectResult injectMessage(store::Directory& directory, store::MailStore& mail, store::BlobStore& blobs,
                           std::string_view message, std::string_view sender,
                           const std::vector<std::string>& recipients);

}  // namespace tern::smtp::delivery
