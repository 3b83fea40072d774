// The registry's protections against clients, on the real binary over loopback:
// back-pressure against a client that sends without reading (spec issue: "slow
// readers cannot make the server buffer without bound"), the per-IP rate limit with
// its exact reply (§3.1, §21 items 21–24), and the whitelist file's hot reload.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "net/rpc/client.h"
#include "net/rpc/wire.h"
#include "test/support/registry_fixture.h"

namespace pilot {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testsupport::Registry;

int server_pid(Registry& r) {
  const std::string out = r.output();
  const std::string marker = "starting (pid ";
  size_t at = out.rfind(marker);
  return at == std::string::npos ? -1 : std::atoi(out.c_str() + at + marker.size());
}

long rss_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

// A raw non-blocking loopback socket: the blocking test client cannot show a send
// that stalls.
int raw_connect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return -1;
  ::fcntl(fd, F_SETFL, O_NONBLOCK);
  return fd;
}

TEST(RegistryBackPressure, ASlowReaderCostsBoundedMemoryAndGetsEveryReplyInOrder) {
  Registry reg;
  const int pid = server_pid(reg);
  ASSERT_GT(pid, 0) << reg.output();
  // Requests for unknown nodes: each reply names its node ID, so order is checkable.
  constexpr int kRequests = 400000;
  std::string stream;
  for (int i = 1; i <= kRequests; ++i)
    stream += wire::json_frame(R"({"type":"lookup","node_id":)" + std::to_string(i) + "}");
  const long rss_before = rss_kib(pid);

  int fd = raw_connect(reg.port());
  ASSERT_GE(fd, 0);
  // Send without reading until the server stops taking bytes for a second.
  size_t sent = 0;
  auto stalled_since = std::chrono::steady_clock::now();
  const auto give_up = stalled_since + 20s;
  while (sent < stream.size() && std::chrono::steady_clock::now() < give_up) {
    ssize_t n = ::send(fd, stream.data() + sent, stream.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += size_t(n);
      stalled_since = std::chrono::steady_clock::now();
    } else if (std::chrono::steady_clock::now() - stalled_since > 1s) {
      break;
    } else {
      std::this_thread::sleep_for(5ms);
    }
  }
  ASSERT_LT(sent, stream.size()) << "the server kept reading from a client that never reads";
  const long rss_stalled = rss_kib(pid);
  // Unbounded buffering would hold ~100 MB of replies here. Sanitizer builds keep freed
  // memory in quarantine and shadow maps, so their RSS says nothing about buffering.
  if (!std::getenv("ASAN_OPTIONS") && !std::getenv("TSAN_OPTIONS")) {
    EXPECT_LT(rss_stalled - rss_before, 48 * 1024)
        << "server RSS grew from " << rss_before << " to " << rss_stalled << " KiB while a client did not read";
  }

  // Others are still served meanwhile.
  auto other = reg.client();
  EXPECT_EQ(other.call(rpc::lookup_req(7))["error"], "node 7: node not found");

  // Now read everything while sending the rest: every reply arrives, in order.
  std::string in;
  int next = 1;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (next <= kRequests && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, short(POLLIN | (sent < stream.size() ? POLLOUT : 0)), 0};
    ::poll(&p, 1, 100);
    if (p.revents & POLLOUT) {
      ssize_t n = ::send(fd, stream.data() + sent, stream.size() - sent, MSG_NOSIGNAL);
      if (n > 0) sent += size_t(n);
    }
    if (p.revents & POLLIN) {
      char buf[65536];
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      ASSERT_GT(n, 0) << "server closed after " << next - 1 << " replies";
      in.append(buf, size_t(n));
      size_t pos = 0;
      wire::Frame f;
      std::string why;
      while (wire::next_json_frame(std::string_view(in).substr(pos), f, why) == wire::FrameStatus::kFrame) {
        const std::string want = "{\"error\":\"node " + std::to_string(next) + ": node not found\",\"type\":\"error\"}";
        ASSERT_EQ(f.body, want) << "reply " << next;
        ++next;
        pos += f.consumed;
      }
      in.erase(0, pos);
    }
  }
  EXPECT_EQ(next, kRequests + 1);
  ::close(fd);
}

TEST(RegistryBackPressure, IdleConnectionsHoldNoBuffers) {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  constexpr int kConns = 3000;
  ASSERT_GT(rl.rlim_cur, rlim_t(kConns + 100)) << "not enough file descriptors for this test";
  Registry reg;
  const int pid = server_pid(reg);
  std::vector<rpc::Client> conns;
  conns.reserve(kConns);
  conns.push_back(reg.client());
  conns[0].call(rpc::lookup_req(1));
  const long rss_before = rss_kib(pid);
  // Each connection pipelines a burst (a large read) and then goes idle.
  std::string burst;
  for (int i = 0; i < 200; ++i) burst += wire::json_frame(rpc::lookup_req(1).dump());
  for (int i = 1; i < kConns; ++i) {
    conns.push_back(reg.client());
    conns.back().send_bytes(burst);
    for (int k = 0; k < 200; ++k) conns.back().recv_json();
  }
  const long per_conn_bytes = (rss_kib(pid) - rss_before) * 1024 / kConns;
  if (!std::getenv("ASAN_OPTIONS") && !std::getenv("TSAN_OPTIONS")) {
    EXPECT_LT(per_conn_bytes, 4096) << "an idle connection costs " << per_conn_bytes << " bytes";
  }
  EXPECT_EQ(conns.back().call(rpc::lookup_req(2))["error"], "node 2: node not found");
}

std::string burst(rpc::Client& c, int n, int* limited) {
  std::string one;
  for (int i = 0; i < n; ++i) c.send_json(rpc::lookup_req(1).dump());
  *limited = 0;
  for (int i = 0; i < n; ++i) {
    std::string r = c.recv_json();
    if (r.find("rate limited") != std::string::npos) ++*limited, one = r;
  }
  return one;
}

TEST(RegistryRateLimit, PerIpBucketAnswersRateLimitedAndRecovers) {
  testsupport::RegistryOptions o;
  o.no_rate_limit = false;
  Registry reg(o);
  auto c = reg.client();
  int limited = 0;
  std::string reply = burst(c, 150, &limited);
  EXPECT_GE(limited, 40);  // bucket of 100, refilled at 100/s during a burst of a few ms
  EXPECT_LE(limited, 50);
  EXPECT_EQ(reply, R"({"error":"rate limited","retry_after_ms":1000,"type":"error"})");
  std::this_thread::sleep_for(1100ms);  // the connection stays usable after the window
  EXPECT_EQ(c.call(rpc::lookup_req(1))["error"], "node 1: node not found");

  // Binary mode gets a 0xFF frame with the same text.
  auto b = reg.client(rpc::Mode::kBinary);
  int binary_limited = 0;
  for (int i = 0; i < 150; ++i) {
    auto r = b.lookup(1);
    if (r.error == "rate limited") ++binary_limited;
  }
  EXPECT_GT(binary_limited, 0);
}

TEST(RegistryRateLimit, WhitelistFileIsAppliedWithinSecondsAndDeletionClearsIt) {
  testsupport::RegistryOptions o;
  o.no_rate_limit = false;
  Registry reg(o);
  auto c = reg.client();
  const std::string path = reg.data_dir() + "/rate-limit-whitelist.json";
  auto write = [&](const std::string& text) {
    std::string tmp = path + ".tmp";
    std::ofstream(tmp) << text;
    std::filesystem::rename(tmp, path);
  };
  auto limited_after_refill = [&] {
    std::this_thread::sleep_for(1100ms);  // a full bucket again
    int limited = 0;
    burst(c, 150, &limited);
    return limited;
  };
  write(R"([{"cidr": "127.0.0.1", "rate": 5000}])");
  std::this_thread::sleep_for(2500ms);  // polled every 2 s
  EXPECT_EQ(limited_after_refill(), 0) << reg.output();
  EXPECT_TRUE(reg.wait_for_output("rate-limit whitelist", 5s)) << reg.output();

  // A bad file is refused whole and the previous list stays.
  write(R"([{"cidr": "127.0.0.1", "rate": 5000}, {"cidr": "10.0.0.0/8", "rate": 0}])");
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(limited_after_refill(), 0);

  std::filesystem::remove(path);
  std::this_thread::sleep_for(2500ms);
  EXPECT_GT(limited_after_refill(), 0);
}

}  // namespace
}  // namespace pilot
