// The 48-bit virtual address (spec §7.1): 16-bit network ID + 32-bit node ID.
// Text form `N:NNNN.HHHH.LLLL`: decimal network, colon, the network again as 4
// uppercase hex digits, then the node ID's high and low 16 bits as 4 hex digits each.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pilot {

struct Address {
  uint16_t network = 0;
  uint32_t node = 0;

  // Reserved node IDs on every network.
  static constexpr uint32_t kRegistryNode = 1;
  static constexpr uint32_t kBeaconNode = 2;
  static constexpr uint32_t kNameserverNode = 3;
  static constexpr uint32_t kBroadcastNode = 0xFFFFFFFF;

  std::string to_string() const;
  // nullopt unless `text` is exactly the canonical form (hex may be either case, the
  // decimal prefix must equal the hex network field).
  static std::optional<Address> parse(std::string_view text);

  // 6 bytes big-endian: network(2) ‖ node(4) — the data-plane form.
  uint64_t to_u48() const { return (static_cast<uint64_t>(network) << 32) | node; }
  static Address from_u48(uint64_t v) {
    return {static_cast<uint16_t>(v >> 32), static_cast<uint32_t>(v & 0xFFFFFFFFu)};
  }

  auto operator<=>(const Address&) const = default;
};

}  // namespace pilot
