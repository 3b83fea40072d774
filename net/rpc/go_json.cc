#include "net/rpc/go_json.h"

#include <array>

namespace pilot::gojson {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void escape_byte(std::string& out, unsigned char c) {
  out += "\\u00";
  out += kHex[c >> 4];
  out += kHex[c & 0xF];
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not one
// (overlong forms, surrogates and code points above U+10FFFF are invalid, as in Go).
size_t utf8_len(std::string_view s, size_t i, uint32_t& cp) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const size_t left = s.size() - i;
  unsigned char c = b(0);
  auto cont = [&](size_t k) { return k < left && (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF && cont(1)) {
    cp = ((c & 0x1Fu) << 6) | (b(1) & 0x3Fu);
    return 2;
  }
  if (c >= 0xE0 && c <= 0xEF && cont(1) && cont(2)) {
    cp = ((c & 0x0Fu) << 12) | ((b(1) & 0x3Fu) << 6) | (b(2) & 0x3Fu);
    if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4 && cont(1) && cont(2) && cont(3)) {
    cp = ((c & 0x07u) << 18) | ((b(1) & 0x3Fu) << 12) | ((b(2) & 0x3Fu) << 6) | (b(3) & 0x3Fu);
    if (cp < 0x10000 || cp > 0x10FFFF) return 0;
    return 4;
  }
  return 0;
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
    size_t n = utf8_len(s, i, cp);
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
