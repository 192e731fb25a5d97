// Fills one mailbox of an existing account with N generated messages through the real store code
// path (BlobStore::put, then MailStore::append in batches), for the scale benchmarks. Run it while no
// server writes to the same data directory. Bench-only; reads no untrusted input.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "mime/message.h"
#include "mime/serialize.h"
#include "store/sqlite/sqlite_store.h"

namespace {

std::string makeMessage(size_t i) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "From: Sender %zu <sender%zu@example.test>\r\n"
                "To: alice@example.test\r\n"
                "Subject: Generated message %zu\r\n"
                "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
                "Message-ID: <gen-%zu@example.test>\r\n"
                "\r\n"
                "Body of generated message %zu.\r\n",
                i % 97, i % 97, i, i, i);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s DATA_DIR ACCOUNT MAILBOX COUNT [DISTINCT_BLOBS] [BATCH]\n", argv[0]);
    return 2;
  }
  const std::string dataDir = argv[1], address = argv[2], mailboxName = argv[3];
  const size_t count = std::strtoull(argv[4], nullptr, 10);
  const size_t distinct = argc > 5 ? std::strtoull(argv[5], nullptr, 10) : 1000;
  const size_t batchSize = argc > 6 ? std::strtoull(argv[6], nullptr, 10) : 10000;
  tern::store::SqliteOptions opts;
  opts.externalPollInterval = std::chrono::milliseconds(0);
  auto store = tern::store::SqliteStore::open(dataDir, opts);
  if (!store) {
    std::fprintf(stderr, "open: %s\n", store.error().detail.c_str());
    return 1;
  }
  auto account = (*store)->findAccount(address);
  if (!account || !*account) {
    std::fprintf(stderr, "no account %s\n", address.c_str());
    return 1;
  }
  const auto accountId = (**account).id;
  auto mbox = (*store)->findMailbox(accountId, mailboxName);
  if (!mbox) {
    std::fprintf(stderr, "no mailbox %s\n", mailboxName.c_str());
    return 1;
  }
  // A few distinct blobs, reused round-robin: content addressing dedupes them as it would real copies.
  std::vector<std::string> blobIds, structures;
  std::vector<uint64_t> sizes;
  for (size_t i = 0; i < std::max<size_t>(1, distinct); ++i) {
    std::string bytes = makeMessage(i);
    auto id = (*store)->blobs().put(bytes);
    if (!id) {
      std::fprintf(stderr, "blob put: %s\n", id.error().detail.c_str());
      return 1;
    }
    blobIds.push_back(*id);
    structures.push_back(tern::mime::serializeMessage(tern::mime::parseMessage(bytes)));
    sizes.push_back(bytes.size());
  }
  const auto start = std::chrono::steady_clock::now();
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  size_t done = 0;
  while (done < count) {
    std::vector<tern::store::NewMessage> batch;
    const size_t n = std::min(batchSize, count - done);
    batch.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      const size_t k = (done + i) % blobIds.size();
      tern::store::NewMessage m;
      m.blobId = blobIds[k];
      m.size = sizes[k];
      m.internalDate = {now - static_cast<int64_t>(count - done - i), 0};
      if ((done + i) % 3 == 0) m.flags.system = tern::store::kSeen;
      if ((done + i) % 50 == 0) m.flags.keywords = {"$Important"};
      m.structure = structures[k];
      batch.push_back(std::move(m));
    }
    auto r = (*store)->append(accountId, mbox->id, batch);
    if (!r) {
      std::fprintf(stderr, "append: %s\n", r.error().detail.c_str());
      return 1;
    }
    done += n;
    if (done % 100000 == 0 || done == count)
      std::fprintf(stderr, "%zu messages, %.1f s\n", done,
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return 0;
}
