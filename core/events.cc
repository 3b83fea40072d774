#include "core/events.h"

#include <nlohmann/json.hpp>

#include "core/base64.h"

namespace pilot {
namespace {

// Enums travel as their underlying byte; decode rejects values outside the enum.
void put_field(Encoder& e, Role r) { e.put(static_cast<uint8_t>(r)); }
void put_field(Encoder& e, LeaveReason r) { e.put(static_cast<uint8_t>(r)); }
template <class T>
void put_field(Encoder& e, const T& v) {
  e.put(v);
}

void get_field(Decoder& d, Role& r) {
  uint8_t b = 0;
  d.get(b);
  if (b > static_cast<uint8_t>(Role::kOwner)) d.fail();
  r = static_cast<Role>(b);
}
void get_field(Decoder& d, LeaveReason& r) {
  uint8_t b = 0;
  d.get(b);
  if (b > static_cast<uint8_t>(LeaveReason::kDirectorySync)) d.fail();
  r = static_cast<LeaveReason>(b);
}
template <class T>
void get_field(Decoder& d, T& v) {
  d.get(v);
}

nlohmann::json field_json(const PublicKey& k) { return base64_encode(k.data(), k.size()); }
nlohmann::json field_json(Role r) { return std::string(role_name(r)); }
nlohmann::json field_json(LeaveReason r) {
  switch (r) {
    case LeaveReason::kLeft: return "left";
    case LeaveReason::kKicked: return "kicked";
    case LeaveReason::kDirectorySync: return "directory_sync";
  }
  return "unknown";
}
template <class T>
nlohmann::json field_json(const T& v) {
  return v;
}

template <class E>
std::optional<Event> decode_as(std::string_view payload) {
  E ev;
  Decoder d(payload);
  // Fields are only ever appended, so a payload written by an older binary may end
  // before the last fields: those keep their defaults.
  E::fields(ev, [&](std::string_view, auto& v) {
    if (d.ok() && !d.at_end()) get_field(d, v);
  });
  if (!d.ok() || !d.at_end()) return std::nullopt;
  return Event{std::move(ev)};
}

struct KindInfo {
  EventKind kind;
  std::string_view name;
  std::optional<Event> (*decode)(std::string_view);
};

template <class... E>
constexpr std::array<KindInfo, sizeof...(E)> make_table(std::variant<E...>*) {
  return {KindInfo{E::kKind, E::kName, &decode_as<E>}...};
}
constexpr auto kKinds = make_table(static_cast<Event*>(nullptr));

const KindInfo* find(EventKind k) {
  for (const auto& i : kKinds)
    if (i.kind == k) return &i;
  return nullptr;
}

}  // namespace

std::string_view role_name(Role r) {
  switch (r) {
    case Role::kNone: return "";
    case Role::kMember: return "member";
    case Role::kAdmin: return "admin";
    case Role::kOwner: return "owner";
  }
  return "";
}

EventKind kind_of(const Event& e) {
  return std::visit([](const auto& ev) { return std::decay_t<decltype(ev)>::kKind; }, e);
}

std::string_view kind_name(EventKind k) {
  const KindInfo* i = find(k);
  return i ? i->name : std::string_view{};
}

std::optional<EventKind> kind_from_name(std::string_view name) {
  for (const auto& i : kKinds)
    if (i.name == name) return i.kind;
  return std::nullopt;
}

bool is_known_kind(uint16_t raw) { return find(static_cast<EventKind>(raw)) != nullptr; }

std::string encode_payload(const Event& e) {
  std::string out;
  Encoder enc(out);
  std::visit(
      [&](const auto& ev) {
        std::decay_t<decltype(ev)>::fields(ev, [&](std::string_view, const auto& v) { put_field(enc, v); });
      },
      e);
  return out;
}

std::optional<Event> decode_payload(EventKind kind, std::string_view payload) {
  const KindInfo* i = find(kind);
  if (!i) return std::nullopt;
  return i->decode(payload);
}

nlohmann::json event_to_json(const Event& e) {
  nlohmann::json j = nlohmann::json::object();
  std::visit(
      [&](const auto& ev) {
        using E = std::decay_t<decltype(ev)>;
        j["kind"] = std::string(E::kName);
        E::fields(ev, [&](std::string_view name, const auto& v) { j[std::string(name)] = field_json(v); });
      },
      e);
  return j;
}

}  // namespace pilot
