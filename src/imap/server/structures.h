// The parsed MIME structure of messages, as FETCH, SEARCH, SORT and THREAD read it: the stored row
// (mime/serialize.h), or, for messages stored before structures existed or with a corrupt row, a
// parse of the blob whose result is stored so it happens only once. Runs on the blocking pool.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "imap/server/structure_cache.h"
#include "mime/message.h"
#include "store/blob_store.h"
#include "store/store.h"

namespace tern::imap::server {

// Parses message bytes and serialises the result for store::NewMessage::structure.
std::string parseForStore(std::string_view bytes);

// One entry per blob id, in order; nullptr when the blob cannot be read (logged by the caller).
// Taken from `cache` where it has them, else from the store (and then cached); missing structures
// are parsed from the blob and stored in one write. The ids must come from the account's own rows.
store::Result<std::vector<StructurePtr>> loadStructures(
    store::MailStore& mail, const store::BlobStore& blobs, StructureCache& cache, store::AccountId account,
    const std::vector<std::string>& blobIds);

// The store rows of the given UIDs (ascending), aligned with them: the session's view keeps only
// UIDs and flags, so FETCH, SEARCH and SORT read size, dates and blob ids per chunk here. A row whose
// uid is 0 was expunged meanwhile. With `withStructures`, also each message's parsed structure
// (nullptr for a gone or unreadable one). Runs on the blocking pool.
struct MessageRows {
  std::vector<store::MessageMeta> rows;
  std::vector<StructurePtr> structures;
};
store::Result<MessageRows> loadMessageRows(store::MailStore& mail, const store::BlobStore& blobs,
                                           StructureCache& cache, store::AccountId account, store::MailboxId mailbox,
                                           const std::vector<store::Uid>& uids, bool withStructures);

}  // namespace tern::imap::server
