#include "cmd/pilot-bench/generated_log.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <utility>

#include "cmd/pilot-bench/machine.h"
#include "cmd/pilot-bench/splitmix.h"
#include "log/format.h"
#include "log/recovery.h"
#include "log/scanner.h"

namespace pilot::bench {

PublicKey key_for(uint32_t id) {
  PublicKey k{};
  uint64_t s = id;
  for (size_t i = 0; i < k.size(); i += 8) {
    uint64_t v = splitmix64(s);
    std::memcpy(k.data() + i, &v, 8);
  }
  return k;
}

namespace {

NodeRegistered registration_unpadded(uint32_t id) {
  NodeRegistered e;
  e.node_id = id;
  e.public_key = key_for(id);
  e.owner = strf("operator-%08u@fleet.example.com", id % 100'000'000u);
  e.real_addr = strf("203.0.%03u.%03u:%05u", (id >> 8) & 0xff, id & 0xff, 1024 + id % 60000);
  e.lan_addrs = {strf("10.%03u.%03u.%03u:04000", (id >> 16) & 0xff, (id >> 8) & 0xff, id & 0xff),
                 strf("192.168.%03u.%03u:04000", (id >> 8) & 0xff, id & 0xff)};
  e.version = "v1.9.3";
  return e;
}

}  // namespace

NodeRegistered registration(uint32_t id) {
  static const size_t pad = [] {
    size_t n = encode_payload(Event(registration_unpadded(1))).size();
    return n < kPayloadBytes ? kPayloadBytes - n : 0;
  }();
  NodeRegistered e = registration_unpadded(id);
  if (pad > 0) {
    static const char kHex[] = "3f9c2e1d7a5b40c88e1f2a6b9d0c4e7f1a2b3c4d5e6f70819a8b7c6d5e4f3a2b1c0d";
    std::string meta = "+g";
    while (meta.size() < pad) meta += kHex[meta.size() % (sizeof kHex - 1)];
    e.version += meta.substr(0, pad);
  }
  return e;
}

Event MixGen::next() {
  if (created_ < networks_) {
    ++created_;
    NetworkCreated n;
    n.network_id = created_;
    n.name = strf("fleet-net-%05u", created_);
    n.join_rule = "open";
    return n;
  }
  const uint64_t k = count_++ % 50;
  if (k < 40 || known_ < 2) return registration(++known_);
  if (k < 44) {
    uint32_t id = pick();
    return HostnameChanged{id, strf("host-%08u-%llu", id, (unsigned long long)(count_ % 1000))};
  }
  if (k < 47) return TagsChanged{pick(), {"gpu", "eu-west-1", strf("rack-%02llu", (unsigned long long)(count_ % 40))}};
  if (k < 49)
    return MemberJoined{static_cast<uint16_t>(1 + splitmix64(rng_) % std::max<uint16_t>(networks_, 1)), pick(),
                        Role::kMember};
  return TrustAdded{pick(), pick()};
}

uint32_t MixGen::pick() { return 1 + static_cast<uint32_t>(splitmix64(rng_) % known_); }

std::unique_ptr<log::Writer> open_writer(const std::string& log_dir, log::FsyncPolicy::Mode mode, std::string& error) {
  log::RecoveryResult rec;
  if (!log::recover(log_dir, log::kDefaultSegmentBytes, rec, error)) return nullptr;
  log::WriterOptions o;
  o.log_dir = log_dir;
  o.fsync.mode = mode;
  return log::Writer::open(std::move(o), rec, error);
}

bool write_mix_log(const std::string& log_dir, uint64_t events, GeneratedLog& out, std::string& error) {
  auto w = open_writer(log_dir, log::FsyncPolicy::Mode::kNone, error);
  if (!w) return false;
  MixGen mix(0, 100);
  const auto t0 = std::chrono::steady_clock::now();
  for (uint64_t i = 1; i <= events; ++i) w->append(mix.next(), kBaseTimeNs + int64_t(i) * 1000);
  w->flush();
  out.write_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out.records = w->last_seq();
  out.record_bytes = w->stats().bytes;
  w->close();
  out.segments = log::list_segments(log_dir).size();
  out.data_bytes = out.record_bytes + out.segments * log::kSegmentHeaderSize;
  return true;
}

}  // namespace pilot::bench
