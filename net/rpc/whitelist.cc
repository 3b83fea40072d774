#include "net/rpc/whitelist.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

namespace pilot::rpc {
namespace {

constexpr uint8_t kV4Prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

uint64_t load_be64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

void store_be64(uint8_t* p, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}

// Masks of a prefix length over the 16-byte form, as (high 64 bits, low 64 bits).
std::pair<uint64_t, uint64_t> masks(unsigned prefix_len) {
  auto top = [](unsigned bits) { return bits == 0 ? 0 : bits >= 64 ? ~uint64_t{0} : ~uint64_t{0} << (64 - bits); };
  return {top(std::min(prefix_len, 64u)), top(prefix_len > 64 ? prefix_len - 64 : 0)};
}

// Strict dotted quad: four decimal parts 0..255, no leading zeros (Go rejects them
// since 1.17 because other parsers read them as octal).
std::optional<std::array<uint8_t, 4>> parse_dotted(std::string_view s) {
  std::array<uint8_t, 4> out{};
  size_t pos = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (pos >= s.size() || s[pos] != '.') return std::nullopt;
      ++pos;
    }
    size_t start = pos;
    unsigned v = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9' && pos - start < 3) v = v * 10 + (s[pos++] - '0');
    size_t digits = pos - start;
    if (digits == 0 || v > 255 || (digits > 1 && s[start] == '0')) return std::nullopt;
    out[part] = static_cast<uint8_t>(v);
  }
  if (pos != s.size()) return std::nullopt;
  return out;
}

// A string for an error message: JSON-quoted (so control bytes cannot forge log
// lines) and cut short.
std::string quoted(const std::string& s) {
  std::string q = nlohmann::json(s.substr(0, 80)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > 80) q += "...";
  return q;
}

// "a.b.c.d", "a.b.c.d/n" (n <= 32), "v6", "v6/n" (n <= 128). The prefix length is
// decimal digits only (leading zeros allowed, as Go's ParseCIDR allows them).
std::optional<std::pair<IpAddr, unsigned>> parse_cidr(std::string_view text) {
  size_t slash = text.find('/');
  std::string_view addr_text = text.substr(0, slash);
  auto addr = IpAddr::parse(addr_text);
  if (!addr) return std::nullopt;
  bool v6_text = addr_text.find(':') != std::string_view::npos;
  if (slash == std::string_view::npos) return std::pair{*addr, 128u};  // bare IP: /32 or /128
  std::string_view len_text = text.substr(slash + 1);
  if (len_text.empty() || len_text.size() > 4) return std::nullopt;
  unsigned len = 0;
  for (char c : len_text) {
    if (c < '0' || c > '9') return std::nullopt;
    len = len * 10 + static_cast<unsigned>(c - '0');
  }
  if (len > (v6_text ? 128u : 32u)) return std::nullopt;
  return std::pair{*addr, v6_text ? len : 96 + len};
}

}  // namespace

// ---- IpAddr -----------------------------------------------------------------------

bool IpAddr::is_v4() const { return std::memcmp(b.data(), kV4Prefix, sizeof kV4Prefix) == 0; }

IpAddr IpAddr::v4(uint8_t a, uint8_t b1, uint8_t c, uint8_t d) {
  IpAddr ip;
  std::memcpy(ip.b.data(), kV4Prefix, sizeof kV4Prefix);
  ip.b[12] = a;
  ip.b[13] = b1;
  ip.b[14] = c;
  ip.b[15] = d;
  return ip;
}

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
  if (text.find(':') == std::string_view::npos) {
    auto q = parse_dotted(text);
    if (!q) return std::nullopt;
    return v4((*q)[0], (*q)[1], (*q)[2], (*q)[3]);
  }
  // inet_pton wants a NUL-terminated string; an embedded NUL would cut the text short
  // and accept what follows it unseen.
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.size() >= sizeof buf || text.find('\0') != std::string_view::npos) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddr ip;
  if (inet_pton(AF_INET6, buf, ip.b.data()) != 1) return std::nullopt;
  return ip;
}

IpAddr IpAddr::from_sockaddr(const sockaddr* sa) {
  IpAddr ip;
  if (sa == nullptr) return ip;
  if (sa->sa_family == AF_INET) {
    sockaddr_in in;
    std::memcpy(&in, sa, sizeof in);
    uint8_t q[4];
    std::memcpy(q, &in.sin_addr, 4);
    return v4(q[0], q[1], q[2], q[3]);
  }
  if (sa->sa_family == AF_INET6) {
    sockaddr_in6 in6;
    std::memcpy(&in6, sa, sizeof in6);
    std::memcpy(ip.b.data(), &in6.sin6_addr, 16);
  }
  return ip;
}

std::string IpAddr::to_string() const {
  if (is_v4()) {
    return std::to_string(b[12]) + "." + std::to_string(b[13]) + "." + std::to_string(b[14]) + "." +
           std::to_string(b[15]);
  }
  char buf[INET6_ADDRSTRLEN];
  if (!inet_ntop(AF_INET6, b.data(), buf, sizeof buf)) return "::";  // cannot happen for 16 bytes
  return buf;
}

// ---- Whitelist --------------------------------------------------------------------

std::optional<Whitelist> Whitelist::parse(std::string_view json_text, std::string& error) {
  auto doc = nlohmann::json::parse(json_text.begin(), json_text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    error = "not valid JSON";
    return std::nullopt;
  }
  if (!doc.is_array()) {
    error = "expected a JSON array of {\"cidr\": ..., \"rate\": ...} objects";
    return std::nullopt;
  }
  Whitelist wl;
  wl.entries_.reserve(doc.size());
  for (size_t i = 0; i < doc.size(); ++i) {
    const auto& e = doc[i];
    std::string where = "entry " + std::to_string(i) + ": ";
    if (!e.is_object()) {
      error = where + "not an object";
      return std::nullopt;
    }
    auto cidr_it = e.find("cidr");
    if (cidr_it == e.end() || !cidr_it->is_string()) {
      error = where + (cidr_it == e.end() ? "missing \"cidr\"" : "\"cidr\" is not a string");
      return std::nullopt;
    }
    const std::string& cidr = cidr_it->get_ref<const std::string&>();
    auto parsed = parse_cidr(cidr);
    if (!parsed) {
      error = where + "invalid cidr " + quoted(cidr);
      return std::nullopt;
    }
    auto rate_it = e.find("rate");
    if (rate_it == e.end() || !rate_it->is_number()) {
      error = where + (rate_it == e.end() ? "missing \"rate\"" : "\"rate\" is not a number");
      return std::nullopt;
    }
    double rate = rate_it->get<double>();
    if (!(rate > 0)) {
      error = where + "rate must be > 0 (got " + rate_it->dump() + ")";
      return std::nullopt;
    }
    auto [addr, len] = *parsed;
    auto [mh, ml] = masks(len);
    IpAddr net;
    store_be64(net.b.data(), load_be64(addr.b.data()) & mh);
    store_be64(net.b.data() + 8, load_be64(addr.b.data() + 8) & ml);
    wl.entries_.push_back(Entry{cidr, net, len, rate});
  }

  std::vector<const Entry*> order;
  for (const auto& e : wl.entries_) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) { return a->prefix_len > b->prefix_len; });
  for (const Entry* e : order) {
    if (wl.groups_.empty() || wl.groups_.back().prefix_len != e->prefix_len) {
      auto [mh, ml] = masks(e->prefix_len);
      wl.groups_.push_back(Group{e->prefix_len, mh, ml, {}});
    }
    wl.groups_.back().nets.emplace_back(load_be64(e->network.b.data()), load_be64(e->network.b.data() + 8));
  }
  for (auto& g : wl.groups_) {
    std::sort(g.nets.begin(), g.nets.end());
    g.nets.erase(std::unique(g.nets.begin(), g.nets.end()), g.nets.end());
  }
  return wl;
}

bool Whitelist::contains(const IpAddr& ip) const {
  uint64_t hi = load_be64(ip.b.data()), lo = load_be64(ip.b.data() + 8);
  for (const auto& g : groups_) {
    if (std::binary_search(g.nets.begin(), g.nets.end(), std::pair{hi & g.mask_hi, lo & g.mask_lo})) return true;
  }
  return false;
}

// ---- WhitelistFile ----------------------------------------------------------------

WhitelistFile::WhitelistFile(std::string path)
    : path_(std::move(path)), current_(std::make_shared<const Whitelist>()) {}

bool WhitelistFile::poll(std::string& message) {
  message.clear();
  // stat/open/read errors are retried every poll but reported only when they first
  // appear; a rejected file is handled once per (mtime, size, inode), so always told.
  auto report_error = [&](std::string text) {
    if (text != last_error_) message = text;
    last_error_ = std::move(text);
    return false;
  };
  auto reject = [&](std::string text) {
    message = std::move(text);
    last_error_.clear();
    return false;
  };

  struct stat st;
  if (::stat(path_.c_str(), &st) != 0) {
    int err = errno;
    if (err != ENOENT) {
      return report_error("whitelist " + path_ + ": stat: " + std::strerror(err) + "; keeping the current list");
    }
    last_error_.clear();
    bool was_seen = file_seen_;
    file_seen_ = false;
    handled_.reset();
    if (!was_seen) return false;
    if (current_->size() == 0) {
      message = "whitelist " + path_ + " removed";
      return false;
    }
    current_ = std::make_shared<const Whitelist>();
    message = "whitelist " + path_ + " removed: whitelist cleared";
    return true;
  }
  file_seen_ = true;
  Stamp stamp{int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec, int64_t{st.st_size},
              uint64_t{st.st_ino}};
  if (handled_ && *handled_ == stamp) return false;

  if (static_cast<uint64_t>(st.st_size) > kMaxFileBytes) {
    handled_ = stamp;  // refused for good until it changes
    return reject("whitelist " + path_ + " rejected: larger than " + std::to_string(kMaxFileBytes) +
                  " bytes; keeping the current list (" + std::to_string(current_->size()) + " entries)");
  }
  std::string text;
  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    return report_error("whitelist " + path_ + ": open: " + std::strerror(err) + "; keeping the current list");
  }
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      // Not marked handled: a transient read error is retried at the next poll.
      return report_error("whitelist " + path_ + ": read: " + std::strerror(err) + "; keeping the current list");
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxFileBytes) break;  // grew since stat; caught below
  }
  ::close(fd);
  handled_ = stamp;
  if (text.size() > kMaxFileBytes) {
    return reject("whitelist " + path_ + " rejected: larger than " + std::to_string(kMaxFileBytes) +
                  " bytes; keeping the current list (" + std::to_string(current_->size()) + " entries)");
  }

  std::string why;
  auto parsed = Whitelist::parse(text, why);
  if (!parsed) {
    return reject("whitelist " + path_ + " rejected: " + why + "; keeping the current list (" +
                  std::to_string(current_->size()) + " entries)");
  }
  last_error_.clear();
  current_ = std::make_shared<const Whitelist>(std::move(*parsed));
  message = "whitelist " + path_ + " loaded: " + std::to_string(current_->size()) + " entries";
  return true;
}

}  // namespace pilot::rpc
