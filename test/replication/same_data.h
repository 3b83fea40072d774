// Two data directories of a leader and a follower, after both servers stopped: the
// same records with the same bytes in the same segment files, and snapshots (written
// at SIGTERM) of the same state.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "log/scanner.h"
#include "projections/snapshot.h"

namespace pilot::repltest {

inline void expect_same_data(const std::string& a, const std::string& b) {
  log::Scanner sa(a + "/log", 1, true), sb(b + "/log", 1, true);
  log::Record ra, rb;
  uint64_t n = 0;
  for (;;) {
    auto x = sa.next(ra), y = sb.next(rb);
    ASSERT_EQ(x, y) << "after seq " << n;
    if (x != log::Scanner::Status::kRecord) {
      EXPECT_EQ(x, log::Scanner::Status::kEnd) << sa.error().what << " / " << sb.error().what;
      break;
    }
    ++n;
    ASSERT_EQ(ra.seq, rb.seq);
    ASSERT_EQ(ra.hash, rb.hash) << "seq " << ra.seq;
    ASSERT_EQ(ra.time_ns, rb.time_ns);
    ASSERT_EQ(ra.payload, rb.payload);
  }
  EXPECT_GT(n, 0u);
  auto segs_a = log::list_segments(a + "/log"), segs_b = log::list_segments(b + "/log");
  ASSERT_EQ(segs_a.size(), segs_b.size());
  for (size_t i = 0; i < segs_a.size(); ++i) {
    std::ifstream fa(segs_a[i].path, std::ios::binary), fb(segs_b[i].path, std::ios::binary);
    std::string ba((std::istreambuf_iterator<char>(fa)), {}), bb((std::istreambuf_iterator<char>(fb)), {});
    EXPECT_TRUE(ba == bb) << "segment " << segs_a[i].path << " differs from " << segs_b[i].path;
  }
  std::string ea, eb;
  auto la = load_snapshot(a + "/snapshot.db", &ea), lb = load_snapshot(b + "/snapshot.db", &eb);
  ASSERT_TRUE(la) << ea;
  ASSERT_TRUE(lb) << eb;
  EXPECT_EQ(la->last_seq, n);
  EXPECT_EQ(lb->last_seq, n);
  EXPECT_TRUE(la->debug_dump() == lb->debug_dump()) << "snapshots differ";
}

}  // namespace pilot::repltest
