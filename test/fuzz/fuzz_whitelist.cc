// Fuzz target for the rate-limit whitelist (net/rpc/whitelist.h): the input is the
// whitelist file's text, and also tried as an IP address's text. The parser reads an
// operator-edited (or admin-API-written) file, so it must not crash on anything, must
// explain every refusal, and what it accepts must be self-consistent: each entry's
// network has no host bits and is contained in the list, and the list written back in
// canonical form parses to the same entries. A parsed IP prints to text that parses
// back to the same address.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "net/rpc/whitelist.h"

using pilot::rpc::IpAddr;
using pilot::rpc::Whitelist;

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_whitelist: invariant failed: %s\n", what);
    std::abort();
  }
}

bool host_bits_clear(const IpAddr& net, unsigned prefix_len) {
  for (unsigned i = prefix_len; i < 128; ++i) {
    if ((net.b[i / 8] >> (7 - i % 8)) & 1) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto a = IpAddr::parse(text)) {
    auto again = IpAddr::parse(a->to_string());
    check(again.has_value() && *again == *a, "parse(to_string(ip)) != ip");
  }

  std::string error;
  auto wl = Whitelist::parse(text, error);
  if (!wl) {
    check(!error.empty(), "rejected without a reason");
    return 0;
  }
  nlohmann::json canonical = nlohmann::json::array();
  for (const auto& e : wl->entries()) {
    check(e.prefix_len <= 128, "prefix length above 128");
    check(e.rate > 0, "accepted a rate <= 0");
    check(host_bits_clear(e.network, e.prefix_len), "network has host bits");
    check(wl->contains(e.network), "list does not contain its own network");
    // A mapped IPv4 network needs prefix >= 96 (the ffff bytes survive the mask).
    unsigned written = e.network.is_v4() ? e.prefix_len - 96 : e.prefix_len;
    canonical.push_back({{"cidr", e.network.to_string() + "/" + std::to_string(written)}, {"rate", e.rate}});
  }
  std::string again_error;
  auto again = Whitelist::parse(canonical.dump(), again_error);
  check(again.has_value(), "canonical form rejected");
  check(again->size() == wl->size(), "canonical form has another size");
  for (size_t i = 0; i < wl->size(); ++i) {
    const auto &x = wl->entries()[i], &y = again->entries()[i];
    check(x.network == y.network && x.prefix_len == y.prefix_len && x.rate == y.rate, "canonical form differs");
  }
  return 0;
}
