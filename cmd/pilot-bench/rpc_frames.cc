#include "cmd/pilot-bench/rpc_frames.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <thread>

#include "cmd/pilot-bench/splitmix.h"
#include "net/rpc/wire.h"

namespace pilot::bench {

KeyPair key_from(uint64_t domain, uint64_t i) {
  std::array<uint8_t, 32> seed;
  uint64_t s = domain * 0x100000000ull + i;
  for (size_t k = 0; k < seed.size(); k += 8) {
    const uint64_t v = splitmix64(s);
    std::memcpy(seed.data() + k, &v, 8);
  }
  return KeyPair::from_seed(seed);
}

std::string heartbeat_json(uint32_t id, const Signature& sig) {
  return wire::json_frame("{\"type\":\"heartbeat\",\"node_id\":" + std::to_string(id) + ",\"signature\":\"" +
                          encode_signature(sig) + "\"}");
}

std::string lookup_json(uint32_t id) {
  return wire::json_frame("{\"type\":\"lookup\",\"node_id\":" + std::to_string(id) + "}");
}

std::string resolve_json(uint32_t requester, uint32_t target, const Signature& sig) {
  return wire::json_frame("{\"type\":\"resolve\",\"node_id\":" + std::to_string(target) + ",\"requester_id\":" +
                          std::to_string(requester) + ",\"signature\":\"" + encode_signature(sig) + "\"}");
}

std::string set_public_json(uint32_t id, const Signature& sig) {
  return wire::json_frame("{\"type\":\"set_visibility\",\"node_id\":" + std::to_string(id) +
                          ",\"public\":true,\"signature\":\"" + encode_signature(sig) + "\"}");
}

std::string register_json(const std::string& pub_b64, uint64_t i, const KeyPair* key) {
  const std::string listen = "0.0.0.0:" + std::to_string(20000 + i % 40000);
  std::string body = "{\"type\":\"register\",\"listen_addr\":\"" + listen + "\",\"public_key\":\"" + pub_b64 +
                     "\",\"lan_addrs\":[\"192.168." + std::to_string((i >> 8) & 0xff) + "." + std::to_string(i & 0xff) +
                     ":" + std::to_string(20000 + i % 40000) + "\"],\"version\":\"v1.9.3\"";
  if (key) body += ",\"signature\":\"" + encode_signature(key->sign("register:" + listen + ":" + pub_b64)) + "\"";
  return wire::json_frame(body + "}");
}

std::vector<std::string> signed_registrations(uint64_t domain, uint64_t first, size_t count) {
  std::vector<std::string> out(count);
  const size_t threads = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 16);
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (size_t k = t; k < count; k += threads) {
        const KeyPair kp = key_from(domain, first + k);
        out[k] = register_json(encode_public_key(kp.public_key), first + k, &kp);
      }
    });
  for (std::thread& th : pool) th.join();
  return out;
}

std::string json_value(std::string_view body, std::string_view key) {
  const std::string pat = "\"" + std::string(key) + "\":";
  size_t p = body.find(pat);
  if (p == std::string_view::npos) return "";
  p += pat.size();
  if (p < body.size() && body[p] == '"') {
    std::string out;
    for (++p; p < body.size() && body[p] != '"'; ++p) {
      if (body[p] == '\\' && p + 1 < body.size()) ++p;
      out += body[p];
    }
    return out;
  }
  size_t e = p;
  while (e < body.size() && body[e] != ',' && body[e] != '}') ++e;
  return std::string(body.substr(p, e - p));
}

uint32_t be32(const char* p) {
  return uint32_t(uint8_t(p[0])) << 24 | uint32_t(uint8_t(p[1])) << 16 | uint32_t(uint8_t(p[2])) << 8 |
         uint32_t(uint8_t(p[3]));
}

}  // namespace pilot::bench
