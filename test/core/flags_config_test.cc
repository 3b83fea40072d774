// -config FILE (core/flags_config.h): real files, real Flags; precedence, the two key
// forms, numbers as numbers, and the errors.
#include "core/flags_config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "test/support/temp_dir.h"

namespace pilot {
namespace {

struct Values {
  std::string config, addr = ":9001", secret;
  uint64_t max_nodes = 500000, beacon_id = 0;
  bool strict = true;
  int64_t interval = 10'000'000'000;
};

void add(Flags& f, Values& v) {
  f.add_string(&v.config, "config", nullptr, "JSON file of flag values");
  f.add_string(&v.addr, "addr", nullptr, "listen address");
  f.add_uint(&v.max_nodes, "max-nodes", nullptr, "capacity");
  f.add_uint(&v.beacon_id, "beacon-id", nullptr, "id");
  f.add_bool(&v.strict, "strict-gossip", nullptr, "strict");
  f.add_duration(&v.interval, "gossip-interval", nullptr, "interval");
  f.add_string(&v.secret, "gossip-secret", "PILOT_FLAGS_CONFIG_TEST_SECRET", "secret");
}

class FlagsConfig : public ::testing::Test {
 protected:
  std::string write(const std::string& text) {
    std::string path = dir_.path() + "/config.json";
    std::ofstream(path) << text;
    return path;
  }
  Flags::Result parse(std::vector<std::string> args, Values& v, std::string& error) {
    flags_ = std::make_unique<Flags>("prog", "test");
    add(*flags_, v);
    args.insert(args.begin(), "prog");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    return parse_with_config(*flags_, "config", static_cast<int>(argv.size()), argv.data(), error);
  }
  testsupport::TempDir dir_;
  std::unique_ptr<Flags> flags_;
};

TEST_F(FlagsConfig, FileFillsFlagsTheCommandLineDoesNotGive) {
  const std::string path = write(
      R"({"addr": "127.0.0.1:7000", "beacon_id": 7, "max-nodes": 1000000, "strict_gossip": false,
          "gossip-interval": "2s"})");
  Values v;
  std::string error;
  ASSERT_EQ(parse({"-config", path, "-beacon-id", "9"}, v, error), Flags::Result::kOk) << error;
  EXPECT_EQ(v.addr, "127.0.0.1:7000");
  EXPECT_EQ(v.beacon_id, 9u);        // the command line wins
  EXPECT_EQ(v.max_nodes, 1000000u);  // not "1e+06" (the Go quirk)
  EXPECT_FALSE(v.strict);
  EXPECT_EQ(v.interval, 2'000'000'000);
  EXPECT_EQ(v.config, path);
  EXPECT_TRUE(flags_->positional().empty());
}

TEST_F(FlagsConfig, AnIntegralFloatIsAnIntegerAndAFractionIsRefused) {
  Values v;
  std::string error;
  ASSERT_EQ(parse({"--config=" + write(R"({"max_nodes": 2e6})")}, v, error), Flags::Result::kOk) << error;
  EXPECT_EQ(v.max_nodes, 2000000u);
  Values w;
  const std::string path = write(R"({"max_nodes": 1.5})");
  ASSERT_EQ(parse({"-config", path}, w, error), Flags::Result::kError);
  EXPECT_NE(error.find("config file " + path), std::string::npos) << error;
  EXPECT_NE(error.find("1.5"), std::string::npos) << error;
}

TEST_F(FlagsConfig, UnknownKeyIsAClearError) {
  const std::string path = write(R"({"addr": ":1", "gossip_secrte": "x"})");
  Values v;
  std::string error;
  ASSERT_EQ(parse({"-config", path}, v, error), Flags::Result::kError);
  EXPECT_EQ(error, "config file " + path + ": unknown key \"gossip-secrte\"");
}

TEST_F(FlagsConfig, BadFilesAreErrors) {
  Values v;
  std::string error;
  EXPECT_EQ(parse({"-config", dir_.path() + "/missing.json"}, v, error), Flags::Result::kError);
  EXPECT_NE(error.find("cannot read"), std::string::npos) << error;
  EXPECT_EQ(parse({"-config", write("{not json")}, v, error), Flags::Result::kError);
  EXPECT_NE(error.find("not valid JSON"), std::string::npos) << error;
  EXPECT_EQ(parse({"-config", write("[1,2]")}, v, error), Flags::Result::kError);
  EXPECT_NE(error.find("JSON object"), std::string::npos) << error;
  EXPECT_EQ(parse({"-config", write(R"({"peers": ["a", "b"]})")}, v, error), Flags::Result::kError);
  EXPECT_NE(error.find("string, number or boolean"), std::string::npos) << error;
  EXPECT_EQ(parse({"-config", write(R"({"config": "other.json"})")}, v, error), Flags::Result::kError);
  EXPECT_NE(error.find("cannot name another"), std::string::npos) << error;
}

TEST_F(FlagsConfig, FileBeatsEnvironmentAndCommandLineBeatsBoth) {
  setenv("PILOT_FLAGS_CONFIG_TEST_SECRET", "from-env", 1);
  Values a;
  std::string error;
  ASSERT_EQ(parse({"-config", write(R"({"gossip-secret": "from-file"})")}, a, error), Flags::Result::kOk);
  EXPECT_EQ(a.secret, "from-file");
  Values b;
  ASSERT_EQ(parse({"-config", write(R"({"addr": ":2"})")}, b, error), Flags::Result::kOk);
  EXPECT_EQ(b.secret, "from-env");
  Values c;
  ASSERT_EQ(parse({"-config", write(R"({"gossip-secret": "from-file"})"), "-gossip-secret=cli"}, c, error),
            Flags::Result::kOk);
  EXPECT_EQ(c.secret, "cli");
  unsetenv("PILOT_FLAGS_CONFIG_TEST_SECRET");
}

TEST_F(FlagsConfig, WithoutConfigItIsPlainParse) {
  Values v;
  std::string error;
  ASSERT_EQ(parse({"-addr", ":5", "extra"}, v, error), Flags::Result::kOk);
  EXPECT_EQ(v.addr, ":5");
  ASSERT_EQ(flags_->positional().size(), 1u);
  EXPECT_EQ(parse({"-nope"}, v, error), Flags::Result::kError);
  EXPECT_NE(error.find("unknown flag -nope"), std::string::npos);
}

TEST(FlagsConfigArgs, CommandLineValueForms) {
  std::vector<std::string> a{"p", "-x", "1", "--config=f1"}, b{"p", "-config", "f2"}, c{"p", "--configx", "y"};
  auto run = [](std::vector<std::string>& v) {
    std::vector<char*> argv;
    for (auto& s : v) argv.push_back(s.data());
    return command_line_value(static_cast<int>(argv.size()), argv.data(), "config");
  };
  EXPECT_EQ(run(a), "f1");
  EXPECT_EQ(run(b), "f2");
  EXPECT_EQ(run(c), "");
}

}  // namespace
}  // namespace pilot
