#include "admin/verdict_key.h"

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/base64.h"
#include "core/logging.h"
#include "log/file_util.h"

namespace pilot::admin {

std::optional<KeyPair> load_or_create_verdict_key(const std::string& data_dir, std::string& error) {
  const std::string path = data_dir + "/verdict-key.json";
  std::ifstream in(path);
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    auto j = nlohmann::json::parse(text.str(), nullptr, false);
    std::optional<std::vector<uint8_t>> raw;
    if (j.is_object() && j.value("kid", "") == kVerdictKid && j.contains("private_key") && j["private_key"].is_string())
      raw = base64_decode_std(j["private_key"].get<std::string>());
    if (!raw || raw->size() != 64) {
      error = path + " is not a verdict key ({\"kid\":\"vfy-v1\",\"private_key\":<base64 of 64 bytes>})";
      return std::nullopt;
    }
    std::array<uint8_t, 32> seed;
    std::memcpy(seed.data(), raw->data(), 32);
    KeyPair k = KeyPair::from_seed(seed);
    if (std::memcmp(k.secret_key.data(), raw->data(), 64) != 0) {
      error = path + ": the private key's public half does not match its seed";
      return std::nullopt;
    }
    return k;
  }
  KeyPair k = KeyPair::generate();
  nlohmann::json j = {{"kid", kVerdictKid}, {"private_key", base64_encode(k.secret_key.data(), k.secret_key.size())}};
  if (!log::write_file_atomic(path, j.dump() + "\n", error, 0600)) return std::nullopt;
  LOG_INFO("verify: created the verdict signing key %s (kid %s)", path.c_str(), kVerdictKid);
  return k;
}

}  // namespace pilot::admin
