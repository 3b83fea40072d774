// The replication frames (net/replication/messages.h): pinned bytes, round trips, and
// every malformed input refused rather than misread.
#include "net/replication/messages.h"

#include <gtest/gtest.h>

#include "net/replication/snapshot_messages.h"

namespace pilot::repl {
namespace {

std::string hex(std::string_view b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (unsigned char c : b) s += d[c >> 4], s += d[c & 15];
  return s;
}

TEST(ReplMessages, AckAndKeepaliveBytesArePinned) {
  // PROTOCOL.md: [u32 LE body length][u8 type][body], fields little-endian.
  EXPECT_EQ(hex(encode(Ack{0x0102})),
            "08000000"
            "05"
            "0201000000000000");
  EXPECT_EQ(hex(encode(Keepalive{3, 7})),
            "10000000"
            "06"
            "0300000000000000"
            "0700000000000000");
  EXPECT_EQ(hex(encode(Welcome{1, 2, 9})),
            "12000000"
            "02"
            "0100"
            "0200000000000000"
            "0900000000000000");
  EXPECT_EQ(hex(encode(Refuse{RefuseCode::kBadToken, "no"})),
            "06000000"
            "03"
            "0300"
            "0200"
            "6e6f");
  EXPECT_EQ(hex(records_header(0x10203)),
            "03020100"
            "04");
}

TEST(ReplMessages, HelloBytesArePinned) {
  // The worked example of PROTOCOL.md.
  Hello h;
  h.token = "t";
  EXPECT_EQ(hex(encode(h)),
            "3d000000"
            "01"
            "50494c4f54524550"
            "0100"
            "0100"
            "74"
            "0000000000000000"
            "0000000000000000" +
                std::string(64, '0'));
}

TEST(ReplMessages, ConsumerHelloBytesArePinned) {
  // PROTOCOL.md "hello": a consumer (the standalone beacon) sends one flags byte after
  // the hash, bit 0 set; a follower's hello (above) has none.
  Hello h;
  h.token = "t";
  h.consumer = true;
  const std::string f = encode(h);
  EXPECT_EQ(hex(f),
            "3e000000"
            "01"
            "50494c4f54524550"
            "0100"
            "0100"
            "74"
            "0000000000000000"
            "0000000000000000" +
                std::string(64, '0') + "01");
  auto back = decode_hello(f.substr(kFrameHeaderSize));
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->consumer);
  Hello plain;
  plain.token = "t";
  auto follower = decode_hello(encode(plain).substr(kFrameHeaderSize));
  ASSERT_TRUE(follower);
  EXPECT_FALSE(follower->consumer);

  // Only what an encoder writes: no zero flags byte, no unknown bits, nothing after it.
  const std::string body = encode(plain).substr(kFrameHeaderSize);
  EXPECT_FALSE(decode_hello(body + std::string(1, '\x00')));
  EXPECT_FALSE(decode_hello(body + std::string(1, '\x02')));
  EXPECT_FALSE(decode_hello(body + std::string(1, '\x03')));
  EXPECT_FALSE(decode_hello(body + std::string("\x01\x01", 2)));
}

TEST(ReplMessages, HelloRoundTripAndLayout) {
  Hello h;
  h.token = "s3cret";
  h.last_seq = 42;
  h.term = 3;
  h.last_hash[0] = 0xab;
  h.last_hash[31] = 0xcd;
  const std::string f = encode(h);
  ASSERT_EQ(f.size(), kFrameHeaderSize + 8 + 2 + 2 + 6 + 8 + 8 + 32);
  EXPECT_EQ(f.substr(5, 8), "PILOTREP");
  EXPECT_EQ(hex(f.substr(13, 4)), "01000600");  // version 1, token length 6
  Frame fr;
  std::string why;
  ASSERT_EQ(next_frame(f, fr, why), FrameStatus::kFrame);
  EXPECT_EQ(fr.type, MsgType::kHello);
  EXPECT_EQ(fr.consumed, f.size());
  auto back = decode_hello(fr.body);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->token, "s3cret");
  EXPECT_EQ(back->last_seq, 42u);
  EXPECT_EQ(back->term, 3u);
  EXPECT_EQ(back->last_hash, h.last_hash);
  EXPECT_EQ(back->version, kProtocolVersion);
}

TEST(ReplMessages, MalformedBodiesAreRefused) {
  Hello h;
  h.token = "t";
  std::string body = encode(h).substr(kFrameHeaderSize);
  EXPECT_TRUE(decode_hello(body));
  EXPECT_FALSE(decode_hello(body.substr(0, body.size() - 1)));  // cut short
  EXPECT_FALSE(decode_hello(body + "x"));                       // trailing bytes
  std::string bad_magic = body;
  bad_magic[0] = 'X';
  EXPECT_FALSE(decode_hello(bad_magic));
  std::string long_token = body;  // token length field says 2000 (> kMaxTokenBytes)
  long_token[10] = static_cast<char>(2000 & 0xff), long_token[11] = static_cast<char>(2000 >> 8);
  EXPECT_FALSE(decode_hello(long_token));
  EXPECT_FALSE(decode_hello(""));
  EXPECT_FALSE(decode_ack("1234567"));
  EXPECT_FALSE(decode_ack("123456789"));
  EXPECT_FALSE(decode_welcome("short"));
  EXPECT_FALSE(decode_keepalive(std::string(15, '\0')));
  EXPECT_FALSE(
      decode_refuse(std::string("\x01\x00\x05\x00"
                                "abc",
                                7)));  // says 5, has 3
  // A token longer than the limit is cut when encoded, so the frame stays decodable.
  Hello big;
  big.token = std::string(5000, 'a');
  auto back = decode_hello(encode(big).substr(kFrameHeaderSize));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->token.size(), kMaxTokenBytes);
}

TEST(ReplMessages, FramingNeedsMoreUnknownTypesAndOversizedLengths) {
  const std::string ack = encode(Ack{5});
  Frame f;
  std::string why;
  for (size_t n = 0; n < ack.size(); ++n) EXPECT_EQ(next_frame(ack.substr(0, n), f, why), FrameStatus::kNeedMore) << n;
  EXPECT_EQ(next_frame(ack + ack, f, why), FrameStatus::kFrame);
  EXPECT_EQ(f.consumed, ack.size());

  EXPECT_EQ(next_frame(std::string("\0\0\0\0\x0b", 5), f, why), FrameStatus::kBad);
  EXPECT_NE(why.find("unknown frame type 11"), std::string::npos);
  EXPECT_EQ(next_frame(std::string("\0\0\0\0\0", 5), f, why), FrameStatus::kBad);
  // "GET " as a length is far over the control limit: refused on the header alone.
  EXPECT_EQ(next_frame("GET / HTTP/1.1\r\n", f, why), FrameStatus::kBad);
  std::string hdr = records_header(kMaxRecordsBody);
  EXPECT_EQ(next_frame(hdr, f, why), FrameStatus::kNeedMore);
  hdr = records_header(size_t{kMaxRecordsBody} + 1);
  EXPECT_EQ(next_frame(hdr, f, why), FrameStatus::kBad);
  std::string ack_hdr = encode(Ack{1}).substr(0, 5);
  ack_hdr[0] = static_cast<char>(0xff), ack_hdr[1] = static_cast<char>(0xff);  // 65535-byte ack
  EXPECT_EQ(next_frame(ack_hdr, f, why), FrameStatus::kBad);
}

TEST(ReplMessages, SnapshotTransferBytesArePinned) {
  // The worked example of PROTOCOL.md, "Snapshot transfer".
  EXPECT_EQ(hex(encode(SnapshotRequest{1, "t", 2, 5})),
            "1d000000"
            "08"
            "50494c4f54524550"
            "0100"
            "0100"
            "74"
            "0200000000000000"
            "0500000000000000");
  log::Hash running;
  running.fill(0xaa);
  EXPECT_EQ(hex(encode(SnapshotChunk{0x40000, running, "SQLite"})),
            "2e000000"
            "09"
            "0000040000000000" +
                std::string(64, 'a') + "53514c697465");
  SnapshotEnd end{0x1000, 300, 2, {}, {}};
  end.last_hash.fill(0x11);
  end.file_hash.fill(0x22);
  std::string ones, twos;
  for (int i = 0; i < 32; ++i) ones += "11", twos += "22";
  EXPECT_EQ(hex(encode(end)),
            "58000000"
            "0a"
            "0010000000000000"
            "2c01000000000000"
            "0200000000000000" +
                ones + twos);
}

TEST(ReplMessages, SnapshotTransferRoundTripsAndRefusesMalformedBodies) {
  const std::string req = encode(SnapshotRequest{1, "tok", 9, 77});
  Frame f;
  std::string why;
  ASSERT_EQ(next_frame(req, f, why), FrameStatus::kFrame);
  EXPECT_EQ(f.type, MsgType::kSnapshotRequest);
  auto r = decode_snapshot_request(f.body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->token, "tok");
  EXPECT_EQ(r->term, 9u);
  EXPECT_EQ(r->last_seq, 77u);
  EXPECT_FALSE(decode_snapshot_request(f.body.substr(0, f.body.size() - 1)));
  EXPECT_FALSE(decode_snapshot_request(std::string(f.body) + "x"));
  std::string bad_magic(f.body);
  bad_magic[0] = 'X';
  EXPECT_FALSE(decode_snapshot_request(bad_magic));

  // A chunk: at least one byte of data, at most kSnapshotChunkBytes.
  const std::string full(kSnapshotChunkBytes, 'z');
  const std::string chunk = encode(SnapshotChunk{0, {}, full});
  ASSERT_EQ(next_frame(chunk, f, why), FrameStatus::kFrame) << why;
  auto c = decode_snapshot_chunk(f.body);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->data.size(), kSnapshotChunkBytes);
  EXPECT_FALSE(decode_snapshot_chunk(std::string(40, '\0')));  // no data
  EXPECT_FALSE(decode_snapshot_chunk(std::string(39, '\0')));
  std::string over = encode(SnapshotChunk{0, {}, full}) + "x";
  over[0] = static_cast<char>(static_cast<uint8_t>(over[0]) + 1);  // body one byte longer
  EXPECT_EQ(next_frame(over, f, why), FrameStatus::kBad);
  std::string wrap(40, '\xff');
  wrap += "ab";  // offset + 2 bytes overflows
  EXPECT_FALSE(decode_snapshot_chunk(wrap));

  const std::string e = encode(SnapshotEnd{10, 20, 3, {}, {}});
  ASSERT_EQ(next_frame(e, f, why), FrameStatus::kFrame);
  auto end = decode_snapshot_end(f.body);
  ASSERT_TRUE(end);
  EXPECT_EQ(*end, (SnapshotEnd{10, 20, 3, {}, {}}));
  EXPECT_FALSE(decode_snapshot_end(f.body.substr(1)));
  EXPECT_FALSE(decode_snapshot_end(std::string(f.body) + "x"));
}

TEST(ReplMessages, TokenComparison) {
  EXPECT_TRUE(token_matches("s3cret", "s3cret"));
  EXPECT_FALSE(token_matches("s3cre", "s3cret"));
  EXPECT_FALSE(token_matches("s3cret!", "s3cret"));
  EXPECT_FALSE(token_matches("S3cret", "s3cret"));
  EXPECT_FALSE(token_matches("", ""));  // no configured token: nobody matches
  EXPECT_FALSE(token_matches("x", ""));
}

}  // namespace
}  // namespace pilot::repl
