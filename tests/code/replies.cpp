// Tolerance of real model replies (issue 27): one table of cases per rule of
// the edit formats (`...` between blocks, blank first SEARCH lines, doubled
// dividers, fence styles, fenced REPLACE parts, loosely written paths,
// whole files without a path), then the corpus of realistic replies in
// tests/code/replies/*.jsonl, each run through parse and apply_edits.
#include <speedrunner/code/aider_coder.hpp>
#include <speedrunner/code/apply.hpp>
#include <speedrunner/code/formats.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <boost/json.hpp>

#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

using speedrunner::testing::slurp;
using speedrunner::testing::spit;

using namespace speedrunner;
using namespace speedrunner::code;
namespace fs = std::filesystem;

namespace {

// What came of one reply: applied in full, or the message the model would get.
struct Outcome {
  bool accepted = false;
  std::string message;             // the parse error or the reflection
  std::vector<std::string> notes;  // paths taken to mean other files
};

template <class Format>
Outcome run_reply(const Format& format, const fs::path& version, const std::vector<std::string>& entry,
                  std::string_view reply) {
  Outcome o;
  auto edits = format.parse(reply);
  if (!edits) {
    o.message = edits.error().message();
    return o;
  }
  ApplyOptions options;
  options.entry_files = entry;
  auto report = apply_edits(version, *edits, options);
  if (!report) {
    o.message = "apply_edits failed: " + report.error().message();
    return o;
  }
  o.accepted = report->ok();
  o.message = reflection(*report, format);
  for (const auto& b : report->blocks)
    if (!b.note.empty()) o.notes.push_back(b.note);
  return o;
}

Outcome run_any(std::string_view format, const fs::path& version, const std::vector<std::string>& entry,
                std::string_view reply) {
  if (format == "search_replace") return run_reply(SearchReplace{}, version, entry, reply);
  if (format == "whole_file") return run_reply(WholeFile{}, version, entry, reply);
  if (format == "unified_diff") return run_reply(UnifiedDiff{}, version, entry, reply);
  FAIL("unknown format " << format);
  return {};
}

using Files = std::map<std::string, std::optional<std::string>>;  // nullopt: must not exist

struct RuleCase {
  std::string name;
  std::string format;  // search_replace | whole_file | unified_diff
  std::map<std::string, std::string> before;
  std::vector<std::string> entry;
  std::string reply;
  Files after;          // files changed, created, or (nullopt) never created
  std::string refused;  // non-empty: the reply is refused with a message holding this
  std::string note;     // non-empty: a note holding this is left for the transcript
};

const std::string kFn = "def f():\n    return 1\n\n\ndef g():\n    return 2\n";

std::string sr(const std::string& path, const std::string& search, const std::string& replace,
               const std::string& open = "```", const std::string& close = "```") {
  return path + "\n" + open + "\n<<<<<<< SEARCH\n" + search + "=======\n" + replace + ">>>>>>> REPLACE\n" + close + "\n";
}

std::vector<RuleCase> rule_cases() {
  const std::string g_changed = "def f():\n    return 1\n\n\ndef g():\n    return 20\n";
  const std::string f_changed = "def f():\n    return 10\n\n\ndef g():\n    return 2\n";
  const std::string both = "def f():\n    return 10\n\n\ndef g():\n    return 20\n";
  return {
      // ---- `...` between blocks continues the previous block's file ----
      {"`...` between blocks continues the file", "search_replace", {{"a.py", kFn}}, {"a.py"},
       sr("a.py", "    return 1\n", "    return 10\n") + "...\n```\n<<<<<<< SEARCH\n    return 2\n=======\n"
       "    return 20\n>>>>>>> REPLACE\n```\n", {{"a.py", both}, {"...", std::nullopt}}},
      {"`…` (one character) between blocks continues the file", "search_replace", {{"a.py", kFn}}, {"a.py"},
       sr("a.py", "    return 1\n", "    return 10\n") + "\n…\n\n```\n<<<<<<< SEARCH\n    return 2\n=======\n"
       "    return 20\n>>>>>>> REPLACE\n```\n", {{"a.py", both}, {"…", std::nullopt}}},
      {"`...` inside the fence before SEARCH continues the file", "search_replace", {{"a.py", kFn}}, {"a.py"},
       sr("a.py", "    return 1\n", "    return 10\n") + "```\n...\n<<<<<<< SEARCH\n    return 2\n=======\n"
       "    return 20\n>>>>>>> REPLACE\n```\n", {{"a.py", both}}},
      {"an empty SEARCH after `...` creates no file named `...`", "search_replace", {{"a.py", kFn}}, {"a.py"},
       sr("a.py", "    return 1\n", "    return 10\n") + "...\n```\n<<<<<<< SEARCH\n=======\nh = 3\n>>>>>>> REPLACE\n```\n",
       {{"a.py", f_changed}, {"...", std::nullopt}}, "a.py already exists and is not empty"},
      {"`...` with no block before it names no file", "search_replace", {{"a.py", kFn}}, {"a.py"},
       "...\n```\n<<<<<<< SEARCH\n    return 2\n=======\n    return 20\n>>>>>>> REPLACE\n```\n",
       {{"...", std::nullopt}}, "names no file"},
      // ---- a SEARCH that starts with a blank line the file lacks ----
      {"a blank first SEARCH line is dropped when it does not match", "search_replace", {{"a.py", kFn}}, {"a.py"},
       sr("a.py", "\ndef g():\n    return 2\n", "\ndef g():\n    return 20\n"), {{"a.py", g_changed}}},
      {"a blank first SEARCH line with a REPLACE that has none", "search_replace", {{"a.py", "x = 1\ny = 2\n"}},
       {"a.py"}, sr("a.py", "\ny = 2\n", "y = 3\n"), {{"a.py", "x = 1\ny = 3\n"}}},
      {"two blank first SEARCH lines are dropped", "search_replace", {{"a.py", "x = 1\ny = 2\n"}}, {"a.py"},
       sr("a.py", "\n\ny = 2\n", "\n\ny = 3\n"), {{"a.py", "x = 1\ny = 3\n"}}},
      {"a long SEARCH with a blank first line does not swallow the line above", "search_replace",
       {{"a.py", "header = 1\nline_a = 1\nline_b = 2\nline_c = 3\nline_d = 4\n"}}, {"a.py"},
       sr("a.py", "\nline_a = 1\nline_b = 2\nline_c = 3\nline_d = 4\n", "\nline_a = 10\nline_b = 2\nline_c = 3\nline_d = 4\n"),
       {{"a.py", "header = 1\nline_a = 10\nline_b = 2\nline_c = 3\nline_d = 4\n"}}},
      {"a blank first line the file has is kept", "search_replace", {{"a.py", "x = 1\n\ny = 2\n"}}, {"a.py"},
       sr("a.py", "\ny = 2\n", "\ny = 3\nz = 4\n"), {{"a.py", "x = 1\n\ny = 3\nz = 4\n"}}},
      {"a SEARCH of blank lines only still must match", "search_replace", {{"a.py", "x = 1\ny = 2\n"}}, {"a.py"},
       sr("a.py", "\n", "z = 0\n"), {{"a.py", "x = 1\ny = 2\n"}}, "does not match any lines"},
      // ---- a second `=======` ends the REPLACE part ----
      {"REPLACE ended by a second divider", "search_replace", {{"a.py", kFn}}, {"a.py"},
       "a.py\n```\n<<<<<<< SEARCH\n    return 2\n=======\n    return 20\n=======\n```\n", {{"a.py", g_changed}}},
      {"a second divider, then the REPLACE marker", "search_replace", {{"a.py", kFn}}, {"a.py"},
       "a.py\n```\n<<<<<<< SEARCH\n    return 2\n=======\n    return 20\n=======\n>>>>>>> REPLACE\n```\n",
       {{"a.py", g_changed}}},
      {"a second divider, a blank line, the REPLACE marker", "search_replace", {{"a.py", kFn}}, {"a.py"},
       "a.py\n```\n<<<<<<< SEARCH\n    return 2\n=======\n    return 20\n=======\n\n>>>>>>> REPLACE\n```\n",
       {{"a.py", g_changed}}},
      {"blocks ended by dividers follow one another", "search_replace", {{"a.py", kFn}}, {"a.py"},
       "a.py\n```\n<<<<<<< SEARCH\n    return 1\n=======\n    return 10\n=======\n```\na.py\n```\n<<<<<<< SEARCH\n"
       "    return 2\n=======\n    return 20\n>>>>>>> REPLACE\n```\n", {{"a.py", both}}},
      // ---- fences other than three backticks ----
      {"a `~~~` fence", "search_replace", {{"a.py", kFn}}, {"a.py"},
       sr("a.py", "    return 2\n", "    return 20\n", "~~~python", "~~~"), {{"a.py", g_changed}}},
      {"a four-backtick fence", "search_replace", {{"a.py", kFn}}, {"a.py"},
       sr("a.py", "    return 2\n", "    return 20\n", "````python", "````"), {{"a.py", g_changed}}},
      {"a <source> tag as the fence", "search_replace", {{"a.py", kFn}}, {"a.py"},
       sr("a.py", "    return 2\n", "    return 20\n", "<source>", "</source>"), {{"a.py", g_changed}}},
      {"a <source lang=...> tag with the path inside", "search_replace", {{"a.py", kFn}}, {"a.py"},
       "<source lang=\"python\">\na.py\n<<<<<<< SEARCH\n    return 2\n=======\n    return 20\n>>>>>>> REPLACE\n</source>\n",
       {{"a.py", g_changed}}},
      {"a whole file in a `~~~` fence keeps its ``` lines", "whole_file", {}, {"N.md"},
       "N.md\n~~~markdown\n# Notes\n```sh\nrun\n```\n~~~\n", {{"N.md", "# Notes\n```sh\nrun\n```\n"}}},
      {"a whole file in <source> tags", "whole_file", {{"a.py", kFn}}, {"a.py"},
       "a.py\n<source>\n" + g_changed + "</source>\n", {{"a.py", g_changed}}},
      {"a whole file in a <code> tag", "whole_file", {{"a.py", kFn}}, {"a.py"},
       "a.py\n<code>\n" + g_changed + "</code>\n", {{"a.py", g_changed}}},
      {"a unified diff in a `~~~diff` fence", "unified_diff", {{"a.py", kFn}}, {"a.py"},
       "~~~diff\n--- a.py\n+++ a.py\n@@ ... @@\n def g():\n-    return 2\n+    return 20\n~~~\n", {{"a.py", g_changed}}},
      {"a unified diff in <source> tags", "unified_diff", {{"a.py", kFn}}, {"a.py"},
       "<source>\n--- a.py\n+++ a.py\n@@ ... @@\n def g():\n-    return 2\n+    return 20\n</source>\n", {{"a.py", g_changed}}},
      // ---- a REPLACE or whole-file body in a fence of its own ----
      {"a fenced REPLACE part is unwrapped", "search_replace", {{"a.py", kFn}}, {"a.py"},
       sr("a.py", "    return 2\n", "```python\n    return 20\n```\n"), {{"a.py", g_changed}}},
      {"a fenced REPLACE part after a line naming the file", "search_replace", {{"a.py", kFn}}, {"a.py"},
       sr("a.py", "    return 2\n", "a.py\n```python\n    return 20\n```\n"), {{"a.py", g_changed}}},
      {"a fenced REPLACE for a fenced SEARCH stays as written", "search_replace",
       {{"R.md", "Run:\n```sh\nmake\n```\n"}}, {"R.md"},
       sr("R.md", "```sh\nmake\n```\n", "```sh\nmake -j8\n```\n", "````", "````"),
       {{"R.md", "Run:\n```sh\nmake -j8\n```\n"}}},
      {"a whole file fenced twice (```` then ```python)", "whole_file", {{"a.py", kFn}}, {"a.py"},
       "a.py\n````\n```python\n" + g_changed + "```\n````\n", {{"a.py", g_changed}}},
      {"a whole file fenced twice with the same fence", "whole_file", {{"a.py", kFn}}, {"a.py"},
       "a.py\n```\n```python\n" + g_changed + "```\n```\n", {{"a.py", g_changed}}},
      {"a whole file whose body names the file before its own fence", "whole_file", {{"a.py", kFn}},
       {"a.py", "b.py"}, "````\na.py\n```python\n" + g_changed + "```\n````\n", {{"a.py", g_changed}}},
      // ---- a path that names exactly one file of the version ----
      {"path/to/x.cu means the one x.cu", "search_replace", {{"kernels/x.cu", "int k = 1;\n"}}, {"kernels/x.cu"},
       sr("path/to/x.cu", "int k = 1;\n", "int k = 2;\n"), {{"kernels/x.cu", "int k = 2;\n"}, {"path/to/x.cu", std::nullopt}},
       "", "path/to/x.cu does not exist; taken to mean kernels/x.cu (base name)"},
      {"a backslash path", "search_replace", {{"kernels/x.cu", "int k = 1;\n"}}, {"kernels/x.cu"},
       sr("kernels\\x.cu", "int k = 1;\n", "int k = 2;\n"), {{"kernels/x.cu", "int k = 2;\n"}}, "",
       "taken to mean kernels/x.cu (spelling)"},
      {"an underscore for a hyphen", "search_replace", {{"run-config.yaml", "lr: 1\n"}}, {"run-config.yaml"},
       sr("run_config.yaml", "lr: 1\n", "lr: 2\n"), {{"run-config.yaml", "lr: 2\n"}, {"run_config.yaml", std::nullopt}},
       "", "taken to mean run-config.yaml (spelling)"},
      {"a hyphen for an underscore", "unified_diff", {{"train_gpt.cu", "int steps = 1;\n"}}, {"train_gpt.cu"},
       "--- train-gpt.cu\n+++ train-gpt.cu\n@@ ... @@\n-int steps = 1;\n+int steps = 2;\n",
       {{"train_gpt.cu", "int steps = 2;\n"}}, "", "taken to mean train_gpt.cu (spelling)"},
      {"a typo in the base name", "search_replace", {{"train.py", "lr = 1\n"}}, {"train.py"},
       sr("trian.py", "lr = 1\n", "lr = 2\n"), {{"train.py", "lr = 2\n"}}, "", "(near spelling)"},
      {"the file whose path ends the wanted one, among same-named files", "search_replace",
       {{"src/utils.py", "a = 1\n"}, {"tools/utils.py", "b = 1\n"}}, {},
       sr("repo/tools/utils.py", "b = 1\n", "b = 2\n"), {{"tools/utils.py", "b = 2\n"}}, "",
       "repo/tools/utils.py does not exist; taken to mean tools/utils.py (base name)"},
      {"a whole file that is one bare fenced block keeps its fence", "whole_file", {}, {"N.md"},
       "N.md\n````\n```\nmake\n```\n````\n", {{"N.md", "```\nmake\n```\n"}}},
      {"an ambiguous base name is refused with the candidates", "search_replace",
       {{"src/utils.py", "a = 1\n"}, {"tools/utils.py", "b = 1\n"}}, {},
       sr("utils.py", "a = 1\n", "a = 2\n"), {{"utils.py", std::nullopt}},
       "utils.py does not exist, and it could mean any of src/utils.py, tools/utils.py"},
      {"a new file beside a similar one is created, not redirected", "search_replace", {{"train.py", "x\n"}}, {},
       sr("train2.py", "", "y\n"), {{"train2.py", "y\n"}, {"train.py", "x\n"}}},
      {"a whole file under a folder that does not exist means the existing file", "whole_file",
       {{"train.py", "x\n"}}, {"train.py"}, "path/to/train.py\n```python\ny\n```\n",
       {{"train.py", "y\n"}, {"path/to/train.py", std::nullopt}}, "", "taken to mean train.py (base name)"},
      {"a whole file with a new name in an existing folder is a new file", "whole_file",
       {{"kernels/a.cu", "x\n"}}, {"kernels/a.cu"}, "kernels/b.cu\n```cuda\ny\n```\n", {{"kernels/b.cu", "y\n"}}},
      // ---- a whole-file reply without a path line ----
      {"the file named in backticks just above", "whole_file", {{"a.py", kFn}, {"b.py", "b\n"}}, {"a.py", "b.py"},
       "Here is the updated `a.py`, with g returning 20:\n\n```python\n" + g_changed + "```\n", {{"a.py", g_changed}}},
      {"the last backticked file name of the line above", "whole_file", {{"a.py", kFn}, {"b.py", "b\n"}},
       {"a.py", "b.py"}, "Unlike `b.py`, `a.py` changes:\n```python\n" + g_changed + "```\n", {{"a.py", g_changed}}},
      {"the only entry file", "whole_file", {{"a.py", kFn}}, {"a.py"}, "Here you go:\n\n```python\n" + g_changed + "```\n",
       {{"a.py", g_changed}}, "", "the block names no file; taken to be a.py, the only file to edit"},
      {"several entry files and no path: refused, naming them", "whole_file", {{"a.py", kFn}, {"b.py", "b\n"}},
       {"a.py", "b.py"}, "Here you go:\n\n```python\n" + g_changed + "```\n", {{"a.py", kFn}},
       "the block names no file (the files to edit are a.py, b.py)"},
      {"a snippet without a path beside a named file is skipped", "whole_file", {{"a.py", kFn}}, {"a.py"},
       "Run it with:\n```sh\npython a.py\n```\n\na.py\n```python\n" + g_changed + "```\n", {{"a.py", g_changed}}},
  };
}

}  // namespace

TEST_CASE("every tolerance rule of the edit formats, case by case", "[code][replies]") {
  const auto cases = rule_cases();
  REQUIRE(cases.size() >= 40);
  for (const RuleCase& c : cases) {
    INFO("case: " << c.name << "\nreply:\n" << c.reply);
    testing::TempDir tmp("sr-rules");
    for (const auto& [path, text] : c.before) spit(tmp.path() / path, text);
    const Outcome o = run_any(c.format, tmp.path(), c.entry, c.reply);
    INFO("message:\n" << o.message);
    if (c.refused.empty()) CHECK(o.accepted);
    else {
      CHECK_FALSE(o.accepted);
      CHECK(o.message.find(c.refused) != std::string::npos);
    }
    for (const auto& [path, text] : c.after) {
      INFO("file: " << path);
      if (!text) CHECK_FALSE(fs::exists(tmp.path() / path));
      else CHECK(slurp(tmp.path() / path) == *text);
    }
    if (!c.note.empty()) {
      bool found = false;
      for (const auto& n : o.notes) found = found || n.find(c.note) != std::string::npos;
      INFO("notes: " << o.notes.size() << (o.notes.empty() ? std::string() : " first: " + o.notes.front()));
      CHECK(found);
    } else {
      CHECK(o.notes.empty());
    }
  }
}

TEST_CASE("a path taken to mean another file is noted in the coder's transcript", "[code][replies]") {
  testing::TempDir tmp("sr-rules");
  spit(tmp.path() / "kernels/attention.cu", "int rows = 64;\n");
  struct OneAnswer {
    Result<llm::Response> complete(const llm::Request&) {
      llm::Response r;
      r.text = "path/to/attention.cu\n```cuda\n<<<<<<< SEARCH\nint rows = 64;\n=======\nint rows = 32;\n"
               ">>>>>>> REPLACE\n```\n";
      return r;
    }
  } model;
  CodeRequest request;
  request.version_dir = tmp.path();
  request.files = {"kernels/attention.cu"};
  request.hypothesis = {"smaller tiles", "Smaller tiles raise occupancy."};
  AiderCoder coder(model);
  auto outcome = coder.implement(request);
  REQUIRE(outcome.has_value());
  CHECK(outcome->changed_files == std::vector<std::string>{"kernels/attention.cu"});
  CHECK(slurp(tmp.path() / "kernels/attention.cu") == "int rows = 32;\n");
  const std::string md = slurp(tmp.path() / "coder.md");
  CHECK(md.find("path/to/attention.cu does not exist; taken to mean kernels/attention.cu (base name)") !=
        std::string::npos);
  CHECK(slurp(tmp.path() / "coder_history.jsonl").find("\"note\":\"path/to/attention.cu does not exist") !=
        std::string::npos);
}

TEST_CASE("the corpus of realistic replies gives the expected files or refusals", "[code][replies]") {
  const fs::path dir = testing::source_root() / "tests" / "code" / "replies";
  const auto versions = boost::json::parse(slurp(dir / "versions.json")).as_object();
  std::size_t total = 0;
  for (std::string format : {"search_replace", "whole_file", "unified_diff"}) {
    std::ifstream in(dir / (format + ".jsonl"));
    REQUIRE(in.good());
    std::size_t replies = 0, accepted = 0, refused = 0;
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      const auto r = boost::json::parse(line).as_object();
      const std::string id(r.at("id").as_string());
      const std::string pattern(r.at("pattern").as_string());
      INFO("reply " << id << " (" << pattern << "):\n" << r.at("reply").as_string().c_str());
      testing::TempDir tmp("sr-corpus");
      const auto& files = versions.at(r.at("version").as_string()).at("files").as_object();
      for (const auto& [path, text] : files) spit(tmp.path() / std::string(path), std::string(text.as_string()));
      std::vector<std::string> entry;
      for (const auto& e : r.at("entry").as_array()) entry.emplace_back(e.as_string());
      const Outcome o = run_any(format, tmp.path(), entry, std::string(r.at("reply").as_string()));
      INFO("message:\n" << o.message);
      ++replies;
      const auto& expect = r.at("expect").as_object();
      const auto* want_refusal = expect.if_contains("refused");
      bool same = true;
      if (want_refusal != nullptr) {
        const bool told = !o.accepted && o.message.find(std::string(want_refusal->as_string())) != std::string::npos;
        CHECK(told);
        same = told;
      } else {
        CHECK(o.accepted);
        same = o.accepted;
      }
      const auto& changed = expect.at("files").as_object();
      for (const auto& [path, text] : changed) {
        INFO("file: " << std::string(path));
        const bool ok = fs::exists(tmp.path() / std::string(path)) &&
                        slurp(tmp.path() / std::string(path)) == text.as_string();
        CHECK(ok);
        same = same && ok;
      }
      for (const auto& [path, text] : files) {
        if (changed.contains(path)) continue;
        INFO("unchanged file: " << std::string(path));
        const bool ok = slurp(tmp.path() / std::string(path)) == text.as_string();
        CHECK(ok);
        same = same && ok;
      }
      if (want_refusal != nullptr) refused += same ? 1 : 0;
      else accepted += same ? 1 : 0;
    }
    std::cout << "corpus " << format << ": " << replies << " replies, " << accepted
              << " accepted with the expected files, " << refused << " refused as expected\n";
    total += replies;
  }
  std::cout << "corpus: " << total << " replies in all\n";
  CHECK(total >= 300);
}
