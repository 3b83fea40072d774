// A strict parser of the Prometheus text exposition format 0.0.4, for tests: it
// accepts what our /metrics must produce and names the first line that breaks a rule.
// Stricter than Prometheus where Prometheus is lenient about things we never do:
//
//   * every line ends with '\n', none is empty, no '\r';
//   * a family has at most one HELP and one TYPE, both before its first sample, and
//     every sample belongs to a family with a TYPE and a HELP;
//   * a family's lines are contiguous (no family is continued after another one);
//   * names match [a-zA-Z_:][a-zA-Z0-9_:]* (metrics) and [a-zA-Z_][a-zA-Z0-9_]*
//     (labels, not starting with "__"); a label appears once per sample;
//   * label values use only the escapes \\ \" \n and are valid UTF-8; HELP texts use
//     only \\ and \n;
//   * values parse as floats (NaN, +Inf, -Inf allowed); timestamps are integers;
//   * counters are named *_total, and are >= 0;
//   * histograms: per label set, `_bucket` lines with strictly increasing `le`,
//     non-decreasing counts, the last one le="+Inf", then `_sum` and `_count`, with
//     _count equal to the +Inf bucket; `le` only on buckets;
//   * no series (name + label set) appears twice.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pilot::admin::testing {

using LabelMap = std::map<std::string, std::string>;

struct Sample {
  std::string name;
  LabelMap labels;
  double value = 0;
};

struct Family {
  std::string name;
  std::string type;
  std::string help;
  std::vector<Sample> samples;
};

struct Parsed {
  std::map<std::string, Family> families;
  std::vector<std::string> order;  // families in the order they appeared

  // The value of one series; nullopt if absent.
  std::optional<double> value(const std::string& name, const LabelMap& labels = {}) const {
    for (const auto& [fname, f] : families)
      for (const Sample& s : f.samples)
        if (s.name == name && s.labels == labels) return s.value;
    return std::nullopt;
  }
  const Family* family(const std::string& name) const {
    auto it = families.find(name);
    return it == families.end() ? nullptr : &it->second;
  }
};

namespace detail {

inline bool metric_name_ok(std::string_view n) {
  if (n.empty()) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

inline bool label_name_ok(std::string_view n) {
  if (n.empty() || n.substr(0, 2) == "__") return false;
  for (size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

inline bool utf8_ok(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c < 0x80) {
      n = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      lo = c == 0xE0 ? 0xA0 : 0x80;
      hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      lo = c == 0xF0 ? 0x90 : 0x80;
      hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
      return false;
    }
    if (i + n > s.size()) return false;
    if (n > 1 && (b(i + 1) < lo || b(i + 1) > hi)) return false;
    for (size_t k = 2; k < n; ++k)
      if (b(i + k) < 0x80 || b(i + k) > 0xBF) return false;
    i += n;
  }
  return true;
}

// A float as Prometheus writes it: [+-]digits[.digits][e[+-]digits], NaN, ±Inf.
inline std::optional<double> parse_value(std::string_view v) {
  if (v == "NaN") return std::nan("");
  if (v == "+Inf" || v == "Inf") return INFINITY;
  if (v == "-Inf") return -INFINITY;
  size_t i = 0;
  if (i < v.size() && (v[i] == '+' || v[i] == '-')) ++i;
  const size_t digits_from = i;
  while (i < v.size() && v[i] >= '0' && v[i] <= '9') ++i;
  size_t int_digits = i - digits_from, frac_digits = 0;
  if (i < v.size() && v[i] == '.') {
    const size_t f = ++i;
    while (i < v.size() && v[i] >= '0' && v[i] <= '9') ++i;
    frac_digits = i - f;
  }
  if (int_digits + frac_digits == 0) return std::nullopt;
  if (i < v.size() && (v[i] == 'e' || v[i] == 'E')) {
    ++i;
    if (i < v.size() && (v[i] == '+' || v[i] == '-')) ++i;
    const size_t e = i;
    while (i < v.size() && v[i] >= '0' && v[i] <= '9') ++i;
    if (i == e) return std::nullopt;
  }
  if (i != v.size()) return std::nullopt;
  std::string_view body = v[0] == '+' ? v.substr(1) : v;
  double out = 0;
  auto r = std::from_chars(body.data(), body.data() + body.size(), out);
  if (r.ec != std::errc() || r.ptr != body.data() + body.size()) return std::nullopt;
  return out;
}

// `text` after "name" up to the value: `{a="x",b="y"}` (trailing comma allowed).
// Advances `pos` past the closing brace.
inline bool parse_labels(std::string_view line, size_t& pos, LabelMap& out, std::string& err) {
  ++pos;  // '{'
  for (;;) {
    if (pos < line.size() && line[pos] == '}') {
      ++pos;
      return true;
    }
    size_t eq = line.find('=', pos);
    if (eq == std::string_view::npos) return err = "label without '='", false;
    std::string name(line.substr(pos, eq - pos));
    if (!label_name_ok(name)) return err = "invalid label name \"" + name + "\"", false;
    pos = eq + 1;
    if (pos >= line.size() || line[pos] != '"') return err = "label value not quoted", false;
    ++pos;
    std::string value;
    for (;;) {
      if (pos >= line.size()) return err = "unterminated label value", false;
      const char c = line[pos++];
      if (c == '"') break;
      if (c != '\\') {
        value += c;
        continue;
      }
      if (pos >= line.size()) return err = "unterminated escape", false;
      const char e = line[pos++];
      if (e == '\\' || e == '"')
        value += e;
      else if (e == 'n')
        value += '\n';
      else
        return err = std::string("invalid escape \\") + e + " in a label value", false;
    }
    if (!utf8_ok(value)) return err = "label value is not UTF-8", false;
    if (!out.emplace(name, std::move(value)).second) return err = "label " + name + " repeated", false;
    if (pos < line.size() && line[pos] == ',') {
      ++pos;
      continue;
    }
    if (pos < line.size() && line[pos] == '}') continue;
    return err = "expected ',' or '}' after a label", false;
  }
}

inline std::optional<std::string> unescape_help(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    if (++i >= s.size()) return std::nullopt;
    if (s[i] == '\\')
      out += '\\';
    else if (s[i] == 'n')
      out += '\n';
    else
      return std::nullopt;
  }
  if (!utf8_ok(out)) return std::nullopt;
  return out;
}

struct HistogramSeries {
  double last_le = -INFINITY;
  double last_count = 0;
  bool has_inf = false, has_sum = false, has_count = false;
  double inf_count = 0, count = 0;
};

}  // namespace detail

// The parsed exposition, or nullopt with `error` = "line N: what is wrong".
inline std::optional<Parsed> parse_exposition(std::string_view text, std::string& error) {
  using namespace detail;
  Parsed p;
  std::set<std::string> closed;                     // families whose lines are over
  std::set<std::string> sampled;                    // families with a sample already
  std::set<std::pair<std::string, LabelMap>> seen;  // series
  std::map<std::pair<std::string, LabelMap>, HistogramSeries> hist;
  std::string current;  // family of the previous line
  size_t line_no = 0;
  auto fail = [&](const std::string& what) {
    error = "line " + std::to_string(line_no) + ": " + what;
    return std::nullopt;
  };
  auto enter = [&](const std::string& fam) -> bool {
    if (fam == current) return true;
    if (closed.count(fam)) return false;
    if (!current.empty()) closed.insert(current);
    current = fam;
    return true;
  };
  // The histogram's last bucket must be +Inf, and _sum/_count present.
  auto finish_histograms = [&]() -> std::optional<std::string> {
    for (const auto& [key, h] : hist) {
      std::string series = key.first;
      if (!h.has_inf) return series + ": no le=\"+Inf\" bucket";
      if (!h.has_sum) return series + ": no _sum";
      if (!h.has_count) return series + ": no _count";
      if (h.count != h.inf_count) return series + ": _count differs from the +Inf bucket";
    }
    return std::nullopt;
  };

  size_t pos = 0;
  while (pos < text.size()) {
    ++line_no;
    const size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) return fail("last line does not end with a newline");
    const std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) return fail("empty line");
    if (line.find('\r') != std::string_view::npos) return fail("carriage return");

    if (line[0] == '#') {
      const bool help = line.substr(0, 7) == "# HELP ";
      const bool type = line.substr(0, 7) == "# TYPE ";
      if (!help && !type) continue;  // a plain comment
      std::string_view rest = line.substr(7);
      const size_t sp = rest.find(' ');
      if (sp == std::string_view::npos) return fail("HELP/TYPE without a text");
      std::string name(rest.substr(0, sp));
      std::string_view arg = rest.substr(sp + 1);
      if (!metric_name_ok(name)) return fail("invalid metric name \"" + name + "\"");
      if (!enter(name)) return fail("family " + name + " continued after another family");
      if (sampled.count(name)) return fail(std::string(help ? "HELP" : "TYPE") + " after samples of " + name);
      Family& f = p.families[name];
      if (f.name.empty()) {
        f.name = name;
        p.order.push_back(name);
      }
      if (help) {
        if (!f.help.empty()) return fail("second HELP for " + name);
        auto h = unescape_help(arg);
        if (!h) return fail("invalid escape or UTF-8 in HELP of " + name);
        if (h->empty()) return fail("empty HELP for " + name);
        f.help = *h;
      } else {
        if (!f.type.empty()) return fail("second TYPE for " + name);
        if (arg != "counter" && arg != "gauge" && arg != "histogram" && arg != "summary" && arg != "untyped")
          return fail("unknown type \"" + std::string(arg) + "\"");
        if (arg == "counter" && (name.size() < 6 || name.substr(name.size() - 6) != "_total"))
          return fail("counter " + name + " is not named *_total");
        f.type = std::string(arg);
      }
      continue;
    }

    // A sample: name[{labels}] value [timestamp]
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    Sample s;
    s.name = std::string(line.substr(0, i));
    if (!metric_name_ok(s.name)) return fail("invalid metric name \"" + s.name + "\"");
    if (i < line.size() && line[i] == '{') {
      std::string err;
      if (!parse_labels(line, i, s.labels, err)) return fail(err);
    }
    if (i >= line.size() || line[i] != ' ') return fail("expected a space before the value");
    std::string_view rest = line.substr(i + 1);
    const size_t sp = rest.find(' ');
    auto v = parse_value(rest.substr(0, sp));
    if (!v) return fail("invalid value \"" + std::string(rest.substr(0, sp)) + "\"");
    s.value = *v;
    if (sp != std::string_view::npos) {
      std::string_view ts = rest.substr(sp + 1);
      int64_t t;
      auto r = std::from_chars(ts.data(), ts.data() + ts.size(), t);
      if (ts.empty() || r.ec != std::errc() || r.ptr != ts.data() + ts.size()) return fail("invalid timestamp");
    }

    // Which family: the exact name, or a histogram's _bucket/_sum/_count.
    std::string fam = s.name, suffix;
    for (const char* sfx : {"_bucket", "_sum", "_count"}) {
      const std::string_view sv(sfx);
      if (s.name.size() > sv.size() && s.name.compare(s.name.size() - sv.size(), sv.size(), sv) == 0) {
        const std::string base = s.name.substr(0, s.name.size() - sv.size());
        auto it = p.families.find(base);
        if (it != p.families.end() && (it->second.type == "histogram" || it->second.type == "summary")) {
          fam = base;
          suffix = sfx;
        }
      }
    }
    auto it = p.families.find(fam);
    if (it == p.families.end() || it->second.type.empty()) return fail("sample " + s.name + " without a TYPE");
    Family& f = it->second;
    if (f.help.empty()) return fail("sample " + s.name + " without a HELP");
    if (!enter(fam)) return fail("family " + fam + " continued after another family");
    sampled.insert(fam);
    if (!seen.emplace(s.name, s.labels).second) return fail("duplicate series " + s.name);

    if (f.type == "counter" && !(s.value >= 0)) return fail("counter " + s.name + " is negative or NaN");
    if (f.type == "histogram") {
      if (suffix.empty()) return fail("histogram sample " + s.name + " is not _bucket/_sum/_count");
      LabelMap key = s.labels;
      const bool has_le = key.erase("le") > 0;
      if (suffix != "_bucket" && has_le) return fail("le on " + s.name);
      HistogramSeries& h = hist[{fam, key}];
      if (suffix == "_bucket") {
        if (!has_le) return fail("bucket without le");
        if (h.has_sum || h.has_count) return fail("bucket after _sum/_count");
        auto le = parse_value(s.labels.at("le"));
        if (!le || std::isnan(*le)) return fail("invalid le \"" + s.labels.at("le") + "\"");
        if (h.has_inf || *le <= h.last_le) return fail("le not increasing");
        if (!(s.value >= h.last_count)) return fail("bucket counts not cumulative");
        h.last_le = *le;
        h.last_count = s.value;
        if (std::isinf(*le)) {
          h.has_inf = true;
          h.inf_count = s.value;
        }
      } else if (suffix == "_sum") {
        if (!h.has_inf) return fail("_sum before the +Inf bucket");
        h.has_sum = true;
      } else {
        if (!h.has_inf) return fail("_count before the +Inf bucket");
        h.has_count = true;
        h.count = s.value;
      }
    }
    f.samples.push_back(std::move(s));
  }
  if (auto bad = finish_histograms()) {
    error = "histogram " + *bad;
    return std::nullopt;
  }
  for (const auto& [name, f] : p.families)
    if (f.type.empty()) {
      error = "family " + name + " has no TYPE";
      return std::nullopt;
    }
  return p;
}

}  // namespace pilot::admin::testing
