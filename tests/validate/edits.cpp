// Tests for include/speedrunner/validate/edits.hpp: SEARCH/REPLACE blocks as
// a Validator, on realistic answers, limited to the editable files.
#include <speedrunner/validate/edits.hpp>
#include <speedrunner/code/whole_file.hpp>

#include "catch.hpp"

namespace validate = speedrunner::validate;

namespace {
const std::string two_blocks = R"(The schedule lives in train_gpt2.py. I will shorten warmup and raise the peak.

train_gpt2.py
```python
<<<<<<< SEARCH
warmup_iters = 700
=======
warmup_iters = 256
>>>>>>> REPLACE
```

And the learning rate:

train_gpt2.py
```python
<<<<<<< SEARCH
learning_rate = 6e-4
=======
learning_rate = 1.8e-3
>>>>>>> REPLACE
```
That is all.)";
}  // namespace

TEST_CASE("SEARCH/REPLACE blocks in prose are read as edits", "[validate][edits]") {
  STATIC_REQUIRE(validate::Validator<validate::SearchReplaceBlocks>);
  auto edits = validate::SearchReplaceBlocks{}(two_blocks);
  REQUIRE(edits.has_value());
  REQUIRE(edits->size() == 2);
  CHECK((*edits)[0].path == "train_gpt2.py");
  CHECK((*edits)[0].search == "warmup_iters = 700\n");
  CHECK((*edits)[1].replace == "learning_rate = 1.8e-3\n");
}

TEST_CASE("a malformed or missing block is rejected with the parser's reason and fix", "[validate][edits]") {
  auto none = validate::SearchReplaceBlocks{}("I would shorten the warmup to 256 steps.");
  REQUIRE_FALSE(none.has_value());
  CHECK(none.error().what.starts_with("the answer holds no SEARCH/REPLACE block; describe each change"));
  auto cut = validate::SearchReplaceBlocks{}("train_gpt2.py\n```python\n<<<<<<< SEARCH\nwarmup_iters = 700\n=======\n");
  REQUIRE_FALSE(cut.has_value());
  CHECK(cut.error().what.find("is cut off") != std::string::npos);
}

TEST_CASE("edits outside the editable files are refused by name", "[validate][edits]") {
  validate::SearchReplaceBlocks only_model{.format = {}, .editable = {"model.py"}};
  auto r = only_model(two_blocks);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().what ==
        "edit 1 changes train_gpt2.py, edit 2 changes train_gpt2.py, which is not an editable file (editable: "
        "model.py); edit only those files, with their paths as shown");
  validate::SearchReplaceBlocks both{.format = {}, .editable = {"model.py", "train_gpt2.py"}};
  CHECK(both(two_blocks).has_value());
}

TEST_CASE("any edit format of the coder plugs in", "[validate][edits]") {
  STATIC_REQUIRE(validate::Validator<validate::Edits<speedrunner::code::WholeFile>>);
}

TEST_CASE("a whole file without a path is for the only editable file, else rejected", "[validate][edits]") {
  const std::string unnamed = "Here it is:\n```python\nlr = 0.03\n```\n";
  validate::Edits<speedrunner::code::WholeFile> one{.format = {}, .editable = {"train.py"}};
  auto r = one(unnamed);
  REQUIRE(r.has_value());
  CHECK((*r)[0].path == "train.py");
  validate::Edits<speedrunner::code::WholeFile> two{.format = {}, .editable = {"train.py", "model.py"}};
  auto bad = two(unnamed);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().what.find("edit 1 names no file") != std::string::npos);
}
