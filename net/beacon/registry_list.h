// The registry exchange of the standalone beacon's peer discovery (spec §9.1), as pure
// functions: the two JSON requests it sends and the reading of the `beacon_list_ok`
// answer (fuzz_beacon_packet feeds it arbitrary bytes). The socket side is
// registry_discovery.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pilot::beacon {

// {"type":"beacon_register","beacon_id":N,"addr":"host:port"} plus "admin_token"
// only when one is configured.
std::string beacon_register_request(uint32_t beacon_id, std::string_view addr, std::string_view admin_token);
// {"type":"beacon_list"}
std::string beacon_list_request();

struct ListedBeacon {
  uint32_t id = 0;
  std::string addr;
  bool operator==(const ListedBeacon&) const = default;
};

// The entries of a {"type":"beacon_list_ok","beacons":[{"id":N,"addr":"h:p"},…]} body
// whose id is not `own_id` and whose addr is a non-empty string (an entry without a
// 32-bit id is skipped too). nullopt when the body is not that object (an error
// answer, not JSON): the caller then keeps its peers. Never throws.
std::optional<std::vector<ListedBeacon>> parse_beacon_list(std::string_view body, uint32_t own_id);

}  // namespace pilot::beacon
