#include "cmd/rendezvous/promote_command.h"

#include <httplib.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "core/flags.h"
#include "net/rpc/listen_addr.h"

namespace pilot {

int run_promote_command(int argc, char** argv) {
  std::string http = "127.0.0.1:3000";
  std::string token;
  int64_t timeout_ns = int64_t{15} * 1000000000;
  Flags flags("rendezvous promote",
              "Promote a running follower to leader: POST /api/admin/promote on its admin HTTP server. It stops\n"
              "following, starts a new term (persisted), accepts writes, serves followers on --repl-addr and fences\n"
              "the old leader. Exit status: 0 promoted, 1 refused by the server (already a leader, fenced, bad\n"
              "token), 2 bad arguments, 3 no answer.");
  flags.add_string(&http, "http", nullptr, "the server's admin HTTP address (HOST:PORT; :PORT = 127.0.0.1)");
  flags.add_string(&token, "admin-token", "PILOT_ADMIN_TOKEN", "the server's admin token (sent as X-Admin-Token)");
  flags.add_duration(&timeout_ns, "timeout", nullptr, "give up waiting for the server after this long");
  switch (flags.parse(argc, argv)) {
    case Flags::Result::kHelp: std::fputs(flags.usage().c_str(), stdout); return 0;
    case Flags::Result::kError: std::fprintf(stderr, "rendezvous promote: %s\n", flags.error().c_str()); return 2;
    case Flags::Result::kOk: break;
  }
  if (!flags.positional().empty()) {
    std::fprintf(stderr, "rendezvous promote: unexpected argument \"%s\" (see --help)\n",
                 flags.positional()[0].c_str());
    return 2;
  }
  auto hp = rpc::split_host_port(http);
  char* end = nullptr;
  const long port = hp ? std::strtol(hp->port.c_str(), &end, 10) : 0;
  if (!hp || hp->port.empty() || *end || port < 1 || port > 65535) {
    std::fprintf(stderr, "rendezvous promote: --http \"%s\" is not HOST:PORT\n", http.c_str());
    return 2;
  }
  if (token.empty()) {
    std::fprintf(stderr, "rendezvous promote: --admin-token (or PILOT_ADMIN_TOKEN) is required\n");
    return 2;
  }
  const std::string host = hp->host.empty() ? "127.0.0.1" : hp->host;
  httplib::Client cli(host, static_cast<int>(port));
  const time_t secs = static_cast<time_t>(timeout_ns / 1000000000);
  const time_t usecs = static_cast<time_t>((timeout_ns % 1000000000) / 1000);
  cli.set_connection_timeout(secs, usecs);
  cli.set_read_timeout(secs, usecs);
  cli.set_write_timeout(secs, usecs);
  auto res = cli.Post("/api/admin/promote", httplib::Headers{{"X-Admin-Token", token}}, "", "application/json");
  if (!res) {
    std::fprintf(stderr, "rendezvous promote: no answer from %s: %s\n", http.c_str(),
                 httplib::to_string(res.error()).c_str());
    return 3;
  }
  if (res->status != 200) {
    std::string body = res->body;
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
    std::fprintf(stderr, "rendezvous promote: refused (HTTP %d): %s\n", res->status, body.c_str());
    return 1;
  }
  const auto j = nlohmann::json::parse(res->body, nullptr, false);
  if (j.is_object() && j.contains("term"))
    std::printf("promoted: leader at term %llu (was term %llu), from seq %llu\n",
                (unsigned long long)j.value("term", uint64_t{0}),
                (unsigned long long)j.value("previous_term", uint64_t{0}),
                (unsigned long long)j.value("seq", uint64_t{0}));
  else
    std::printf("promoted: %s\n", res->body.c_str());
  return 0;
}

}  // namespace pilot
