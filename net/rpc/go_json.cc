#include "net/rpc/go_json.h"

#include <array>

#include "core/utf8.h"

namespace pilot::gojson {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void escape_byte(std::string& out, unsigned char c) {
  out += "\\u00";
  out += kHex[c >> 4];
  out += kHex[c & 0xF];
}

void dump_into(std::string& out, const nlohmann::json& v, bool html) {
  switch (v.type()) {
    case nlohmann::json::value_t::object: {
      out += '{';
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {  // std::map order: sorted by key bytes, like Go
        if (!first) out += ',';
        first = false;
        append_string(out, it.key(), html);
        out += ':';
        dump_into(out, it.value(), html);
      }
      out += '}';
      return;
    }
    case nlohmann::json::value_t::array: {
      out += '[';
      for (size_t i = 0; i < v.size(); ++i) {
        if (i) out += ',';
        dump_into(out, v[i], html);
      }
      out += ']';
      return;
    }
    case nlohmann::json::value_t::string: append_string(out, v.get_ref<const std::string&>(), html); return;
    default: out += v.dump(); return;  // numbers, booleans, null
  }
}

}  // namespace

void append_string(std::string& out, std::string_view s, bool html) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '<':
        case '>':
        case '&':
          if (html)
            escape_byte(out, c);
          else
            out += static_cast<char>(c);
          break;
        default:
          if (c < 0x20)
            escape_byte(out, c);
          else
            out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    uint32_t cp = 0;
    size_t n = utf8_sequence(s, i, &cp);
    if (n == 0) {
      out += "\\ufffd";  // one replacement per invalid byte, as Go
      ++i;
      continue;
    }
    if (cp == 0x2028 || cp == 0x2029) {
      out += cp == 0x2028 ? "\\u2028" : "\\u2029";
    } else {
      out.append(s.substr(i, n));
    }
    i += n;
  }
  out += '"';
}

std::string dump(const nlohmann::json& v, bool html_escape) {
  std::string out;
  dump_into(out, v, html_escape);
  return out;
}

std::string sanitize_error(std::string_view message) {
  static constexpr std::array<std::string_view, 12> kPassed = {
      "rate limited", "enterprise feature", "expired",   "already", "not a member", "cannot",
      "too many",     "too long",           "not found", "invalid", "require",      "signature"};
  for (std::string_view p : kPassed)
    if (message.find(p) != std::string_view::npos) return std::string(message);
  return "request failed";
}

std::string error_response(std::string_view message) {
  std::string out = "{\"error\":";
  append_string(out, sanitize_error(message));
  out += ",\"type\":\"error\"}";
  return out;
}

}  // namespace pilot::gojson
