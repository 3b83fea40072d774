#include "net/beacon/registry_list.h"

#include <nlohmann/json.hpp>

namespace pilot::beacon {

std::string beacon_register_request(uint32_t beacon_id, std::string_view addr, std::string_view admin_token) {
  nlohmann::json req = {{"type", "beacon_register"}, {"beacon_id", beacon_id}, {"addr", addr}};
  if (!admin_token.empty()) req["admin_token"] = admin_token;
  return req.dump();
}

std::string beacon_list_request() { return R"({"type":"beacon_list"})"; }

std::optional<std::vector<ListedBeacon>> parse_beacon_list(std::string_view body, uint32_t own_id) {
  const nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return std::nullopt;
  const auto type = doc.find("type");
  const auto beacons = doc.find("beacons");
  if (type == doc.end() || *type != "beacon_list_ok") return std::nullopt;
  std::vector<ListedBeacon> out;
  if (beacons == doc.end() || beacons->is_null()) return out;  // Go encodes an empty list as null
  if (!beacons->is_array()) return std::nullopt;
  for (const nlohmann::json& b : *beacons) {
    if (!b.is_object()) continue;
    const auto id = b.find("id");
    const auto addr = b.find("addr");
    if (id == b.end() || !id->is_number_unsigned() || id->get<uint64_t>() > UINT32_MAX) continue;
    if (addr == b.end() || !addr->is_string() || addr->get_ref<const std::string&>().empty()) continue;
    if (id->get<uint64_t>() == own_id) continue;
    out.push_back({static_cast<uint32_t>(id->get<uint64_t>()), addr->get<std::string>()});
  }
  return out;
}

}  // namespace pilot::beacon
