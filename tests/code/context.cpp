// Tests for include/speedrunner/code/context.hpp: the token estimate (against
// GPT-2's BPE on the record templates, where the tokenizer files are present),
// first comment lines, the listing of other files and read requests.
#include <speedrunner/code/context.hpp>
#include <speedrunner/data/tokenizer.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <fstream>
#include <sstream>

using namespace speedrunner;
using namespace speedrunner::code;
namespace fs = std::filesystem;

TEST_CASE("the token estimate counts words, numbers, spaces and symbols", "[code][context]") {
  CHECK(estimate_tokens("") == 0);
  CHECK(estimate_tokens("hello world") == 2);           // the space is glued to the word
  CHECK(estimate_tokens("internationalization") == 4);  // 20 letters: 4 pieces
  CHECK(estimate_tokens("x = 1234567;\n") == 1 + 1 + 1 + 1 + 3 + 1 + 1);
  CHECK(estimate_tokens("    return;") == 1 + 1 + 1);
  CHECK(thousands(0) == "0");
  CHECK(thousands(999) == "999");
  CHECK(thousands(1000) == "1,000");
  CHECK(thousands(1234567) == "1,234,567");
}

TEST_CASE("the estimate follows GPT-2's BPE on the record templates", "[code][context][records]") {
  auto tokenizer = data::Gpt2Tokenizer::load();
  if (!tokenizer) {  // scripts/setup fetches them; without them there is nothing to compare with
    WARN("GPT-2 tokenizer files absent (scripts/fetch-tokenizer): " + tokenizer.error().what);
    return;
  }
  for (int r = 1; r <= 5; ++r) {
    std::size_t bpe = 0, estimate = 0;
    const fs::path dir = testing::source_root() / "workspace_templates/nanogpt_speedrun" / ("record_" + std::to_string(r));
    for (const auto& f : list_version_files(dir)) {
      std::ostringstream text;
      text << std::ifstream(dir / f, std::ios::binary).rdbuf();
      bpe += tokenizer->encode(text.str()).size();
      estimate += estimate_tokens(text.str());
    }
    INFO("record " << r << ": GPT-2 BPE " << bpe << ", estimate " << estimate);
    CHECK(static_cast<double>(estimate) == Approx(static_cast<double>(bpe)).epsilon(0.05));
  }
}

TEST_CASE("a file's first comment line says what it is for", "[code][context]") {
  CHECK(first_comment_line("// Fused attention.\n#pragma once\n") == "Fused attention.");
  CHECK(first_comment_line("#!/usr/bin/env bash\n# Builds the trainer.\nset -e\n") == "Builds the trainer.");
  CHECK(first_comment_line("\n/* LayerNorm kernels. */\n") == "LayerNorm kernels.");
  CHECK(first_comment_line("\"\"\"Train GPT-2.\"\"\"\nimport os\n") == "Train GPT-2.");
  CHECK(first_comment_line("//\n// Second line counts.\n") == "Second line counts.");
  CHECK(first_comment_line("int main() {}\n") == "");
  CHECK(first_comment_line("# " + std::string(300, 'a')).size() == 163);
}

TEST_CASE("other files leave out entry files, read-only folders, hidden files and bookkeeping", "[code][context]") {
  testing::TempDir dir("sr-context");
  for (const char* f : {"train.cpp", "model.cpp", "data/a.bin", ".git/HEAD", "meta.json", "coder.md",
                        "llm_coder.jsonl", "kernels/rope.cu"}) {
    fs::create_directories((dir.path() / f).parent_path());
    std::ofstream(dir.path() / f) << "x\n";
  }
  CHECK(other_files(dir.path(), {"train.cpp"}, {"data"}) == std::vector<std::string>{"kernels/rope.cu", "model.cpp"});
}

TEST_CASE("read requests are READ lines outside fenced blocks", "[code][context]") {
  CHECK(read_requests("READ a.cpp\nREAD: b.hpp\n  READ `c/d.cu`  \nREAD a.cpp\n") ==
        std::vector<std::string>{"a.cpp", "b.hpp", "c/d.cu"});
  CHECK(read_requests("x.py\n```python\nREAD not_me.py\n```\nREADME.md is nice\nREAD\n").empty());
  ContextLimit limit{.window = 1000, .answer = 100, .model = "m"};
  CHECK(limit.fits(900));
  CHECK_FALSE(limit.fits(901));
  CHECK(ContextLimit{}.fits(1'000'000'000));
  CHECK(limit.over("the prompt", 1234) ==
        "the prompt is about 1,234 tokens (estimated) + 100 kept for the answer, over the context window of m, 1,000 tokens");
}
