// SORT and THREAD orderings (RFC 5256, RFC 5957). Input values come from untrusted headers: the
// REFERENCES algorithm refuses links that would make a cycle, and duplicate Message-IDs are made
// unique, so any input yields a forest.
#include "imap/server/sort.h"

#include <algorithm>
#include <functional>
#include <unordered_map>

#include "imap/server/message_text.h"

namespace tern::imap::server {
namespace {

std::string asciiFold(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return out;
}

// Compares two items on one key; <0, 0, >0.
int compareKey(const SortItem& a, const SortItem& b, SortCriterion::Key key) {
  using K = SortCriterion::Key;
  auto cmp = [](const auto& x, const auto& y) { return x < y ? -1 : (y < x ? 1 : 0); };
  switch (key) {
    case K::Arrival: return cmp(a.internalDate, b.internalDate);
    case K::Date: return cmp(sentDate(a), sentDate(b));
    case K::Size: return cmp(a.size, b.size);
    // i;ascii-casemap for addresses and subjects (RFC 5256), i;unicode-casemap for display names.
    case K::Cc: return cmp(asciiFold(a.fields->ccMailbox), asciiFold(b.fields->ccMailbox));
    case K::From: return cmp(asciiFold(a.fields->fromMailbox), asciiFold(b.fields->fromMailbox));
    case K::To: return cmp(asciiFold(a.fields->toMailbox), asciiFold(b.fields->toMailbox));
    case K::Subject: return cmp(asciiFold(a.fields->baseSubject), asciiFold(b.fields->baseSubject));
    case K::DisplayFrom: return cmp(foldCase(a.fields->fromDisplay), foldCase(b.fields->fromDisplay));
    case K::DisplayTo: return cmp(foldCase(a.fields->toDisplay), foldCase(b.fields->toDisplay));
  }
  return 0;
}

bool isReplyOrForward(const mime::SortFields& f) {
  // Base subject extraction removed something ("Re:", "Fwd:", "[fwd: ...]"): a reply or forward.
  std::string_view s = f.subject;
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s != f.baseSubject;
}

// --- thread trees ---
struct Node {
  int item = -1;  // index into items; -1 for a dummy
  int parent = -1;
  std::vector<int> children;
};

struct Forest {
  const std::vector<SortItem>& items;
  std::vector<Node> nodes;

  // The date a node sorts by: its message's, or a dummy's first child's (children already sorted).
  int64_t date(int n) const {
    if (nodes[n].item >= 0) return sentDate(items[nodes[n].item]);
    return nodes[n].children.empty() ? 0 : date(nodes[n].children.front());
  }
  uint32_t seq(int n) const {
    if (nodes[n].item >= 0) return items[nodes[n].item].msn;
    return nodes[n].children.empty() ? 0 : seq(nodes[n].children.front());
  }
  bool before(int a, int b) const {
    int64_t da = date(a), db = date(b);
    if (da != db) return da < db;
    return seq(a) < seq(b);
  }
  void sortChildren(int n) {
    for (int c : nodes[n].children) sortChildren(c);
    auto& ch = nodes[n].children;
    std::stable_sort(ch.begin(), ch.end(), [&](int a, int b) { return before(a, b); });
  }
  void sortList(std::vector<int>& list) {
    for (int n : list) sortChildren(n);
    std::stable_sort(list.begin(), list.end(), [&](int a, int b) { return before(a, b); });
  }

  // thread-members of a node: "n", "n m ...", or "n (a)(b)"; a dummy gives its children's lists.
  void members(int n, std::string& out) const {
    const Node& node = nodes[n];
    if (node.item < 0) {
      for (int c : node.children) {
        out += '(';
        members(c, out);
        out += ')';
      }
      return;
    }
    out += std::to_string(items[node.item].number);
    if (node.children.size() == 1) {
      out += ' ';
      members(node.children.front(), out);
    } else if (node.children.size() > 1) {
      out += ' ';
      for (int c : node.children) {
        out += '(';
        members(c, out);
        out += ')';
      }
    }
  }
  std::string format(const std::vector<int>& roots) const {
    std::string out;
    for (int r : roots) {
      out += '(';
      members(r, out);
      out += ')';
    }
    return out;
  }
  bool isAncestor(int maybeAncestor, int n) const {
    for (int p = n; p >= 0; p = nodes[p].parent)
      if (p == maybeAncestor) return true;
    return false;
  }
  void unlink(int n) {
    int p = nodes[n].parent;
    if (p < 0) return;
    auto& ch = nodes[p].children;
    ch.erase(std::remove(ch.begin(), ch.end(), n), ch.end());
    nodes[n].parent = -1;
  }
  void link(int parent, int child) {
    unlink(child);
    nodes[child].parent = parent;
    nodes[parent].children.push_back(child);
  }
  int add(int item) {
    nodes.push_back(Node{item, -1, {}});
    return static_cast<int>(nodes.size()) - 1;
  }
};

}  // namespace

int64_t sentDate(const SortItem& item) {
  return item.fields->date ? item.fields->date->unixTime : item.internalDate;
}

std::vector<uint32_t> sortMessages(const std::vector<SortItem>& items, const std::vector<SortCriterion>& criteria) {
  std::vector<size_t> order(items.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  // Sort keys are folded once per comparison; fine for mailbox sizes SORT is used on (see report).
  std::stable_sort(order.begin(), order.end(), [&](size_t ia, size_t ib) {
    const SortItem& a = items[ia];
    const SortItem& b = items[ib];
    for (const auto& c : criteria) {
      int r = compareKey(a, b, c.key);
      if (r != 0) return c.reverse ? r > 0 : r < 0;
    }
    return a.msn < b.msn;
  });
  std::vector<uint32_t> out;
  out.reserve(order.size());
  for (size_t i : order) out.push_back(items[i].number);
  return out;
}

std::string threadOrderedSubject(const std::vector<SortItem>& items) {
  // Sort by base subject then sent date; each run of one base subject is a thread whose first message
  // is the parent of all the others (RFC 5256 section 5).
  std::vector<size_t> order(items.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::vector<std::string> subjects(items.size());
  for (size_t i = 0; i < items.size(); ++i) subjects[i] = asciiFold(items[i].fields->baseSubject);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (subjects[a] != subjects[b]) return subjects[a] < subjects[b];
    int64_t da = sentDate(items[a]), db = sentDate(items[b]);
    if (da != db) return da < db;
    return items[a].msn < items[b].msn;
  });
  Forest f{items, {}};
  std::vector<int> roots;
  for (size_t i = 0; i < order.size(); ++i) {
    int n = f.add(static_cast<int>(order[i]));
    if (i > 0 && subjects[order[i]] == subjects[order[i - 1]])
      f.link(roots.back(), n);
    else
      roots.push_back(n);
  }
  // Threads in order of their first message's sent date; children already in date order.
  std::stable_sort(roots.begin(), roots.end(), [&](int a, int b) { return f.before(a, b); });
  return f.format(roots);
}

std::string threadReferences(const std::vector<SortItem>& items) {
  Forest f{items, {}};
  std::unordered_map<std::string, int> byId;
  auto containerFor = [&](const std::string& id) {
    auto it = byId.find(id);
    if (it != byId.end()) return it->second;
    int n = f.add(-1);
    byId.emplace(id, n);
    return n;
  };
  // (1) Link messages by References (or In-Reply-To) without creating cycles.
  for (size_t i = 0; i < items.size(); ++i) {
    const mime::SortFields& sf = *items[i].fields;
    int self = -1;
    if (!sf.messageId.empty()) {
      int c = containerFor(sf.messageId);
      if (f.nodes[c].item < 0) {
        f.nodes[c].item = static_cast<int>(i);
        self = c;
      }
    }
    if (self < 0) self = f.add(static_cast<int>(i));  // missing or duplicate Message-ID: unique
    const std::vector<std::string>& refs =
        !sf.references.empty() ? sf.references
                               : (sf.inReplyTo.empty() ? sf.references : std::vector<std::string>{sf.inReplyTo.front()});
    int prev = -1;
    for (const auto& r : refs) {
      int c = containerFor(r);
      if (prev >= 0 && c != prev && f.nodes[c].parent < 0 && !f.isAncestor(c, prev)) f.link(prev, c);
      prev = c;
    }
    // The message's parent is its last reference (replacing an earlier guess) unless that is a cycle.
    if (prev >= 0 && prev != self && !f.isAncestor(self, prev))
      f.link(prev, self);
    else if (prev < 0)
      f.unlink(self);
  }
  // (2) Root set.
  std::vector<int> roots;
  for (int n = 0; n < static_cast<int>(f.nodes.size()); ++n)
    if (f.nodes[n].parent < 0) roots.push_back(n);
  // (4) Prune dummies: drop childless ones; promote children of the rest (at the root only when there
  // is one child).
  std::function<void(std::vector<int>&, int, bool)> prune = [&](std::vector<int>& list, int parent, bool atRoot) {
    for (size_t i = 0; i < list.size();) {
      int n = list[i];
      prune(f.nodes[n].children, n, false);
      Node& node = f.nodes[n];
      if (node.item < 0 && node.children.empty()) {
        list.erase(list.begin() + static_cast<long>(i));
        continue;
      }
      if (node.item < 0 && (!atRoot || node.children.size() == 1)) {
        std::vector<int> kids = node.children;
        node.children.clear();
        for (int k : kids) f.nodes[k].parent = parent;
        list.erase(list.begin() + static_cast<long>(i));
        list.insert(list.begin() + static_cast<long>(i), kids.begin(), kids.end());
        continue;  // the promoted children are examined next (already pruned)
      }
      ++i;
    }
  };
  prune(roots, -1, true);
  for (int r : roots) f.nodes[r].parent = -1;
  // (5) Sort the root set by date.
  f.sortList(roots);
  // (6) Gather threads with the same base subject.
  // After pruning, a root dummy's children are all messages.
  auto subjectOf = [&](int n) -> const mime::SortFields* {
    const Node& node = f.nodes[n];
    if (node.item >= 0) return items[node.item].fields;
    if (node.children.empty() || f.nodes[node.children.front()].item < 0) return nullptr;
    return items[f.nodes[node.children.front()].item].fields;
  };
  auto top = [&](int n) {
    while (f.nodes[n].parent >= 0) n = f.nodes[n].parent;
    return n;
  };
  std::unordered_map<std::string, int> bySubject;
  for (int r : roots) {
    const mime::SortFields* sf = subjectOf(r);
    if (!sf || sf->baseSubject.empty()) continue;
    std::string key = asciiFold(sf->baseSubject);
    auto it = bySubject.find(key);
    if (it == bySubject.end()) {
      bySubject.emplace(key, r);
      continue;
    }
    int old = it->second;
    const mime::SortFields* osf = subjectOf(old);
    bool replace = (f.nodes[r].item < 0 && f.nodes[old].item >= 0) ||
                   (osf && f.nodes[old].item >= 0 && f.nodes[r].item >= 0 && isReplyOrForward(*osf) &&
                    !isReplyOrForward(*sf));
    if (replace) it->second = r;
  }
  for (int r : roots) {
    const mime::SortFields* sf = subjectOf(r);
    if (!sf || sf->baseSubject.empty() || f.nodes[r].parent >= 0) continue;
    int t = top(bySubject[asciiFold(sf->baseSubject)]);
    if (t == r) continue;
    Node& tn = f.nodes[t];
    Node& rn = f.nodes[r];
    if (tn.item < 0 && rn.item < 0) {
      std::vector<int> kids = rn.children;
      for (int k : kids) f.link(t, k);
    } else if (tn.item < 0) {
      f.link(t, r);
    } else if (rn.item < 0) {
      f.link(r, t);
    } else if (!isReplyOrForward(*items[tn.item].fields) && isReplyOrForward(*sf)) {
      f.link(t, r);
    } else if (isReplyOrForward(*items[tn.item].fields) && !isReplyOrForward(*sf)) {
      f.link(r, t);
    } else {
      int d = f.add(-1);
      f.link(d, t);
      f.link(d, r);
    }
  }
  // Each thread takes the place of its earliest root from step (5); emptied dummies vanish.
  std::vector<int> merged;
  std::vector<bool> seen(f.nodes.size(), false);
  for (int r : roots) {
    int t = top(r);
    if (seen[t] || (f.nodes[t].item < 0 && f.nodes[t].children.empty())) continue;
    seen[t] = true;
    merged.push_back(t);
  }
  // (7) Sort every thread's messages by date; threads keep the order of step (5).
  for (int r : merged) f.sortChildren(r);
  return f.format(merged);
}

}  // namespace tern::imap::server
