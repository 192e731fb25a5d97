// SORT (RFC 5256 section 3, DISPLAYFROM/DISPLAYTO of RFC 5957) and THREAD (ORDEREDSUBJECT and
// REFERENCES, RFC 5256 sections 4-5) over already-extracted header values. Pure; the values came from
// untrusted headers, so reference chains are cycle-checked and all work is O(n log n) or bounded by
// the number of references.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "imap/protocol/command.h"
#include "mime/message.h"

namespace tern::imap::server {

struct SortItem {
  uint32_t number = 0;        // what is reported (MSN or UID)
  uint32_t msn = 0;           // the final tie-breaker (sequence order)
  uint64_t size = 0;
  int64_t internalDate = 0;   // unix seconds
  const mime::SortFields* fields = nullptr;  // never null
};

// The numbers of `items` in the order the criteria give (ties: sequence number).
std::vector<uint32_t> sortMessages(const std::vector<SortItem>& items, const std::vector<SortCriterion>& criteria);

// The sent date as SORT/THREAD use it: the Date: header, or the internal date when it has none.
int64_t sentDate(const SortItem& item);

// The THREAD response data (the thread lists, without "* THREAD"), e.g. "(1 2)(3 (4)(5))".
std::string threadOrderedSubject(const std::vector<SortItem>& items);
std::string threadReferences(const std::vector<SortItem>& items);

}  // namespace tern::imap::server
