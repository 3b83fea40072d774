#include "core/flags_config.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

namespace pilot {

namespace {

// A number written out as an integer when it is one (1000000, also 1e6 in the
// file), else in the shortest form that reads back (1.5), which an integer or
// duration flag then refuses by name.
std::string number_text(const nlohmann::json& v) {
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  const double d = v.get<double>();
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) return std::to_string(static_cast<long long>(d));
  return v.dump();
}

Flags::Result parse_args(Flags& flags, const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  return flags.parse(static_cast<int>(argv.size()), argv.data());
}

}  // namespace

std::string command_line_value(int argc, char** argv, std::string_view name) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") break;
    if (a.size() < 2 || a[0] != '-') continue;
    a.remove_prefix(a[1] == '-' ? 2 : 1);
    if (a == name) return i + 1 < argc ? argv[i + 1] : "";
    if (a.size() > name.size() && a.substr(0, name.size()) == name && a[name.size()] == '=')
      return std::string(a.substr(name.size() + 1));
  }
  return "";
}

std::string config_json_to_args(std::string_view text, std::vector<std::string>& args) {
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return "not valid JSON";
  if (!doc.is_object()) return "must be a JSON object of flag names and values";
  for (const auto& [key, value] : doc.items()) {
    std::string name = key;
    for (char& c : name)
      if (c == '_') c = '-';
    if (name.empty()) return "empty key";
    if (name == "config") return "a config file cannot name another (key \"" + key + "\")";
    std::string text_value;
    if (value.is_string())
      text_value = value.get<std::string>();
    else if (value.is_boolean())
      text_value = value.get<bool>() ? "true" : "false";
    else if (value.is_number())
      text_value = number_text(value);
    else
      return "key \"" + key + "\": value must be a string, number or boolean";
    args.push_back("--" + name + "=" + text_value);
  }
  return "";
}

Flags::Result parse_with_config(Flags& flags, std::string_view config_flag, int argc, char** argv, std::string& error) {
  const std::string path = command_line_value(argc, argv, config_flag);
  std::vector<std::string> from_file;
  if (!path.empty()) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      error = "-" + std::string(config_flag) + " " + path + ": cannot read the file";
      return Flags::Result::kError;
    }
    std::stringstream text;
    text << in.rdbuf();
    if (std::string why = config_json_to_args(text.str(), from_file); !why.empty()) {
      error = "config file " + path + ": " + why;
      return Flags::Result::kError;
    }
    // The file alone first, so an unknown key or a bad value is reported as the
    // file's (not as a command-line mistake).
    std::vector<std::string> alone{argc > 0 ? argv[0] : "program"};
    alone.insert(alone.end(), from_file.begin(), from_file.end());
    if (parse_args(flags, alone) == Flags::Result::kError) {
      std::string why = flags.error();
      if (why.rfind("unknown flag -", 0) == 0) why = "unknown key \"" + why.substr(14, why.find(' ', 14) - 14) + "\"";
      error = "config file " + path + ": " + why;
      return Flags::Result::kError;
    }
  }
  // Then the file's arguments before the command line's: a flag given on both is
  // assigned twice, and the command line's value comes last.
  std::vector<std::string> all{argc > 0 ? argv[0] : "program"};
  all.insert(all.end(), from_file.begin(), from_file.end());
  for (int i = 1; i < argc; ++i) all.emplace_back(argv[i]);
  const Flags::Result r = parse_args(flags, all);
  if (r == Flags::Result::kError) error = flags.error();
  return r;
}

}  // namespace pilot
