// Command-line flags the way the reference's Go binaries take them, so operators'
// scripts keep working: `-name value`, `-name=value`, `--name value`, `--name=value`;
// booleans also as bare `-name`. Each flag may name an environment variable used when
// the flag is not given. `--help`/`-h` prints the generated usage.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pilot {

class Flags {
 public:
  Flags(std::string program, std::string summary) : program_(std::move(program)), summary_(std::move(summary)) {}

  void add_string(std::string* target, const char* name, const char* env, const char* help);
  void add_bool(bool* target, const char* name, const char* env, const char* help);
  void add_uint(uint64_t* target, const char* name, const char* env, const char* help);
  // A Go duration ("30m", "2s", "500ms"), stored as nanoseconds; must be >= 0.
  void add_duration(int64_t* target_ns, const char* name, const char* env, const char* help);

  enum class Result { kOk, kHelp, kError };
  // Parses argv[first..]; positional arguments go to positional(). On kError the
  // message (for stderr) is in error(); on kHelp usage() has been requested.
  Result parse(int argc, char** argv, int first = 1);
  const std::vector<std::string>& positional() const { return positional_; }
  const std::string& error() const { return error_; }
  std::string usage() const;

 private:
  enum class Kind { kString, kBool, kUint, kDuration };
  struct Flag {
    Kind kind;
    void* target;
    std::string name, env, help, default_text;
  };
  bool assign(Flag& f, const std::string& value, const std::string& source);

  std::string program_, summary_;
  std::vector<Flag> flags_;
  std::vector<std::string> positional_;
  std::string error_;
};

}  // namespace pilot
