// `-config FILE` for any binary's Flags (spec/beacon.md §13.1): a JSON object whose keys
// are flag names, in hyphen or underscore form (`max-nodes` or `max_nodes`), filling in
// every flag the command line does not give.
//
// Precedence: command line, then the config file, then the flag's environment
// variable, then the default. Values: strings as they are, booleans as true/false,
// numbers as numbers — an integer is written out in full, so 1000000 sets an integer
// flag to 1000000 (the Go beacon formats it with %v as "1e+06", which then fails to
// parse and is silently ignored; we do not reproduce that). Anything else (null,
// arrays, objects), an unknown key, or a value the flag refuses is an error naming
// the file. Kept apart from flags.h so the many files that include it did not change.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/flags.h"

namespace pilot {

// The value of flag `name` on the command line as Flags would read it ("-name V",
// "--name V", "-name=V", "--name=V"), or "" if it is not there.
std::string command_line_value(int argc, char** argv, std::string_view name);

// A JSON object as flag arguments "--name=value" (underscores in a key become
// hyphens). "" on success, else why not (without the file name). The key "config"
// itself is refused: a config file does not name another.
std::string config_json_to_args(std::string_view json_text, std::vector<std::string>& args);

// Flags::parse with the file named by the flag `config_flag` (if the command line
// gives one) filling in. On kError the message (for "<program>: <message>") is in
// `error`; a problem inside the file names the file.
Flags::Result parse_with_config(Flags& flags, std::string_view config_flag, int argc, char** argv, std::string& error);

}  // namespace pilot
