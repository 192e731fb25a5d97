// Server resource use from /proc: CPU seconds and memory of a process tree (a server's master and
// every descendant), sampled on a background thread. Reads only /proc of this machine.
#pragma once

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace tern::bench {

struct ProcSnapshot {
  double cpuSeconds = 0;    // utime+stime of every live process in the trees + roots' reaped children
  uint64_t rssBytes = 0;    // sum of RSS over the trees (counts shared pages once per process)
  uint64_t pssBytes = 0;    // sum of PSS (shared pages divided among sharers); 0 unless asked for
  int processes = 0;
};

namespace detail {

struct StatLine {
  int pid = 0, ppid = 0;
  uint64_t utime = 0, stime = 0, cutime = 0, cstime = 0, rssPages = 0;
};

inline bool readStat(int pid, StatLine& out) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE* f = std::fopen(path, "r");
  if (!f) return false;
  char buf[1024];
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  // The command name may contain spaces and parentheses: fields resume after the last ')'.
  char* p = std::strrchr(buf, ')');
  if (!p) return false;
  p += 2;
  std::vector<uint64_t> fields;  // fields 3.. (state is a char, skipped)
  fields.reserve(24);
  char* save = nullptr;
  for (char* tok = strtok_r(p, " ", &save); tok && fields.size() < 24; tok = strtok_r(nullptr, " ", &save))
    fields.push_back(std::strtoull(tok, nullptr, 10));
  if (fields.size() < 22) return false;
  out.pid = pid;
  out.ppid = int(fields[1]);   // field 4
  out.utime = fields[11];      // field 14
  out.stime = fields[12];
  out.cutime = fields[13];
  out.cstime = fields[14];
  out.rssPages = fields[21];   // field 24
  return true;
}

inline uint64_t readPss(int pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/smaps_rollup", pid);
  std::ifstream f(path);
  std::string key;
  uint64_t kb = 0;
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("Pss:", 0) == 0) {
      std::istringstream(line.substr(4)) >> kb;
      return kb * 1024;
    }
  }
  return 0;
}

}  // namespace detail

// The process trees rooted at `roots`. Empty roots: every call returns zeros.
inline ProcSnapshot snapshotTrees(const std::vector<int>& roots, bool withPss) {
  ProcSnapshot s;
  if (roots.empty()) return s;
  std::unordered_map<int, detail::StatLine> all;
  if (DIR* d = opendir("/proc")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      detail::StatLine st;
      if (detail::readStat(std::atoi(e->d_name), st)) all.emplace(st.pid, st);
    }
    closedir(d);
  }
  static const double tick = double(sysconf(_SC_CLK_TCK));
  static const uint64_t page = uint64_t(sysconf(_SC_PAGESIZE));
  uint64_t ticks = 0;
  for (auto& [pid, st] : all) {
    // Walk up (bounded) to see whether a root is an ancestor.
    int cur = pid;
    bool in = false;
    for (int depth = 0; depth < 64 && cur > 1; ++depth) {
      bool isRoot = false;
      for (int r : roots) isRoot |= (r == cur);
      if (isRoot) {
        in = true;
        break;
      }
      auto it = all.find(cur);
      if (it == all.end()) break;
      cur = it->second.ppid;
    }
    if (!in) continue;
    ++s.processes;
    ticks += st.utime + st.stime;
    for (int r : roots)
      if (r == pid) ticks += st.cutime + st.cstime;
    s.rssBytes += st.rssPages * page;
    if (withPss) s.pssBytes += detail::readPss(pid);
  }
  s.cpuSeconds = double(ticks) / tick;
  return s;
}

// Samples the trees every `interval` on its own thread and keeps the peaks.
class ProcMonitor {
 public:
  ProcMonitor(std::vector<int> roots, std::chrono::milliseconds interval, bool withPss)
      : roots_(std::move(roots)), interval_(interval), withPss_(withPss) {}
  ~ProcMonitor() { stop(); }

  void start() {
    start_ = snapshotTrees(roots_, withPss_);
    peakRss_ = start_.rssBytes;
    peakPss_ = start_.pssBytes;
    running_ = true;
    thread_ = std::thread([this] {
      while (running_) {
        auto deadline = std::chrono::steady_clock::now() + interval_;
        while (running_ && std::chrono::steady_clock::now() < deadline)
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        sample();
      }
    });
  }
  void stop() {
    if (!running_.exchange(false)) return;
    if (thread_.joinable()) thread_.join();
    end_ = sample();
  }
  const ProcSnapshot& startSnapshot() const { return start_; }
  const ProcSnapshot& endSnapshot() const { return end_; }
  double cpuSeconds() const { return end_.cpuSeconds - start_.cpuSeconds; }
  uint64_t peakRss() const { return peakRss_; }
  uint64_t peakPss() const { return peakPss_; }
  bool enabled() const { return !roots_.empty(); }

 private:
  ProcSnapshot sample() {
    ProcSnapshot s = snapshotTrees(roots_, withPss_);
    std::lock_guard<std::mutex> lock(mu_);
    peakRss_ = std::max(peakRss_, s.rssBytes);
    peakPss_ = std::max(peakPss_, s.pssBytes);
    return s;
  }
  std::vector<int> roots_;
  std::chrono::milliseconds interval_;
  bool withPss_;
  std::atomic<bool> running_{false};
  std::thread thread_;
  std::mutex mu_;
  ProcSnapshot start_, end_;
  uint64_t peakRss_ = 0, peakPss_ = 0;
};

// CPU seconds (user + system) this process has used so far, all threads.
inline double processCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

inline std::vector<int> parsePids(const std::string& list) {
  std::vector<int> out;
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(std::atoi(item.c_str()));
  return out;
}

}  // namespace tern::bench
