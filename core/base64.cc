#include "core/base64.h"

#include <sodium.h>

namespace pilot {
namespace {

std::optional<std::vector<uint8_t>> decode(std::string_view text, int variant) {
  std::vector<uint8_t> out(text.size() / 4 * 3 + 3);
  size_t len = 0;
  const char* end = nullptr;
  // libsodium rejects bad characters, wrong padding and non-zero trailing bits; we
  // additionally require that it consumed the whole string.
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &len, &end, variant) != 0)
    return std::nullopt;
  if (end != text.data() + text.size()) return std::nullopt;
  out.resize(len);
  return out;
}

}  // namespace

std::string base64_encode(const uint8_t* data, size_t n) {
  std::string out(sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), data, n, sodium_base64_VARIANT_ORIGINAL);
  out.pop_back();  // the terminating NUL libsodium writes
  return out;
}

std::optional<std::vector<uint8_t>> base64_decode_std(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  return decode(text, sodium_base64_VARIANT_ORIGINAL);
}

std::optional<std::vector<uint8_t>> base64_decode_url(std::string_view text) {
  if (text.size() % 4 == 0) {
    if (auto v = decode(text, sodium_base64_VARIANT_URLSAFE)) return v;
  }
  if (text.find('=') != std::string_view::npos) return std::nullopt;
  return decode(text, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

std::optional<std::vector<uint8_t>> base64_decode_std_or_url(std::string_view text) {
  if (auto v = base64_decode_std(text)) return v;
  return base64_decode_url(text);
}

}  // namespace pilot
