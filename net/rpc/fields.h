// Reading request fields the way the reference does (spec §20.3–§20.4): unknown fields
// are ignored, a missing field is its zero value, numbers are lenient (a negative,
// fractional-out-of-range or too large number reads as 0, which then usually means
// "not found"), and nothing is coerced across types (a string where a number belongs
// reads as 0).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pilot::rpc {

inline const nlohmann::json* field(const nlohmann::json& req, const char* key) {
  auto it = req.find(key);
  return it == req.end() ? nullptr : &*it;
}

// An unsigned integer in [0, max], else 0.
inline uint64_t uint_field(const nlohmann::json& req, const char* key, uint64_t max) {
  const nlohmann::json* v = field(req, key);
  if (!v) return 0;
  if (v->is_number_unsigned()) {
    uint64_t x = v->get<uint64_t>();
    return x <= max ? x : 0;
  }
  if (v->is_number_integer()) {
    int64_t x = v->get<int64_t>();
    return x >= 0 && static_cast<uint64_t>(x) <= max ? static_cast<uint64_t>(x) : 0;
  }
  if (v->is_number_float()) {  // Go decodes every JSON number as float64, then converts
    double x = v->get<double>();
    return x >= 0 && x <= static_cast<double>(max) ? static_cast<uint64_t>(x) : 0;
  }
  return 0;
}
inline uint32_t u32_field(const nlohmann::json& req, const char* key) {
  return static_cast<uint32_t>(uint_field(req, key, UINT32_MAX));
}
inline uint16_t u16_field(const nlohmann::json& req, const char* key) {
  return static_cast<uint16_t>(uint_field(req, key, UINT16_MAX));
}
inline int64_t i64_field(const nlohmann::json& req, const char* key) {
  const nlohmann::json* v = field(req, key);
  if (!v || !v->is_number()) return 0;
  if (v->is_number_float()) {
    double x = v->get<double>();
    return x > -9.2e18 && x < 9.2e18 ? static_cast<int64_t>(x) : 0;
  }
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) return 0;
  return v->get<int64_t>();
}
inline std::string str_field(const nlohmann::json& req, const char* key) {
  const nlohmann::json* v = field(req, key);
  return v && v->is_string() ? v->get<std::string>() : std::string();
}
inline bool has_str(const nlohmann::json& req, const char* key) {
  const nlohmann::json* v = field(req, key);
  return v && v->is_string() && !v->get_ref<const std::string&>().empty();
}
inline bool bool_field(const nlohmann::json& req, const char* key) {
  const nlohmann::json* v = field(req, key);
  return v && v->is_boolean() && v->get<bool>();
}
// Strings of an array field; non-string items are skipped.
inline std::vector<std::string> str_list_field(const nlohmann::json& req, const char* key) {
  std::vector<std::string> out;
  const nlohmann::json* v = field(req, key);
  if (!v || !v->is_array()) return out;
  for (const auto& item : *v)
    if (item.is_string()) out.push_back(item.get<std::string>());
  return out;
}

}  // namespace pilot::rpc
