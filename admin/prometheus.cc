#include "admin/prometheus.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace pilot::admin::prom {

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 (overlongs, surrogates and code
// points past U+10FFFF are invalid, as Go's utf8.Valid says).
size_t utf8_seq_len(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size() || b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
  return n;
}

std::string escape(std::string_view v, bool quote) {
  std::string out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size();) {
    const char c = v[i];
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else if (size_t n = utf8_seq_len(v, i); n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD for one invalid byte
    } else {
      out.append(v.substr(i, n));
      i += n;
      continue;
    }
    ++i;
  }
  return out;
}

bool name_char(char c, bool first, bool colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (colon && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

bool valid_name(std::string_view name, bool colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0, colon)) return false;
  return true;
}

void write_labels(std::string& out, const Labels& labels, std::string_view le = {}) {
  if (labels.empty() && le.empty()) return;
  out += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    out += escape_label_value(v);
    out += '"';
  }
  if (!le.empty()) {
    if (!first) out += ',';
    out += "le=\"";
    out += le;
    out += '"';
  }
  out += '}';
}

}  // namespace

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Shortest round-trip digits; plain decimal for exponents -4..20 ("0.0001", not
  // "1e-04": bucket bounds read as written), scientific beyond.
  char buf[400];
  auto sci = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  const std::string_view s(buf, sci.ptr - buf);
  std::string_view e = s.substr(s.find('e') + 1);
  if (e[0] == '+') e.remove_prefix(1);
  int exp = 0;
  std::from_chars(e.data(), e.data() + e.size(), exp);
  if (exp < -4 || exp > 20) return std::string(s);
  auto fixed = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  return std::string(buf, fixed.ptr);
}

std::string format_value(uint64_t v) { return std::to_string(v); }

std::string escape_label_value(std::string_view v) { return escape(v, true); }
std::string escape_help(std::string_view v) { return escape(v, false); }

bool valid_metric_name(std::string_view name) { return valid_name(name, true); }
bool valid_label_name(std::string_view name) { return valid_name(name, false) && name.substr(0, 2) != "__"; }

void Family::check_labels(const Labels& labels) const {
  for (size_t i = 0; i < labels.size(); ++i) {
    const std::string& k = labels[i].first;
    if (!valid_label_name(k) || (type_ == Type::kHistogram && k == "le"))
      throw std::invalid_argument("metric " + name_ + ": invalid label name \"" + k + "\"");
    for (size_t j = 0; j < i; ++j)
      if (labels[j].first == k) throw std::invalid_argument("metric " + name_ + ": label " + k + " repeated");
  }
}

Family& Family::add(Labels labels, double value) {
  if (type_ == Type::kHistogram) throw std::invalid_argument("metric " + name_ + ": a histogram takes HistogramData");
  check_labels(labels);
  series_.push_back({std::move(labels), format_value(value), {}, 1});
  return *this;
}

Family& Family::add(Labels labels, uint64_t value) {
  if (type_ == Type::kHistogram) throw std::invalid_argument("metric " + name_ + ": a histogram takes HistogramData");
  check_labels(labels);
  series_.push_back({std::move(labels), format_value(value), {}, 1});
  return *this;
}

Family& Family::add(Labels labels, const HistogramData& h, double divisor) {
  if (type_ != Type::kHistogram) throw std::invalid_argument("metric " + name_ + ": not a histogram");
  if (h.counts.size() != h.bounds.size() + 1)
    throw std::invalid_argument("metric " + name_ + ": histogram counts do not match its bounds");
  check_labels(labels);
  series_.push_back({std::move(labels), {}, h, divisor});
  return *this;
}

void Family::write(std::string& out) const {
  static constexpr const char* kTypeName[] = {"counter", "gauge", "histogram"};
  out += "# HELP " + name_ + ' ' + escape_help(help_) + '\n';
  out += "# TYPE " + name_ + ' ' + kTypeName[static_cast<int>(type_)] + '\n';
  // Sorted by labels; the first of equal label sets wins (stable sort).
  std::vector<const Series*> order;
  order.reserve(series_.size());
  for (const Series& s : series_) order.push_back(&s);
  std::stable_sort(order.begin(), order.end(), [](const Series* a, const Series* b) { return a->labels < b->labels; });
  const Series* prev = nullptr;
  for (const Series* s : order) {
    if (prev && prev->labels == s->labels) continue;
    prev = s;
    if (type_ != Type::kHistogram) {
      out += name_;
      write_labels(out, s->labels);
      out += ' ' + s->value + '\n';
      continue;
    }
    const HistogramData& h = s->hist;
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h.counts.size(); ++i) {
      cumulative += h.counts[i];
      out += name_ + "_bucket";
      write_labels(out, s->labels, i < h.bounds.size() ? format_value(double(h.bounds[i]) / s->divisor) : "+Inf");
      out += ' ' + format_value(cumulative) + '\n';
    }
    out += name_ + "_sum";
    write_labels(out, s->labels);
    out += ' ' + format_value(double(h.sum) / s->divisor) + '\n';
    out += name_ + "_count";
    write_labels(out, s->labels);
    out += ' ' + format_value(cumulative) + '\n';
  }
}

Family& Exposition::family(std::string name, Type type, std::string help) {
  if (!valid_metric_name(name)) throw std::invalid_argument("invalid metric name \"" + name + "\"");
  std::vector<std::string> produced{name};
  if (type == Type::kHistogram) produced = {name, name + "_bucket", name + "_sum", name + "_count"};
  for (const std::string& p : produced)
    if (names_.count(p)) throw std::invalid_argument("metric " + p + " defined twice");
  names_.insert(produced.begin(), produced.end());
  return families_.emplace_back(Family(std::move(name), type, std::move(help)));
}

std::string Exposition::text() const {
  std::string out;
  append_to(out);
  return out;
}

void Exposition::append_to(std::string& out) const {
  for (const Family& f : families_) f.write(out);
}

}  // namespace pilot::admin::prom
