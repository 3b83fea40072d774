// Fuzz target for what the outbound side reads from disk and from set_webhook /
// set_audit_export: the cursor file and the webhook dead-letter file
// (admin/outbound_files.h) and the SSRF guard's URL and host:port parsing
// (net/rpc/url_guard.h). The same input is tried as each.
//
// Invariants: nothing crashes; a decoded cursor re-encodes to bytes that decode to
// the same cursor; decoded dead letters are valid and survive a re-encode with nothing
// skipped; every refusal of the guard starts with "invalid" (so the reference's error
// sanitiser lets it through); allowing private targets never refuses a URL the
// default policy accepts; an accepted URL parses, and its origin + target parse back
// to the same scheme, host, port and target.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "admin/outbound_files.h"
#include "net/rpc/url_guard.h"

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_outbound_files: invariant failed: %s\n", what);
    std::abort();
  }
}

bool refusal_ok(const std::string& why) { return why.empty() || why.rfind("invalid", 0) == 0; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pilot;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto c = admin::decode_cursor(text)) {
    auto again = admin::decode_cursor(admin::encode_cursor(*c));
    check(again.has_value() && *again == *c, "cursor does not round-trip");
  }

  size_t skipped = 0;
  auto letters = admin::decode_dead_letters(text, 100, skipped);
  check(letters.size() <= 100, "kept more than asked");
  for (const auto& l : letters) check(admin::valid_dead_letter(l), "kept an invalid dead letter");
  size_t skipped_again = 0;
  check(admin::decode_dead_letters(admin::encode_dead_letters(letters), 100, skipped_again) == letters,
        "dead letters do not round-trip");
  check(skipped_again == 0, "re-encoded dead letters were skipped");

  const std::string strict = rpc::url_problem(text, rpc::UrlPolicy{});
  const std::string open = rpc::url_problem(text, rpc::UrlPolicy{true});
  check(refusal_ok(strict) && refusal_ok(open), "refusal not starting with \"invalid\"");
  check(!strict.empty() || open.empty(), "allowing private targets refused more");
  if (open.empty()) {
    auto u = rpc::parse_http_url(text);
    check(u.has_value(), "accepted URL does not parse");
    auto again = rpc::parse_http_url(u->origin() + u->target);
    check(again.has_value() && again->scheme == u->scheme && again->host == u->host && again->port == u->port &&
              again->target == u->target,
          "origin + target do not parse back");
  }
  const std::string ep_strict = rpc::endpoint_problem(text, rpc::UrlPolicy{});
  const std::string ep_open = rpc::endpoint_problem(text, rpc::UrlPolicy{true});
  check(refusal_ok(ep_strict) && refusal_ok(ep_open), "endpoint refusal not starting with \"invalid\"");
  check(!ep_strict.empty() || ep_open.empty(), "allowing private endpoints refused more");
  return 0;
}
