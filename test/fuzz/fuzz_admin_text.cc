// Fuzz target for the small text formats the admin side reads from the network or
// the data directory. The first byte picks the parser, the rest is its input:
//   0  request-signature envelope (POST /api/v1/verify, spec §10.3)
//   1  registry verdict (what a client checks offline)
//   2  breakers.json (operator-edited, or written by /api/breakers)
// None may crash; whatever parses must print back to exactly the input (the formats
// are canonical) or, for breakers, to a file that parses to the same breakers.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "core/request_envelope.h"
#include "net/rpc/breakers.h"

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_admin_text: invariant failed: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0:
      if (auto e = pilot::RequestEnvelope::parse(text)) check(e->canonical() == text, "envelope round trip");
      break;
    case 1:
      if (auto v = pilot::Verdict::parse(text)) check(v->canonical() == text, "verdict round trip");
      break;
    case 2: {
      std::string error;
      auto parsed = pilot::rpc::Breakers::parse(text, error);
      check(parsed.has_value() == error.empty(), "an error exactly when refused");
      if (!parsed) break;
      nlohmann::json doc = nlohmann::json::object();
      for (const auto& [name, b] : *parsed) {
        check(pilot::rpc::Breakers::valid_name(name), "accepted names are valid");
        doc[name] = {{"state", pilot::rpc::breaker_state_name(b.state)}, {"reason", b.reason}};
      }
      auto again = pilot::rpc::Breakers::parse(doc.dump(), error);
      check(again && again->size() == parsed->size(), "written back, parses to the same breakers");
      for (const auto& [name, b] : *again) check(parsed->at(name).state == b.state, "same state");
      break;
    }
  }
  return 0;
}
