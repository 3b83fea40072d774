// Seeded generator of random but plausible event streams for the property tests: it
// looks at the state built so far and mostly names nodes, networks, keys, owners and
// hostnames that exist (or existed), sometimes ones that never did, and now and then
// emits an event with entirely random fields.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/events.h"
#include "projections/state.h"
#include "test/support/random_events.h"

namespace pilot::projtest {

struct Record {
  EventMeta meta;
  Event event;
};

class EventGen {
 public:
  // `wild`: a fifth of the events get entirely random fields, extreme IDs included
  // (which soon exhaust the ID spaces); otherwise 2%, with IDs kept near the used range.
  explicit EventGen(uint64_t seed, bool wild = false) : rng_(seed), wild_(wild) {}

  // `n` records starting at seq 1, each plausible for the state the previous ones built.
  std::vector<Record> stream(size_t n) {
    State s;
    std::vector<Record> out;
    out.reserve(n);
    EventMeta m{0, 1, 1'700'000'000'000'000'000};
    for (size_t i = 0; i < n; ++i) {
      m.seq++;
      m.time_ns += static_cast<int64_t>(rng_() % 3'000'000'000ull);
      if (pct(1)) m.term++;
      Event e = next(s);
      s.apply(m, e);
      out.push_back({m, std::move(e)});
    }
    return out;
  }

  // One event for state `s`.
  Event next(const State& s) {
    if (pct(wild_ ? 20 : 2)) return fully_random(s);
    size_t r = pick(100);
    if (r < 20) return registered(s);
    if (r < 23) return NodeDeregistered{node(s)};
    if (r < 26) return NodeExpired{node(s)};
    if (r < 29) return HostnameChanged{node(s), hostname()};
    if (r < 31) return TagsChanged{node(s), words(4)};
    if (r < 33) return VisibilityChanged{node(s), coin()};
    if (r < 35) {
      KeyRotated e{node(s), fresh_key(), pct(40), "", 0};
      if (e.recovered) {
        e.recovery_nonce = word();
        e.recovery_exp = 1'700'000'000 + static_cast<int64_t>(pick(100000));
      }
      return e;
    }
    if (r < 36) return KeyExpirySet{node(s), pct(30) ? 0 : 1'800'000'000 + static_cast<int64_t>(pick(1000))};
    if (r < 37) return ExternalIdSet{node(s), word()};
    if (r < 38) return BadgeSubmitted{node(s), word(), word(), word(), 1'700'000'000 + static_cast<int64_t>(pick(99))};
    if (r < 39) return RecoveryEnrolled{node(s), word(), word()};
    if (r < 43) {
      NetworkCreated e;
      e.network_id = static_cast<uint16_t>(pct(90) ? s.networks.next_net() : pick(s.networks.next_net() + 3));
      e.name = pct(90) ? "net-" + std::to_string(pick(60)) : word();
      e.join_rule = pick_of({"open", "token", "invite"});
      e.token = word();
      e.admin_token = word();
      e.enterprise = coin();
      e.creator_node_id = pct(20) ? 0 : node(s);
      e.rules_json = pct(50) ? "" : "{\"links\":" + std::to_string(pick(9)) + "}";
      e.expr_policy_json = pct(50) ? "" : "{\"version\":1}";
      return e;
    }
    if (r < 51) return MemberJoined{net(s), node(s), role()};
    if (r < 54) {
      auto [n, node] = membership(s);
      return MemberLeft{n, node, static_cast<LeaveReason>(pick(3)), pick(4) == 0 ? "operator note" : ""};
    }
    if (r < 55) return NetworkDeleted{net(s)};
    if (r < 57) return NetworkRenamed{net(s), "net-" + std::to_string(pick(60))};
    if (r < 59) return NetworkEnterpriseSet{net(s), coin()};
    if (r < 62) {
      auto [n, node] = membership(s);
      return MemberRoleSet{n, node, role(), pick(4) == 0 ? "operator note" : ""};
    }
    if (r < 64) {
      auto [n, node] = membership(s);
      return MemberTagsSet{n, node, words(3)};
    }
    if (r < 66) {
      std::vector<uint16_t> ports;
      for (size_t i = pick(4); i > 0; --i) ports.push_back(static_cast<uint16_t>(1 + pick(65535)));
      return NetworkPolicySet{net(s), static_cast<uint32_t>(pick(3) * 50), std::move(ports), word()};
    }
    if (r < 67) return ExprPolicySet{net(s), pct(30) ? "" : "{\"version\":1,\"rules\":[" + word() + "]}"};
    if (r < 71) return InviteCreated{net(s), node(s), node(s)};
    if (r < 73) return InviteRemoved{invite_net(s), node(s)};
    if (r < 75) return RbacPreAssigned{net(s), "ext-" + std::to_string(pick(6)), role()};
    if (r < 79) return TrustAdded{node(s), node(s)};
    if (r < 81) return TrustRevoked{node(s), node(s)};
    if (r < 86) return HandshakeRequested{node(s), node(s), word()};
    if (r < 90) {
      auto pending = s.trust.sorted_pending();
      if (!pending.empty() && pct(70)) {
        auto [from, to] = pending[pick(pending.size())];
        return HandshakeResponded{to, from, coin()};
      }
      return HandshakeResponded{node(s), node(s), coin()};
    }
    if (r < 92) return HandshakeInboxDrained{node(s)};
    switch (pick(5)) {
      case 0: return BeaconRegistered{static_cast<uint32_t>(pick(5)), word()};
      case 1: return WebhookConfigured{pct(30) ? "" : "https://hook/" + word()};
      case 2:
        return AuditExportConfigured{pick_of({"", "json", "splunk_hec"}), pct(20) ? "" : "https://a/", word(), word(),
                                     word()};
      case 3: return IdpConfigured{pick_of({"", "oidc", "saml"}), word(), word(), word(), word(), word()};
      default: return IdentityWebhookConfigured{word()};
    }
  }

 private:
  size_t pick(size_t n) { return static_cast<size_t>(rng_() % n); }
  bool pct(unsigned p) { return pick(100) < p; }
  bool coin() { return rng_() & 1; }
  std::string pick_of(std::initializer_list<const char*> v) { return *(v.begin() + pick(v.size())); }
  Role role() { return static_cast<Role>(pick(10) < 7 ? 1 + pick(3) : 0); }

  std::string word() {
    if (pct(10)) {
      std::string s;
      testsupport::fill_random(s, rng_);  // any bytes, NULs included
      return s;
    }
    static const char* kWords[] = {"", "alpha", "beta", "gamma", "delta", "x", "web", "db", "edge", "ops"};
    return kWords[pick(10)];
  }
  std::vector<std::string> words(size_t max) {
    std::vector<std::string> v;
    for (size_t i = pick(max + 1); i > 0; --i) v.push_back(word());
    return v;
  }
  std::string hostname() { return pct(20) ? "" : "host-" + std::to_string(pick(12)); }

  PublicKey fresh_key() {
    PublicKey k;
    // A small pool, so keys collide now and then (a totality case).
    uint64_t id = pct(10) ? pick(8) : rng_();
    for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(id >> ((i % 8) * 8));
    return k;
  }

  template <class M>
  static std::vector<typename M::key_type> sorted_keys(const M& m) {
    std::vector<typename M::key_type> v;
    for (const auto& kv : m) v.push_back(kv.first);
    std::sort(v.begin(), v.end());
    return v;
  }

  // Mostly a live node, sometimes an ID bound to a gone node, sometimes nonsense.
  // A live node is found by probing random IDs below next_node (a few tries, as most
  // IDs stay live), so a long stream costs O(1) per event instead of a sorted copy of
  // the directory each time (quadratic; it was most of a 60,000-event test under ASan).
  uint32_t node(const State& s) {
    size_t r = pick(100);
    if (r < 70 && !s.directory.nodes().empty()) {
      if (s.directory.next_node() > 1)
        for (int tries = 0; tries < 32; ++tries) {
          const auto id = static_cast<uint32_t>(1 + pick(s.directory.next_node() - 1));
          if (s.directory.is_live(id)) return id;
        }
      auto live = sorted_keys(s.directory.nodes());
      return live[pick(live.size())];
    }
    if (r < 85 && s.directory.next_node() > 1) return static_cast<uint32_t>(1 + pick(s.directory.next_node() - 1));
    static const uint32_t kOdd[] = {0, 1, 2, 999, 4000000000u, 0xFFFFFFFFu};
    return kOdd[pick(6)];
  }
  // Mostly an existing (network, member) pair, else any network and node.
  std::pair<uint16_t, uint32_t> membership(const State& s) {
    if (pct(75)) {  // a network with members, then one of them (not a list of every pair)
      std::vector<std::pair<uint16_t, const std::vector<uint32_t>*>> nets;
      for (const auto& [id, n] : s.networks.all())
        if (!n.members.empty()) nets.emplace_back(id, &n.members);
      if (!nets.empty()) {
        const auto& [id, members] = nets[pick(nets.size())];
        return {id, (*members)[pick(members->size())]};
      }
    }
    return {net(s), node(s)};
  }
  uint16_t net(const State& s) {
    if (pct(85)) {
      std::vector<uint16_t> ids;
      for (const auto& [id, n] : s.networks.all())
        if (id != 0) ids.push_back(id);
      if (!ids.empty()) return ids[pick(ids.size())];
    }
    static const uint16_t kOdd[] = {0, 1, 77, 65535};
    return kOdd[pick(4)];
  }
  uint16_t invite_net(const State& s) {
    if (pct(70) && !s.networks.invite_inbox().empty()) {
      std::vector<uint16_t> nets;
      for (const auto& [target, v] : s.networks.invite_inbox())
        for (const Invite& i : v) nets.push_back(i.network_id);
      std::sort(nets.begin(), nets.end());
      return nets[pick(nets.size())];
    }
    return net(s);
  }

  NodeRegistered registered(const State& s) {
    NodeRegistered e;
    e.real_addr = "10.0.0." + std::to_string(pick(255)) + ":" + std::to_string(1000 + pick(9000));
    e.lan_addrs = words(2);
    e.version = pct(50) ? "" : "v1." + std::to_string(pick(5));
    e.relay_only = pct(20);
    e.owner = pct(50) ? "" : "owner-" + std::to_string(pick(8)) + "@example.com";
    size_t r = pick(100);
    if (r < 40 || s.directory.next_node() == 1) {  // brand-new identity
      e.node_id = static_cast<uint32_t>(s.directory.next_node());
      e.public_key = fresh_key();
    } else if (r < 70 && s.directory.size() > 0) {  // refresh of a live node (its own key)
      auto live = sorted_keys(s.directory.nodes());
      e.node_id = live[pick(live.size())];
      e.public_key = s.directory.find(e.node_id)->public_key;
    } else if (r < 90 && !s.directory.key_index().empty()) {  // reclaim by key, or by owner with a new key
      auto keys = s.directory.key_index().sorted();
      const auto& k = keys[pick(keys.size())];
      e.node_id = k.id;
      e.public_key = pct(70) ? k.key : fresh_key();
    } else {  // nonsense: a random known-or-nearby ID with a random key
      e.node_id = static_cast<uint32_t>(pick(std::min<uint64_t>(s.directory.next_node() + 3, 0xFFFFFFFFu)));
      e.public_key = fresh_key();
    }
    return e;
  }

  // Any kind, every field random (IDs mostly unknown). Outside wild mode the IDs that
  // allocate (node and network) stay within a few of the next free one.
  Event fully_random(const State& s) {
    Event out;
    size_t kind = pick(std::variant_size_v<Event>);
    fill_alternative(out, kind, std::make_index_sequence<std::variant_size_v<Event>>{});
    if (!wild_) {
      if (auto* e = std::get_if<NodeRegistered>(&out))
        e->node_id = static_cast<uint32_t>(pick(std::min<uint64_t>(s.directory.next_node() + 5, 0xFFFFFFFFu)));
      if (auto* e = std::get_if<NetworkCreated>(&out))
        e->network_id = static_cast<uint16_t>(pick(std::min<uint32_t>(s.networks.next_net() + 5, 0xFFFFu)));
    }
    return out;
  }
  template <size_t... I>
  void fill_alternative(Event& out, size_t kind, std::index_sequence<I...>) {
    ((kind == I ? (void)(out = filled<std::variant_alternative_t<I, Event>>()) : (void)0), ...);
  }
  template <class E>
  E filled() {
    return testsupport::filled<E>(rng_);
  }

  std::mt19937_64 rng_;
  bool wild_;
};

}  // namespace pilot::projtest
