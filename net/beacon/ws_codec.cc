#include "net/beacon/ws_codec.h"

#include <openssl/evp.h>

#include <algorithm>

#include "core/base64.h"

namespace pilot::beacon::ws {
namespace {

constexpr size_t kMaxHeaders = 100;

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 9110 tchar.
bool is_token_char(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_token_char); }

// Does the comma-separated list contain `want` (case-insensitive)?
bool list_has(std::string_view list, std::string_view want) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = trim(list.substr(0, comma));
    if (iequals(item, want)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 426: return "Upgrade Required";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

UpgradeCheck refuse(int status, std::string why) {
  UpgradeCheck u;
  u.status = status;
  u.error = std::move(why);
  return u;
}

}  // namespace

std::string accept_key(std::string_view client_key) {
  static constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string input(client_key);
  input.append(kGuid);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &n, EVP_sha1(), nullptr) != 1) return "";
  return base64_encode(digest, n);
}

std::string RequestHead::header(std::string_view lower_name) const {
  std::string all;
  for (const auto& [name, value] : headers) {
    if (name != lower_name) continue;
    if (!all.empty()) all += ", ";
    all += value;
  }
  return all;
}

std::string RequestHead::path() const { return target.substr(0, target.find('?')); }

HeadStatus parse_request_head(std::string_view buf, RequestHead& out) {
  size_t end = buf.substr(0, kMaxRequestHead).find("\r\n\r\n");
  if (end == std::string_view::npos)
    return buf.size() >= kMaxRequestHead ? HeadStatus::kTooLarge : HeadStatus::kIncomplete;
  std::string_view head = buf.substr(0, end + 2);  // every line ends in "\r\n"
  out = RequestHead{};
  out.size = end + 4;

  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  head.remove_prefix(eol + 2);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) return HeadStatus::kBad;
  std::string_view method = line.substr(0, sp1), target = line.substr(sp1 + 1, sp2 - sp1 - 1),
                   version = line.substr(sp2 + 1);
  if (!is_token(method) || target.empty() || target.front() != '/') return HeadStatus::kBad;
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return HeadStatus::kBad;
  for (char c : target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return HeadStatus::kBad;
  out.method = method;
  out.target = target;
  out.version = version;

  while (!head.empty()) {
    eol = head.find("\r\n");
    line = head.substr(0, eol);
    head.remove_prefix(eol + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) return HeadStatus::kBad;
    std::string_view value = trim(line.substr(colon + 1));
    for (char c : value)
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) return HeadStatus::kBad;
    if (out.headers.size() == kMaxHeaders) return HeadStatus::kTooLarge;
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), lower);
    out.headers.emplace_back(std::move(name), std::string(value));
  }
  return HeadStatus::kDone;
}

UpgradeCheck check_upgrade(const RequestHead& req) {
  if (req.version != "HTTP/1.1") return refuse(400, "not HTTP/1.1");
  if (!list_has(req.header("connection"), "upgrade")) return refuse(426, "Connection header lacks upgrade");
  if (!list_has(req.header("upgrade"), "websocket")) return refuse(426, "Upgrade header is not websocket");
  if (req.method != "GET") return refuse(405, "upgrade with method " + req.method);
  if (trim(req.header("sec-websocket-version")) != "13") return refuse(426, "Sec-WebSocket-Version is not 13");
  const std::string key = req.header("sec-websocket-key");
  auto raw = base64_decode_std(key);
  if (!raw || raw->size() != 16) return refuse(400, "Sec-WebSocket-Key is not 16 bytes of base64");
  const std::string origin = req.header("origin");
  if (!origin.empty() && !iequals(std::string_view(origin).substr(0, 8), "pilot://")) {
    size_t scheme = origin.find("://");
    std::string_view host = scheme == std::string::npos ? "" : std::string_view(origin).substr(scheme + 3);
    host = host.substr(0, host.find('/'));
    if (host.empty() || !iequals(host, trim(req.header("host")))) return refuse(403, "origin " + origin + " refused");
  }
  UpgradeCheck u;
  u.status = 101;
  u.accept = accept_key(key);
  if (list_has(req.header("sec-websocket-protocol"), kSubprotocol)) u.subprotocol = kSubprotocol;
  return u;
}

std::string upgrade_response(const UpgradeCheck& up) {
  std::string r =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ";
  r += up.accept;
  r += "\r\n";
  if (!up.subprotocol.empty()) r += "Sec-WebSocket-Protocol: " + up.subprotocol + "\r\n";
  r += "\r\n";
  return r;
}

std::string http_response(int status, std::string_view body, std::string_view extra_headers) {
  std::string r = "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) + "\r\n";
  if (!body.empty()) r += "Content-Type: text/plain; charset=utf-8\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n";
  r += extra_headers;
  r += "\r\n";
  r += body;
  return r;
}

size_t encode_frame_header(Opcode op, uint64_t length, uint8_t out[10]) {
  out[0] = static_cast<uint8_t>(0x80 | op);
  if (length < 126) {
    out[1] = static_cast<uint8_t>(length);
    return 2;
  }
  if (length <= 0xFFFF) {
    out[1] = 126;
    out[2] = static_cast<uint8_t>(length >> 8);
    out[3] = static_cast<uint8_t>(length);
    return 4;
  }
  out[1] = 127;
  for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<uint8_t>(length >> (56 - 8 * i));
  return 10;
}

std::string encode_frame(Opcode op, std::string_view payload) {
  uint8_t h[10];
  size_t n = encode_frame_header(op, payload.size(), h);
  std::string f(reinterpret_cast<const char*>(h), n);
  f.append(payload);
  return f;
}

std::string encode_close(uint16_t code, std::string_view reason) {
  std::string body{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
  body.append(reason.substr(0, kMaxControlPayload - 2));
  return encode_frame(kClose, body);
}

std::string encode_client_frame(Opcode op, std::string_view payload, std::array<uint8_t, 4> mask, bool fin,
                                uint8_t rsv) {
  uint8_t h[10];
  size_t n = encode_frame_header(op, payload.size(), h);
  h[0] = static_cast<uint8_t>((fin ? 0x80 : 0) | ((rsv & 7) << 4) | (op & 0x0f));
  h[1] |= 0x80;
  std::string f(reinterpret_cast<const char*>(h), n);
  f.append(reinterpret_cast<const char*>(mask.data()), 4);
  for (size_t i = 0; i < payload.size(); ++i) f.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
  return f;
}

uint16_t Message::close_code() const {
  if (payload.size() < 2) return 1005;
  return static_cast<uint16_t>(static_cast<uint8_t>(payload[0]) << 8 | static_cast<uint8_t>(payload[1]));
}

MessageReader::Status MessageReader::fail(uint16_t code, std::string why) {
  error_code_ = code;
  error_ = std::move(why);
  frag_.clear();
  return Status::kError;
}

MessageReader::Status MessageReader::next(std::string& buf, Message& out) {
  for (;;) {
    if (error_code_) return Status::kError;
    if (buf.size() < 2) return Status::kNeedMore;
    const auto* b = reinterpret_cast<const uint8_t*>(buf.data());
    const bool fin = b[0] & 0x80;
    const auto op = static_cast<Opcode>(b[0] & 0x0f);
    if (b[0] & 0x70) return fail(kProtocolError, "reserved bits set");
    if (op != kContinuation && op != kText && op != kBinary && op != kClose && op != kPing && op != kPong)
      return fail(kProtocolError, "reserved opcode " + std::to_string(op));
    if (!(b[1] & 0x80)) return fail(kProtocolError, "unmasked client frame");
    const bool control = op & 0x8;
    uint64_t len = b[1] & 0x7f;
    if (control && !fin) return fail(kProtocolError, "fragmented control frame");
    if (control && len > kMaxControlPayload) return fail(kProtocolError, "control frame over 125 bytes");
    size_t hlen = 2;
    if (len == 126) {
      if (buf.size() < 4) return Status::kNeedMore;
      len = uint64_t{b[2]} << 8 | b[3];
      hlen = 4;
    } else if (len == 127) {
      if (buf.size() < 10) return Status::kNeedMore;
      len = 0;
      for (int i = 0; i < 8; ++i) len = len << 8 | b[2 + i];
      if (len >> 63) return fail(kProtocolError, "64-bit length with the top bit set");
      hlen = 10;
    }
    if (!control) {
      if (op == kContinuation && !fragmented_) return fail(kProtocolError, "continuation without a message");
      if (op != kContinuation && fragmented_) return fail(kProtocolError, "new message inside a fragmented one");
      const uint64_t before = op == kContinuation ? frag_.size() : 0;
      if (len > max_ || before + len > max_)
        return fail(kMessageTooBig, "message over " + std::to_string(max_) + " bytes");
    }
    hlen += 4;  // the mask
    if (buf.size() < hlen || buf.size() - hlen < len) return Status::kNeedMore;
    const uint8_t* mask = b + hlen - 4;
    std::string payload(buf, hlen, static_cast<size_t>(len));
    for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(payload[i] ^ mask[i % 4]);
    buf.erase(0, hlen + static_cast<size_t>(len));

    if (control) {
      if (op == kClose && payload.size() == 1) return fail(kProtocolError, "close frame with a 1-byte body");
      out.kind = op;
      out.payload = std::move(payload);
      return Status::kMessage;
    }
    if (op != kContinuation) {
      if (fin) {
        out.kind = op;
        out.payload = std::move(payload);
        return Status::kMessage;
      }
      fragmented_ = true;
      frag_kind_ = op;
      frag_ = std::move(payload);
      continue;
    }
    frag_ += payload;
    if (!fin) continue;
    out.kind = frag_kind_;
    out.payload = std::move(frag_);
    frag_.clear();
    fragmented_ = false;
    return Status::kMessage;
  }
}

}  // namespace pilot::beacon::ws
