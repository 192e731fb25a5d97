// Schema of the embedded store and its migrations. migrate() brings any older database up to
// kSchemaVersion inside one transaction and refuses a database written by a newer Tern.
#pragma once

#include "store/sqlite/db.h"

namespace tern::store::sqlite {

inline constexpr int kSchemaVersion = 7;

Result<void> migrate(Db& db);

}  // namespace tern::store::sqlite
