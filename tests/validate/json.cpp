// Tests for include/speedrunner/validate/json.hpp: the last JSON object in
// realistic answers, and key -> type checking with one reason per key.
#include <speedrunner/validate/json.hpp>

#include <cmath>

#include "catch.hpp"

namespace validate = speedrunner::validate;
using validate::Field;
using validate::FieldType;

TEST_CASE("the last JSON object is found among prose, fences and several objects", "[validate][json]") {
  const std::string answer = R"(First I considered {"summary": "longer warmup"}, but warmup is already 700 steps.
An example of a config is {lr: 0.1} (not JSON).

```json
{"summary": "fused AdamW", "hypothesis": "Fusing the optimizer kernels saves 5 ms per step; braces } in strings are fine."}
```
That is my final answer.)";
  auto o = validate::JsonObject{}(answer);
  REQUIRE(o.has_value());
  CHECK(o->at("summary").as_string() == "fused AdamW");
  CHECK(o->at("hypothesis").as_string().find("braces } in strings") != boost::json::string::npos);
}

TEST_CASE("reasoning that mentions braces and C++ code around the object is skipped", "[validate][json]") {
  const std::string answer = R"(The kernel looks like this:
```cpp
__global__ void add(float* x) { if (threadIdx.x == 0) { x[0] += 1; } }
int main() { std::vector<int> v{}; }
```
In set notation {x | x > 0}.
{"goal_met": true, "summary": "ran 5100 steps"}
Also note the initializer `int y{};`)";
  auto o = validate::JsonObject{}(answer);
  REQUIRE(o.has_value());
  CHECK(o->at("goal_met").as_bool());
}

TEST_CASE("comments and trailing commas are tolerated, nested objects stay inside", "[validate][json]") {
  auto o = validate::JsonObject{}("{\n  // the metric\n  \"metrics\": {\"val_loss\": 3.27,},\n  \"ok\": true,\n}");
  REQUIRE(o.has_value());
  CHECK(std::abs(o->at("metrics").as_object().at("val_loss").as_double() - 3.27) < 1e-12);
  CHECK(o->size() == 2);
}

TEST_CASE("a malformed object after the last valid one is reported, not skipped", "[validate][json]") {
  auto o = validate::JsonObject{}("Draft: {\"summary\": \"a\"}\nFinal:\n{\"summary\": \"b\" \"hypothesis\": \"c\"}");
  REQUIRE_FALSE(o.has_value());
  CHECK(o.error().what.starts_with("the JSON object on line 3 is not valid JSON ("));
  CHECK(o.error().what.ends_with("; reply with one valid JSON object"));
  auto single = validate::JsonObject{}("{'summary': 'python dict'}");
  REQUIRE_FALSE(single.has_value());
  CHECK(single.error().what.find("JSON keys and strings need double quotes") != std::string::npos);
  auto bare = validate::JsonObject{}("{summary: \"js object\"}");
  REQUIRE_FALSE(bare.has_value());
  CHECK(bare.error().what.find("JSON keys need double quotes") != std::string::npos);
  auto cut = validate::JsonObject{}("{\"summary\": \"cut off here");
  REQUIRE_FALSE(cut.has_value());
  CHECK(cut.error().what.starts_with("the JSON object on line 1 is never closed (was the answer cut off?)"));
}

TEST_CASE("no JSON object at all names the wanted shape", "[validate][json]") {
  auto o = validate::JsonObject{"{\"summary\": \"...\"}"}("I think we should increase the batch size.");
  REQUIRE_FALSE(o.has_value());
  CHECK(o.error().what == "the answer has no JSON object; reply with one JSON object such as {\"summary\": \"...\"}");
  auto array = validate::JsonObject{}("[1, 2, 3]");
  REQUIRE_FALSE(array.has_value());
}

TEST_CASE("typed fields give one reason per bad key and normalise numbers", "[validate][json]") {
  validate::JsonFields metrics{{{"val_loss", FieldType::number},
                                {"train_time", FieldType::integer},
                                {"note", FieldType::string, false},
                                {"step_avg", FieldType::number, true, true}}};
  auto ok = metrics("The run finished.\n{\"val_loss\": 3, \"train_time\": 2968348.0, \"step_avg\": null, \"extra\": 1}");
  REQUIRE(ok.has_value());
  CHECK(ok->at("val_loss").is_double());
  CHECK(ok->at("train_time").is_int64());
  CHECK(ok->at("train_time").as_int64() == 2968348);
  CHECK(ok->at("step_avg").is_null());
  CHECK(ok->contains("extra"));

  auto bad = metrics("{\"val_loss\": \"3.28\", \"train_time\": 1.5, \"note\": 7}");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().what ==
        "the JSON object does not have the expected keys:\n"
        "- key \"val_loss\": expected a number, got the string \"3.28\"\n"
        "- key \"train_time\": expected an integer, got the number 1.5\n"
        "- key \"note\": expected a string, got the number 7\n"
        "- key \"step_avg\" is missing\n"
        "expected: {\"val_loss\": <number>, \"train_time\": <integer>, \"note\": \"...\", \"step_avg\": <number>}");
  auto no_object = metrics("val_loss 3.28");
  REQUIRE_FALSE(no_object.has_value());
  CHECK(no_object.error().what.ends_with("such as {\"val_loss\": <number>, \"train_time\": <integer>, \"note\": \"...\", \"step_avg\": <number>}"));
}
