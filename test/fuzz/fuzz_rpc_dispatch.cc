// Fuzz target for the registry's request path above the framing: a stream of frames
// (first input byte: JSON mode or binary mode) is cut by the real framing code and
// every frame is dispatched to the real op handlers, against a registry that already
// holds two nodes (fixed keys), a trust pair and a network. Invariants: nothing
// crashes; every JSON-mode reply is a JSON object with a "type"; every binary reply is
// one well-formed frame; the resulting state can still be dumped and compared.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "core/ed25519.h"
#include "net/rpc/dispatcher.h"
#include "net/rpc/registry.h"
#include "net/rpc/wire.h"

using namespace pilot;

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_rpc_dispatch: invariant failed: %s\n", what);
    std::abort();
  }
}

KeyPair fixed_key(uint8_t n) {
  std::array<uint8_t, 32> seed{};
  seed.fill(n);
  return KeyPair::from_seed(seed);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  crypto_init();
  if (size < 1) return 0;
  const bool binary = data[0] & 1;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);

  State state;
  int64_t now = int64_t{1767225600} * 1000000000;
  rpc::RegistryOptions opts;
  opts.admin_token = "adm";
  opts.beacon_addr = "192.0.2.1:9001";
  opts.strict_directory_auth = data[0] & 2;
  opts.strict_heartbeat_freshness = data[0] & 4;
  rpc::Registry reg(state, nullptr, opts, [&now] { return now += 1000000; });
  const KeyPair a = fixed_key(1), b = fixed_key(2);
  reg.emit(NodeRegistered{1, a.public_key, "alice", "198.51.100.1:4000", {}, "1.0", false});
  reg.emit(NodeRegistered{2, b.public_key, "", "198.51.100.2:4000", {"10.0.0.2:4000"}, "", true});
  reg.emit(VisibilityChanged{1, true});
  reg.emit(TrustAdded{1, 2});
  reg.emit(NetworkCreated{1, "lab", "token", "tok", "", true, 1, "", ""});
  rpc::Dispatcher disp(reg);
  const rpc::Peer peer{"203.0.113.9", 5000, false};

  for (int i = 0; i < 64 && !in.empty(); ++i) {
    wire::Frame f;
    std::string why;
    if (binary) {
      if (wire::next_binary_frame(in, f, why) != wire::FrameStatus::kFrame) break;
      std::string out;
      disp.handle_binary(f.type, f.body, peer, out);
      wire::Frame r;
      check(wire::next_binary_frame(out, r, why) == wire::FrameStatus::kFrame && r.consumed == out.size(),
            "binary reply is not exactly one frame");
    } else {
      if (wire::next_json_frame(in, f, why) != wire::FrameStatus::kFrame) break;
      auto reply = disp.handle_json(f.body, peer);
      if (reply) {
        auto j = nlohmann::json::parse(*reply, nullptr, false);
        check(j.is_object() && j.contains("type") && j["type"].is_string(), "reply without a type");
      }
    }
    in.remove_prefix(f.consumed);
  }
  // Walk the whole state: broken projection invariants tend to trip here.
  check(state == state, "state != itself");
  (void)state.debug_dump();
  return 0;
}
