// Tests for include/speedrunner/validate/code_block.hpp: fenced block parsing
// and the language-aware CodeBlock validator on realistic answers.
#include <speedrunner/validate/code_block.hpp>

#include "catch.hpp"

namespace validate = speedrunner::validate;

TEST_CASE("fenced blocks are found with their language, line and closure", "[validate][code_block]") {
  auto blocks = validate::fenced_blocks(
      "Intro\n```Python\na = 1\n```\n\n~~~ train_gpt2.cu\n__global__ void k() {}\n~~~\n````markdown\n```c++\nx\n```\n````\n```\nopen");
  REQUIRE(blocks.size() == 4);
  CHECK(blocks[0].language == "python");
  CHECK(blocks[0].code == "a = 1\n");
  CHECK(blocks[0].line == 2);
  CHECK(blocks[1].language == "cuda");
  CHECK(blocks[1].info == "train_gpt2.cu");
  CHECK(blocks[2].language == "markdown");
  CHECK(blocks[2].code == "```c++\nx\n```\n");  // a longer fence holds shorter ones
  CHECK(blocks[3].language.empty());
  CHECK_FALSE(blocks[3].closed);
  CHECK(blocks[3].code == "open\n");
}

TEST_CASE("language aliases and file names map to one language", "[validate][code_block]") {
  CHECK(validate::canonical_language("C++") == "cpp");
  CHECK(validate::canonical_language("cxx") == "cpp");
  CHECK(validate::canonical_language("py") == "python");
  CHECK(validate::canonical_language("{python}") == "python");
  CHECK(validate::canonical_language("model.cuh") == "cuda");
  CHECK(validate::canonical_language("sh") == "bash");
  CHECK(validate::canonical_language("") == "");
}

TEST_CASE("the last block of the wanted language wins over later blocks of others", "[validate][code_block]") {
  const std::string answer = R"(Let me think about the bottleneck first.

The current loop is:
```python
for step in range(num_steps):
    loss = model(x)
```
I will fuse the optimizer step. Final version:

```python
for step in range(num_steps):
    loss = model(x)
    opt.step()
```

To run it:
```bash
torchrun --nproc_per_node=8 train_gpt2.py
```
)";
  auto code = validate::code_block("python")(answer);
  REQUIRE(code.has_value());
  CHECK(*code == "for step in range(num_steps):\n    loss = model(x)\n    opt.step()\n");
  auto shell = validate::code_block("sh")(answer);
  REQUIRE(shell.has_value());
  CHECK(*shell == "torchrun --nproc_per_node=8 train_gpt2.py\n");
  auto any = validate::CodeBlock{}(answer);
  REQUIRE(any.has_value());
  CHECK(*any == *shell);
}

TEST_CASE("cpp and cuda blocks are told apart, several languages may be wanted", "[validate][code_block]") {
  const std::string answer =
      "```cpp\nvoid host() {}\n```\n```cuda\n__global__ void kernel() {}\n```\n```cpp\nint main() {}\n```\n";
  CHECK(*validate::code_block("cuda")(answer) == "__global__ void kernel() {}\n");
  CHECK(*validate::code_block("c++")(answer) == "int main() {}\n");
  CHECK(*validate::code_block("cuda", "cpp")(answer) == "int main() {}\n");
}

TEST_CASE("an untagged block counts only when no tagged block matches", "[validate][code_block]") {
  CHECK(*validate::code_block("python")("```\nprint(1)\n```") == "print(1)\n");
  CHECK(*validate::code_block("python")("```python\nprint(2)\n```\n```\noutput: 2\n```") == "print(2)\n");
  auto strict = validate::CodeBlock{{"python"}, false}("```\nprint(1)\n```");
  REQUIRE_FALSE(strict.has_value());
  CHECK(strict.error().what == "the answer has 1 fenced block (```) but none is ```python; put the code in a ```python block");
}

TEST_CASE("indented fences inside a list item are read without the indentation", "[validate][code_block]") {
  auto code = validate::code_block("python")("1. Change the loop:\n   ```python\n   for i in range(3):\n       f(i)\n   ```\n");
  REQUIRE(code.has_value());
  CHECK(*code == "for i in range(3):\n    f(i)\n");
}

TEST_CASE("code block rejections say what is wrong and what to do", "[validate][code_block]") {
  auto none = validate::code_block("python")("I would rewrite the data loader to prefetch.");
  REQUIRE_FALSE(none.has_value());
  CHECK(none.error().what == "the answer has no fenced code block; put the code between a line ```python and a line ```");
  auto other = validate::code_block("python")("```json\n{}\n```\n```text\nhello\n```");
  REQUIRE_FALSE(other.has_value());
  CHECK(other.error().what ==
        "the answer has 2 fenced blocks (```json, ```text) but none is ```python; put the code in a ```python block");
  auto cut = validate::code_block("python")("Here:\n```python\nfor i in range(");
  REQUIRE_FALSE(cut.has_value());
  CHECK(cut.error().what ==
        "the ```python block opened on line 2 is never closed (was the answer cut off?); end it with a line ```");
  auto empty = validate::code_block("python")("```python\n\n```");
  REQUIRE_FALSE(empty.has_value());
  CHECK(empty.error().what == "the last ```python block is empty; put the code inside it");
}

TEST_CASE("inline triple backticks in prose do not open a block", "[validate][code_block]") {
  auto code = validate::code_block("python")("```python``` is how a block opens.\n```python\nx = 1\n```");
  REQUIRE(code.has_value());
  CHECK(*code == "x = 1\n");
}
