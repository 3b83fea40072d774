// The live dashboard in a real browser: Debian's headless Chromium loads `/` from the
// real rendezvous binary, runs the page's script against /api/dashboard, and the test
// reads the rendered DOM. A screenshot is kept next to the test binary
// (dashboard.png) for a human to look at.
//
// Skips, saying so, where Chromium is not installed (.ci/deps installs it).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "net/rpc/client.h"
#include "test/support/process.h"
#include "test/support/registry_fixture.h"
#include "test/support/temp_dir.h"

namespace pilot {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

std::string find_chromium() {
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"})
    if (::access(p, X_OK) == 0) return p;
  return "";
}

// Chromium renders `url`, lets the page's timers and fetches run for `budget_ms` of
// virtual time, then prints the DOM (or writes a screenshot).
std::string run_chromium(const std::string& bin, const std::vector<std::string>& extra, const std::string& url) {
  testsupport::TempDir profile;
  std::vector<std::string> args = {"--headless",
                                   "--no-sandbox",  // CI runs as root
                                   "--disable-gpu",
                                   "--disable-dev-shm-usage",
                                   "--no-first-run",
                                   "--user-data-dir=" + profile.path(),
                                   "--virtual-time-budget=4000",
                                   "--window-size=1280,900"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(url);
  testsupport::Process p(bin, args, {{"HOME", profile.path()}});
  const int st = p.wait_exit(60s);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "chromium failed:\n" << p.output();
  return p.output();
}

// The text of the element with `id` in the dumped DOM ("" if absent).
std::string text_of(const std::string& dom, const std::string& id) {
  std::smatch m;
  const std::regex re("id=\"" + id + "\"[^>]*>([^<]*)<");
  return std::regex_search(dom, m, re) ? m[1].str() : "";
}

TEST(DashboardBrowser, ShowsLiveCountsInARealBrowser) {
  const std::string chromium = find_chromium();
  if (chromium.empty()) GTEST_SKIP() << "Chromium is not installed (apt-get install chromium; .ci/deps does)";

  testsupport::Registry reg(testsupport::with_flags({"--admin-token", "t"}));
  const uint16_t http = reg.http_port();
  ASSERT_NE(http, 0) << reg.output();
  rpc::Client c = reg.client();
  std::vector<rpc::Identity> ids(3);
  uint32_t first = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    json req = ids[i].register_req("0.0.0.0:" + std::to_string(4000 + i));
    req["version"] = i < 2 ? "v1.9.0" : "v1.8.2";
    json r = c.call(req);
    ASSERT_EQ(r.value("type", ""), "register_ok") << r.dump();
    if (!first) first = r["node_id"];
  }
  json cn = c.call({{"type", "create_network"}, {"node_id", first}, {"name", "lab"}, {"admin_token", "t"}});
  ASSERT_EQ(cn.value("type", ""), "create_network_ok") << cn.dump();

  const std::string url = "http://127.0.0.1:" + std::to_string(http) + "/";
  const std::string dom = run_chromium(chromium, {"--dump-dom"}, url);
  ASSERT_NE(dom.find("data-loaded=\"true\""), std::string::npos) << "the page's script never rendered data:\n" << dom;
  EXPECT_EQ(text_of(dom, "online"), "3") << dom;
  EXPECT_EQ(text_of(dom, "online-sub"), "3 registered · 3 ever") << dom;
  EXPECT_EQ(text_of(dom, "networks"), "1") << dom;
  EXPECT_EQ(text_of(dom, "repl"), "standalone") << dom;
  EXPECT_NE(text_of(dom, "role").find("standalone"), std::string::npos) << dom;
  EXPECT_NE(text_of(dom, "relay-sub").find("nodes"), std::string::npos) << "the embedded beacon's card:\n" << dom;
  EXPECT_NE(text_of(dom, "status").find("updated"), std::string::npos) << dom;
  // The versions table, most common first.
  const size_t v19 = dom.find("<td>v1.9.0</td><td>2</td>");
  const size_t v18 = dom.find("<td>v1.8.2</td><td>1</td>");
  EXPECT_NE(v19, std::string::npos) << dom;
  EXPECT_NE(v18, std::string::npos) << dom;
  EXPECT_LT(v19, v18) << dom;
  EXPECT_NE(dom.find("first start"), std::string::npos) << "the restart history:\n" << dom;

  // The screenshot, kept as an artifact of the test run.
  const std::string shot = std::filesystem::absolute("dashboard.png").string();
  std::filesystem::remove(shot);
  run_chromium(chromium, {"--screenshot=" + shot}, url);
  std::ifstream png(shot, std::ios::binary);
  char magic[8] = {};
  png.read(magic, 8);
  EXPECT_EQ(std::string(magic, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << shot;
  EXPECT_GT(std::filesystem::file_size(shot), 10000u) << "an empty page would be tiny";
}

}  // namespace
}  // namespace pilot
