#include "core/flags.h"

#include <cstdlib>

#include "core/duration.h"

namespace pilot {

void Flags::add_string(std::string* t, const char* name, const char* env, const char* help) {
  flags_.push_back({Kind::kString, t, name, env ? env : "", help, *t});
}
void Flags::add_bool(bool* t, const char* name, const char* env, const char* help) {
  flags_.push_back({Kind::kBool, t, name, env ? env : "", help, *t ? "true" : "false"});
}
void Flags::add_uint(uint64_t* t, const char* name, const char* env, const char* help) {
  flags_.push_back({Kind::kUint, t, name, env ? env : "", help, std::to_string(*t)});
}

void Flags::add_duration(int64_t* t, const char* name, const char* env, const char* help) {
  flags_.push_back({Kind::kDuration, t, name, env ? env : "", help, format_duration(*t)});
}

bool Flags::assign(Flag& f, const std::string& v, const std::string& source) {
  switch (f.kind) {
    case Kind::kString: *static_cast<std::string*>(f.target) = v; return true;
    case Kind::kBool:
      if (v == "1" || v == "true" || v == "yes") return *static_cast<bool*>(f.target) = true, true;
      if (v == "0" || v == "false" || v == "no" || v.empty()) return *static_cast<bool*>(f.target) = false, true;
      break;
    case Kind::kUint: {
      if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || v.size() > 19) break;
      *static_cast<uint64_t*>(f.target) = std::strtoull(v.c_str(), nullptr, 10);
      return true;
    }
    case Kind::kDuration:
      if (auto ns = parse_go_duration(v); ns && *ns >= 0) return *static_cast<int64_t*>(f.target) = *ns, true;
      error_ = "invalid duration \"" + v + "\" for " + source + " (use Go form: 300ms, 2s, 30m, 1h30m)";
      return false;
  }
  error_ = "invalid value \"" + v + "\" for " + source;
  return false;
}

Flags::Result Flags::parse(int argc, char** argv, int first) {
  std::vector<bool> seen(flags_.size(), false);
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help" || a == "-help") return Result::kHelp;
    if (a == "--") {
      for (++i; i < argc; ++i) positional_.push_back(argv[i]);
      break;
    }
    if (a.size() < 2 || a[0] != '-') {
      positional_.push_back(a);
      continue;
    }
    std::string body = a.substr(a[1] == '-' ? 2 : 1);
    std::string value;
    bool has_value = false;
    if (size_t eq = body.find('='); eq != std::string::npos) {
      value = body.substr(eq + 1);
      body.resize(eq);
      has_value = true;
    }
    size_t k = 0;
    while (k < flags_.size() && flags_[k].name != body) ++k;
    if (k == flags_.size()) {
      error_ = "unknown flag -" + body + " (see --help)";
      return Result::kError;
    }
    Flag& f = flags_[k];
    if (!has_value) {
      if (f.kind == Kind::kBool) {
        value = "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        error_ = "flag -" + body + " needs a value";
        return Result::kError;
      }
    }
    if (!assign(f, value, "flag -" + body)) return Result::kError;
    seen[k] = true;
  }
  for (size_t k = 0; k < flags_.size(); ++k) {
    if (seen[k] || flags_[k].env.empty()) continue;
    if (const char* v = std::getenv(flags_[k].env.c_str()); v && *v)
      if (!assign(flags_[k], v, "$" + flags_[k].env)) return Result::kError;
  }
  return Result::kOk;
}

std::string Flags::usage() const {
  std::string u = "Usage: " + program_ + " [flags]\n\n" + summary_ + "\n\nFlags:\n";
  for (const auto& f : flags_) {
    u += "  --" + f.name + (f.kind == Kind::kBool ? "" : " VALUE") + "\n      " + f.help;
    if (!f.default_text.empty()) u += " (default \"" + f.default_text + "\")";
    if (!f.env.empty()) u += " [env " + f.env + "]";
    u += "\n";
  }
  return u;
}

}  // namespace pilot
