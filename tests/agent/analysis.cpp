// Tests for include/speedrunner/agent/analysis.hpp: run summaries and the
// fallback metric reader, validated against types and against the log.
#include <speedrunner/agent/analysis.hpp>

#include "catch.hpp"
#include "scripted_model.hpp"
#include "support.hpp"

namespace agent = speedrunner::agent;
using agent::MetricType;
using speedrunner::testing::ScriptedModel;

namespace {
agent::AnalystSettings shipped() {
  agent::AnalystSettings s;
  s.prompt_dir = speedrunner::testing::source_root() / "config/prompts";
  return s;
}

const std::string nanogpt_log =
    "step:0/5100 val_loss:10.8258 train_time:0ms step_avg:nanms\n"
    "step:5000/5100 val_loss:3.2912 train_time:931105ms step_avg:186.22ms\n"
    "step:5100/5100 val_loss:3.2798 train_time:949528ms step_avg:186.18ms\n"
    "peak memory consumption: 22431 MiB\n";

const agent::MetricTypes nanogpt_metrics{
    {"val_loss", MetricType::number}, {"train_time", MetricType::integer}, {"device", MetricType::string}};
}  // namespace

TEST_CASE("a run summary is read from the model's JSON, with the log in the prompt", "[agent][analysis]") {
  ScriptedModel model{.answers = {"The last line shows the target reached.\n"
                                  "{\"goal_met\": true, \"summary\": \"val_loss 3.2798 after 5100 steps in 949.5 s\", "
                                  "\"errors\": []}"}};
  auto analyst = agent::Analyst<ScriptedModel&>::create(model, shipped());
  REQUIRE(analyst.has_value());
  agent::RunReport run{"NanoGPT speedrun, record 5", "val_loss <= 3.28", nanogpt_log, 0, false};
  auto s = analyst->summarize(run);
  REQUIRE(s.has_value());
  CHECK(s->goal_met);
  CHECK(s->summary == "val_loss 3.2798 after 5100 steps in 949.5 s");
  CHECK(s->errors.empty());
  const auto& prompt = model.received.at(0).messages.at(0).content;
  CHECK(prompt.find("step:5100/5100 val_loss:3.2798") != std::string::npos);
  CHECK(prompt.find("val_loss <= 3.28") != std::string::npos);
  CHECK(prompt.find("exit status: 0") != std::string::npos);
}

TEST_CASE("a failed run's summary names its errors and a long log is cut in the middle", "[agent][analysis]") {
  ScriptedModel model{.answers = {"{\"goal_met\": true, \"summary\": \"\", \"errors\": []}",
                                  "{\"goal_met\": false, \"summary\": \"crashed at step 12\", \"errors\": "
                                  "[\"CUDA error: out of memory\"]}"}};
  auto settings = shipped();
  settings.max_log_chars = 300;
  auto analyst = agent::Analyst<ScriptedModel&>::create(model, settings);
  REQUIRE(analyst.has_value());
  std::string log = "start\n" + std::string(5000, '.') + "\nCUDA error: out of memory\n";
  auto s = analyst->summarize({"task", "val_loss <= 3.28", log, 1, false});
  REQUIRE(s.has_value());
  CHECK_FALSE(s->goal_met);
  CHECK(s->errors == std::vector<std::string>{"CUDA error: out of memory"});
  const auto& prompt = model.received.at(0).messages.at(0).content;
  CHECK(prompt.find("start\n") != std::string::npos);
  CHECK(prompt.find("CUDA error: out of memory") != std::string::npos);
  CHECK(prompt.find("characters cut ...]") != std::string::npos);
  CHECK(prompt.find(std::string(400, '.')) == std::string::npos);
  CHECK(model.received.at(1).messages.at(2).content.find("the \"summary\" is empty") != std::string::npos);
}

TEST_CASE("a timed-out run is described as such", "[agent][analysis]") {
  ScriptedModel model{.answers = {"{\"goal_met\": false, \"summary\": \"timed out\", \"errors\": []}"}};
  auto analyst = agent::Analyst<ScriptedModel&>::create(model, shipped());
  REQUIRE(analyst.has_value());
  REQUIRE(analyst->summarize({"task", "", "", -1, true}).has_value());
  const auto& prompt = model.received.at(0).messages.at(0).content;
  CHECK(prompt.find("exit status: killed after the time limit") != std::string::npos);
  CHECK(prompt.find("(the run printed nothing)") != std::string::npos);
  CHECK(prompt.find("(no goal stated)") != std::string::npos);
}

TEST_CASE("metrics are read into the task's types, absent ones left out", "[agent][analysis][metrics]") {
  ScriptedModel model{.answers = {"Final line:\n```json\n{\"val_loss\": 3.2798, \"train_time\": 949528, \"device\": null}\n```"}};
  auto analyst = agent::Analyst<ScriptedModel&>::create(model, shipped());
  REQUIRE(analyst.has_value());
  auto m = analyst->read_metrics(nanogpt_log, nanogpt_metrics);
  REQUIRE(m.has_value());
  CHECK(std::get<double>(m->at("val_loss")) == 3.2798);
  CHECK(std::get<std::int64_t>(m->at("train_time")) == 949528);
  CHECK_FALSE(m->contains("device"));
  const auto& prompt = model.received.at(0).messages.at(0).content;
  CHECK(prompt.find("- train_time: an integer\n") != std::string::npos);
  CHECK(prompt.find("{\"device\": \"...\", \"train_time\": <integer>, \"val_loss\": <number>}") != std::string::npos);
}

TEST_CASE("a metric value the log never printed is refused and asked again", "[agent][analysis][metrics]") {
  ScriptedModel model{.answers = {"{\"val_loss\": 3.28, \"train_time\": 949.528, \"device\": \"H100\"}",
                                  "{\"val_loss\": 3.28, \"train_time\": 949528, \"device\": null}",
                                  "{\"val_loss\": 3.2798, \"train_time\": 949528, \"device\": null}"}};
  auto analyst = agent::Analyst<ScriptedModel&>::create(model, shipped());
  REQUIRE(analyst.has_value());
  auto m = analyst->read_metrics(nanogpt_log, nanogpt_metrics);
  REQUIRE(m.has_value());
  CHECK(std::get<double>(m->at("val_loss")) == 3.2798);
  REQUIRE(model.received.size() == 3);
  CHECK(model.received[1].messages.at(2).content.find(
            "key \"train_time\": expected an integer or null, got the number 949.528") != std::string::npos);
  CHECK(model.received[2].messages.at(4).content.find(
            "these values do not appear in the log: val_loss = 3.28; copy each value exactly") != std::string::npos);
}

TEST_CASE("with the log check off, converted values are accepted", "[agent][analysis][metrics]") {
  ScriptedModel model{.answers = {"{\"val_loss\": 3.28, \"train_time\": 950000, \"device\": \"H100\"}"}};
  auto settings = shipped();
  settings.values_must_appear_in_log = false;
  auto analyst = agent::Analyst<ScriptedModel&>::create(model, settings);
  REQUIRE(analyst.has_value());
  auto m = analyst->read_metrics(nanogpt_log, nanogpt_metrics);
  REQUIRE(m.has_value());
  CHECK(std::get<std::string>(m->at("device")) == "H100");
}

TEST_CASE("no metric types is an error before any model call", "[agent][analysis][metrics]") {
  ScriptedModel model;
  auto analyst = agent::Analyst<ScriptedModel&>::create(model, shipped());
  REQUIRE(analyst.has_value());
  auto m = analyst->read_metrics(nanogpt_log, {});
  REQUIRE_FALSE(m.has_value());
  CHECK(model.received.empty());
}

TEST_CASE("numbers are found in log lines however they are glued to units", "[agent][analysis]") {
  auto n = agent::detail::numbers_in("step:5100/5100 val_loss:3.2798 step_avg:186.18ms lr=1e-3 delta -0.5 v_0");
  CHECK(n == std::vector<double>{5100, 5100, 3.2798, 186.18, 1e-3, -0.5, 0});
}
