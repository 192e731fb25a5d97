// Compact binary form of a ParsedMessage, stored with the message at delivery/APPEND so FETCH
// BODYSTRUCTURE/ENVELOPE, BINARY and SORT/THREAD never parse the message again. Deserialisation
// treats its input as untrusted (a corrupt row must not crash the server): every length and count is
// checked against the remaining bytes and nesting is bounded.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "mime/message.h"

namespace tern::mime {

// Versioned; a format change bumps the version and old rows are re-parsed from the blob.
std::string serializeMessage(const ParsedMessage& msg);
// nullopt on a corrupt, truncated or unknown-version input.
std::optional<ParsedMessage> deserializeMessage(std::string_view data);

}  // namespace tern::mime
