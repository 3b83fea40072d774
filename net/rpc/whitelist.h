// The registry port's rate-limit whitelist (spec/rendezvous.md §3.1): peers whose IP
// falls in a listed CIDR bypass every request limiter (net/rpc/rate_limit.h).
//
// The operator keeps the list in `<dir of -store>/rate-limit-whitelist.json`, a JSON
// array of `{"cidr": "...", "rate": N}` objects. The server polls that file every 2 s
// by (mtime, size): a changed file is re-read; a file that fails to parse is refused as
// a whole and the previous list stays active (fail-closed: one typo must not open or
// close the door to everyone); a deleted file clears the list.
//
// Addresses live in one 16-byte space: IPv4 is stored IPv4-mapped (::ffff:a.b.c.d),
// which is also what a dual-stack socket reports for an IPv4 peer, so `10.0.0.0/8`
// matches that peer whichever socket it came through. An IPv4 /n is the 16-byte
// prefix /(96+n). Consequence worth knowing: an IPv6 entry whose prefix covers
// ::ffff:0:0/96 (e.g. `::/0`) also covers every IPv4 peer (Go's net.IPNet would not).
//
// Whitelist is immutable once parsed, so a published `shared_ptr<const Whitelist>` may
// be read from any thread. WhitelistFile is loop-thread only.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sockaddr;

namespace pilot::rpc {

// An IP address in 16 bytes; IPv4 as ::ffff:a.b.c.d.
struct IpAddr {
  std::array<uint8_t, 16> b{};

  bool is_v4() const;  // IPv4-mapped
  // Dotted quad (no leading zeros, as Go since 1.17) or RFC 4291 text; no brackets,
  // zones or surrounding spaces.
  static std::optional<IpAddr> parse(std::string_view text);
  // AF_INET / AF_INET6; any other family (or null) gives :: (all zeros).
  static IpAddr from_sockaddr(const sockaddr* sa);
  static IpAddr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d);
  // "a.b.c.d" for IPv4-mapped, RFC 5952 text otherwise.
  std::string to_string() const;

  auto operator<=>(const IpAddr&) const = default;
};

class Whitelist {
 public:
  struct Entry {
    std::string cidr;     // as written in the file
    IpAddr network;       // host bits cleared
    unsigned prefix_len;  // bits of the 16-byte form: IPv4 /24 is 120, bare IPv4 is 128
    double rate;          // > 0; kept for the admin API, not used by admit() (§3.1: bypass)
  };

  Whitelist() = default;  // empty: matches nothing

  // Fail-closed: any bad entry rejects the whole text, with `error` naming the entry
  // (by index) and the reason. An empty array is a valid, empty list.
  static std::optional<Whitelist> parse(std::string_view json_text, std::string& error);

  bool contains(const IpAddr& ip) const;
  size_t size() const { return entries_.size(); }
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  // Entries grouped by prefix length, longest first; each group a sorted vector of the
  // masked networks, so contains() costs one binary search per distinct prefix length
  // (usually one or two) and never allocates — it runs for every request.
  struct Group {
    unsigned prefix_len;
    uint64_t mask_hi, mask_lo;
    std::vector<std::pair<uint64_t, uint64_t>> nets;  // sorted
  };
  std::vector<Entry> entries_;
  std::vector<Group> groups_;
};

// Polls the whitelist file. Call poll() every 2 s from a timer on the loop thread.
class WhitelistFile {
 public:
  explicit WhitelistFile(std::string path);

  // Returns true when the active list changed (loaded, replaced or cleared by
  // deletion); then pass current() to RateLimiter::set_whitelist. `message` is set to
  // something worth logging (a change, a rejected file, a read error) and left empty
  // when nothing new happened, so the same error is reported once, not every 2 s.
  // A file whose (mtime, size, inode) has not changed is not re-read.
  bool poll(std::string& message);

  // Never null; empty until a file has been loaded.
  std::shared_ptr<const Whitelist> current() const { return current_; }
  const std::string& path() const { return path_; }

  // Files larger than this are refused (kept previous list) rather than read on the
  // loop thread; the admin API caps its PUT body at 1 MiB.
  static constexpr size_t kMaxFileBytes = 8u << 20;

 private:
  struct Stamp {
    int64_t mtime_ns = 0;
    int64_t size = -1;
    uint64_t inode = 0;
    bool operator==(const Stamp&) const = default;
  };
  std::string path_;
  std::shared_ptr<const Whitelist> current_;
  bool file_seen_ = false;        // the file existed at the last successful stat
  std::optional<Stamp> handled_;  // stamp of the last file content we acted on
  std::string last_error_;        // to report a repeating error only once
};

}  // namespace pilot::rpc
