// How pilot-bench's end-to-end parts (rpc, repl) talk: progress lines on stderr while
// they run, then one table on stdout, with numbers formatted alike.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace pilot::bench {

// "[pilot-bench] …" on stderr, flushed.
__attribute__((format(printf, 1, 2))) void progress(const char* fmt, ...);
// 1234567.8 -> "1,234,568"
std::string commas(double v);
// "45 us", "1.25 ms", "2.00 s"; "-" for <= 0.
std::string latency_text(double ns);
const char* pass_fail(bool ok);  // "PASS" / "FAIL"
// "a, b, c"
std::string join(const std::vector<std::string>& v);

// A table of rows under named columns, with section headings and free-text notes
// between the rows; columns are as wide as their widest cell.
class Report {
 public:
  struct Column {
    std::string head;
    bool right = false;  // right-aligned (numbers)
  };
  explicit Report(std::vector<Column> columns) : cols_(std::move(columns)) {}

  void section(std::string title) { rows_.push_back({Kind::kSection, {std::move(title)}}); }
  // One cell per column (missing cells are empty).
  void row(std::vector<std::string> cells);
  void note(std::string text) { rows_.push_back({Kind::kNote, {std::move(text)}}); }
  void print(FILE* f) const;

 private:
  enum class Kind { kSection, kRow, kNote };
  struct Row {
    Kind kind;
    std::vector<std::string> cells;
  };
  std::vector<Column> cols_;
  std::vector<Row> rows_;
};

}  // namespace pilot::bench
