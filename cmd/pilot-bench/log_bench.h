// `pilot-bench log`: how fast the write-ahead log is on this machine, each number next
// to the raw limit of the same disk or CPU measured in the same run.
//
//   1. raw fdatasync rate of the bench directory's disk (the one-fsync-per-event bound);
//   2. durable appends/s through the real log::Writer (fsync=always) with 1, 16 and
//      256 closed-loop appenders, with batch size and append→durable latency;
//   3. replay: Scanner + decode_payload + State::apply over a 1M-event log, and the
//      stages below it (raw read, CRC only, CRC + hash chain, decode);
//   4. per-event costs of the pieces (Google Benchmark);
//   5. restart: restore_state() of a 1M-node snapshot plus a 100k-event tail.
//
// The report is a table on stdout; progress goes to stderr. The exit status is 0 when
// every measurement ran (a missed target is reported, not an error) and 1 otherwise.
#pragma once

namespace pilot::bench {

// argv[first..] are the flags after `log`.
int run_log_bench(int argc, char** argv, int first);

}  // namespace pilot::bench
