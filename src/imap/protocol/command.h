// The typed IMAP command: what the parser (parser.h) produces from untrusted bytes and the session
// consumes. Pure values. Strings are the decoded astring/string bytes as sent; mailbox names are NOT
// yet converted from modified UTF-7 (that depends on the session's mode and is done by the session).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace tern::imap {

// --- sequence sets -----------------------------------------------------------------------------
// One range of a sequence set; 0 stands for '*' (the largest number in use).
struct SeqRange {
  uint32_t first = 0;
  uint32_t last = 0;  // may be < first on the wire ("5:2"); normalise with min/max
  bool operator==(const SeqRange&) const = default;
};
struct SequenceSet {
  std::vector<SeqRange> ranges;
  bool savedResult = false;  // "$" (SEARCHRES); ranges empty then
  bool operator==(const SequenceSet&) const = default;
};

struct Date {  // a calendar date, as in SEARCH SINCE 1-Feb-2024
  int year = 0, month = 0, day = 0;
  bool operator==(const Date&) const = default;
};
struct DateTime {  // APPEND's date-time "dd-Mon-yyyy hh:mm:ss +zzzz"
  int64_t unixSeconds = 0;
  int32_t tzOffsetMinutes = 0;
  bool operator==(const DateTime&) const = default;
};

// --- FETCH ---------------------------------------------------------------------------------------
struct Section {
  std::vector<uint32_t> part;  // "1.2.3"; empty for the whole message
  enum class Text { None, Header, HeaderFields, HeaderFieldsNot, Text, Mime } text = Text::None;
  std::vector<std::string> fields;  // for HEADER.FIELDS(.NOT), as sent
  bool operator==(const Section&) const = default;
};
struct Partial {  // <offset.length>
  uint64_t offset = 0;
  uint64_t length = 0;
  bool operator==(const Partial&) const = default;
};
struct FetchAtt {
  enum class Kind {
    Envelope, Flags, InternalDate, Rfc822, Rfc822Header, Rfc822Size, Rfc822Text,
    Body,           // BODY without section: the non-extensible BODYSTRUCTURE
    BodyStructure,
    Uid,
    BodySection,    // BODY[...] / BODY.PEEK[...]
    Binary,         // BINARY[...] / BINARY.PEEK[...]
    BinarySize,     // BINARY.SIZE[...]
    ModSeq,         // CONDSTORE
    SaveDate,       // RFC 8514
    Preview,        // RFC 8970
  } kind = Kind::Flags;
  bool peek = false;
  Section section;
  std::optional<Partial> partial;
  bool operator==(const FetchAtt&) const = default;
};

// --- SEARCH --------------------------------------------------------------------------------------
struct SearchKey {
  enum class Kind {
    And,  // children all match (the top level and parenthesised lists)
    Or,   // children[0] or children[1]
    Not,  // children[0] does not match
    All, Answered, Deleted, Draft, Flagged, New, Old, Recent, Seen,
    Unanswered, Undeleted, Undraft, Unflagged, Unseen,
    Keyword, Unkeyword,          // text
    Bcc, Body, Cc, From, Subject, Text, To,  // text
    Header,                      // field + text
    Before, On, Since, SentBefore, SentOn, SentSince,  // date
    Larger, Smaller,             // number
    Older, Younger,              // number of seconds (WITHIN)
    ModSeq,                      // number (CONDSTORE)
    Uid,                         // set
    SequenceSet,                 // set
  } kind = Kind::All;
  std::string field;  // Header: field name
  std::string text;   // the string argument (Keyword, Header value, From ...)
  Date date;
  uint64_t number = 0;
  SequenceSet set;
  std::vector<SearchKey> children;
  bool operator==(const SearchKey&) const = default;
};

// --- commands ------------------------------------------------------------------------------------
struct Capability {
  bool operator==(const Capability&) const = default;
};
struct Noop {
  bool operator==(const Noop&) const = default;
};
struct Logout {
  bool operator==(const Logout&) const = default;
};
struct StartTls {
  bool operator==(const StartTls&) const = default;
};
struct Authenticate {
  std::string mechanism;                     // uppercased
  std::optional<std::string> initialResponse;  // SASL-IR, still base64 ("=" means empty)
  bool operator==(const Authenticate&) const = default;
};
struct Login {
  std::string user;
  std::string password;
  bool operator==(const Login&) const = default;
};
struct Enable {
  std::vector<std::string> capabilities;  // uppercased
  bool operator==(const Enable&) const = default;
};
struct Id {
  std::vector<std::pair<std::string, std::optional<std::string>>> fields;  // empty for NIL
  bool operator==(const Id&) const = default;
};
struct Namespace {
  bool operator==(const Namespace&) const = default;
};
struct QResyncParams {  // SELECT/EXAMINE (QRESYNC (uidvalidity modseq [known-uids [(seqs uids)]]))
  uint32_t uidValidity = 0;
  uint64_t modSeq = 0;
  std::optional<SequenceSet> knownUids;
  std::optional<SequenceSet> knownSequenceSet;  // seq-match-data: message numbers ...
  std::optional<SequenceSet> knownUidSet;       // ... and their UIDs
  bool operator==(const QResyncParams&) const = default;
};
struct Select {
  std::string mailbox;
  bool readOnly = false;  // EXAMINE
  bool condstore = false; // (CONDSTORE) parameter
  std::optional<QResyncParams> qresync;  // (QRESYNC (...)) parameter; implies CONDSTORE
  bool operator==(const Select&) const = default;
};
struct Create {
  std::string mailbox;
  std::vector<std::string> specialUse;  // (USE (\Drafts ...)) of CREATE-SPECIAL-USE
  bool operator==(const Create&) const = default;
};
struct Delete {
  std::string mailbox;
  bool operator==(const Delete&) const = default;
};
struct Rename {
  std::string from;
  std::string to;
  bool operator==(const Rename&) const = default;
};
struct Subscribe {
  std::string mailbox;
  bool subscribe = true;  // false: UNSUBSCRIBE
  bool operator==(const Subscribe&) const = default;
};
struct List {
  bool lsub = false;                    // LSUB command
  std::vector<std::string> selectionOptions;  // uppercased: SUBSCRIBED, REMOTE, RECURSIVEMATCH, SPECIAL-USE
  std::string reference;
  std::vector<std::string> patterns;    // one, or several with LIST-EXTENDED's (pat1 pat2)
  std::vector<std::string> returnOptions;  // uppercased: SUBSCRIBED, CHILDREN, SPECIAL-USE; STATUS below
  std::vector<std::string> returnStatus;   // RETURN (STATUS (MESSAGES UNSEEN)) items, uppercased
  bool operator==(const List&) const = default;
};
struct Status {
  std::string mailbox;
  std::vector<std::string> items;  // uppercased: MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT HIGHESTMODSEQ
  bool operator==(const Status&) const = default;
};
struct AppendMessage {
  std::vector<std::string> flags;
  std::optional<DateTime> internalDate;
  std::string message;  // the literal's bytes
  bool binaryLiteral = false;  // ~{n} (BINARY)
  bool operator==(const AppendMessage&) const = default;
};
struct Append {
  std::string mailbox;
  std::vector<AppendMessage> messages;  // several with MULTIAPPEND
  bool operator==(const Append&) const = default;
};
struct Idle {
  bool operator==(const Idle&) const = default;
};
struct Check {
  bool operator==(const Check&) const = default;
};
struct Close {
  bool operator==(const Close&) const = default;
};
struct Unselect {
  bool operator==(const Unselect&) const = default;
};
struct Expunge {
  std::optional<SequenceSet> uids;  // UID EXPUNGE
  bool operator==(const Expunge&) const = default;
};
struct Copy {
  bool uid = false;
  bool move = false;  // MOVE / UID MOVE
  SequenceSet set;
  std::string mailbox;
  bool operator==(const Copy&) const = default;
};
struct Store {
  bool uid = false;
  SequenceSet set;
  enum class Op { Add, Remove, Replace } op = Op::Replace;
  bool silent = false;
  std::vector<std::string> flags;  // as sent, e.g. "\\Seen", "$Forwarded"
  std::optional<uint64_t> unchangedSince;
  bool operator==(const Store&) const = default;
};
struct Fetch {
  bool uid = false;
  SequenceSet set;
  std::vector<FetchAtt> atts;  // macros ALL/FAST/FULL already expanded
  std::optional<uint64_t> changedSince;
  bool vanished = false;  // (VANISHED) modifier, QRESYNC
  bool operator==(const Fetch&) const = default;
};
struct Search {
  bool uid = false;
  std::optional<std::string> charset;
  SearchKey key;  // Kind::And over the listed keys
  bool esearch = false;                 // RETURN (...) given: answer with ESEARCH
  std::vector<std::string> returnOptions;  // uppercased: MIN MAX ALL COUNT SAVE
  bool operator==(const Search&) const = default;
};

// SORT (RFC 5256, RFC 5957 DISPLAY keys) and ESORT's RETURN options (RFC 5267).
struct SortCriterion {
  enum class Key { Arrival, Cc, Date, From, Size, Subject, To, DisplayFrom, DisplayTo } key = Key::Arrival;
  bool reverse = false;
  bool operator==(const SortCriterion&) const = default;
};
struct Sort {
  bool uid = false;
  std::vector<SortCriterion> criteria;
  std::string charset;  // as sent; the session accepts UTF-8 and US-ASCII
  SearchKey key;        // Kind::And over the listed keys
  bool esearch = false;                    // RETURN (...) given: answer with ESEARCH
  std::vector<std::string> returnOptions;  // uppercased: MIN MAX ALL COUNT (SAVE refused by the session)
  bool operator==(const Sort&) const = default;
};
// THREAD (RFC 5256).
struct Thread {
  bool uid = false;
  enum class Algorithm { OrderedSubject, References } algorithm = Algorithm::References;
  std::string charset;
  SearchKey key;  // Kind::And over the listed keys
  bool operator==(const Thread&) const = default;
};

using CommandBody = std::variant<Capability, Noop, Logout, StartTls, Authenticate, Login, Enable, Id,
                                 Namespace, Select, Create, Delete, Rename, Subscribe, List, Status, Append,
                                 Idle, Check, Close, Unselect, Expunge, Copy, Store, Fetch, Search, Sort,
                                 Thread>;

struct Command {
  std::string tag;
  CommandBody body;
  bool operator==(const Command&) const = default;
};

}  // namespace tern::imap
