// Tiny `--key value` / `--flag` command-line parser shared by the load tools.
// Parses our own command line only; numbers are range-checked by the callers.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

namespace tern::bench {

class Options {
 public:
  Options(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a.rfind("--", 0) != 0) {
        std::fprintf(stderr, "unexpected argument: %s\n", a.c_str());
        std::exit(2);
      }
      a = a.substr(2);
      auto eq = a.find('=');
      if (eq != std::string::npos) {
        values_[a.substr(0, eq)] = a.substr(eq + 1);
      } else if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
        values_[a] = argv[++i];
      } else {
        values_[a] = "1";
      }
    }
  }
  bool has(const std::string& k) const { return values_.count(k) != 0; }
  std::string str(const std::string& k, const std::string& def) {
    used_[k] = true;
    auto it = values_.find(k);
    return it == values_.end() ? def : it->second;
  }
  long long num(const std::string& k, long long def, long long min, long long max) {
    std::string s = str(k, std::to_string(def));
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (!end || *end || v < min || v > max) {
      std::fprintf(stderr, "--%s: expected an integer in [%lld, %lld], got '%s'\n", k.c_str(), min, max, s.c_str());
      std::exit(2);
    }
    return v;
  }
  double real(const std::string& k, double def) {
    std::string s = str(k, std::to_string(def));
    return std::atof(s.c_str());
  }
  // Fails on options nobody asked for (typos).
  void checkUnused() const {
    for (auto& [k, v] : values_)
      if (!used_.count(k)) {
        std::fprintf(stderr, "unknown option --%s\n", k.c_str());
        std::exit(2);
      }
  }

 private:
  std::map<std::string, std::string> values_;
  std::map<std::string, bool> used_;
};

}  // namespace tern::bench
