// Tests for include/speedrunner/llm/budget.hpp: the run Budget and Budgeted<M>.
#include <speedrunner/llm/budget.hpp>

#include <atomic>
#include <thread>

#include "catch.hpp"

using namespace speedrunner::llm;
using speedrunner::ExitCode;
using speedrunner::Result;

namespace {

// Answers every call with a fixed usage, priced like a provider would.
struct Priced {
  Usage usage{100, 900, 0};
  Price price{10.0, 10.0, std::nullopt};
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  Result<Response> complete(const Request&) {
    ++*calls;
    Response r;
    r.text = "ok";
    r.usage = usage;
    r.cost_usd = cost_usd(usage, price);
    return r;
  }
};

Request ask(std::string agent) {
  Request r;
  r.agent = std::move(agent);
  r.system = std::string(150, 's');
  r.messages = {{Role::user, std::string(150, 'u')}};
  r.params.max_tokens = 1000;
  return r;
}

}  // namespace

TEST_CASE("Budgeted refuses the call that would exceed budget.usd, before making it", "[llm][budget]") {
  STATIC_REQUIRE(LanguageModel<Budgeted<Priced>>);
  auto budget = std::make_shared<Budget>(BudgetLimits{0.035, std::nullopt});
  Priced inner;
  auto calls = inner.calls;
  Budgeted<Priced> model(inner, budget, inner.price, "o3-mini");
  // Each call costs $0.01 (1000 tokens at $10/M); the estimate is about $0.0112 (118 input + 1000 output tokens).
  CHECK(model.complete(ask("ideator")));
  CHECK(model.complete(ask("coder")));
  CHECK(model.complete(ask("coder")));
  auto stopped = model.complete(ask("coder"));
  REQUIRE_FALSE(stopped);
  CHECK(*calls == 3);  // the refused call never reached the model
  CHECK(stopped.error().code == ExitCode::budget);
  CHECK(stopped.error().kind == "budget");
  CHECK_FALSE(stopped.error().retryable);
  CHECK(stopped.error().what.starts_with("run budget reached: the next call of the coder to o3-mini (about $0.0112)"));
  CHECK(stopped.error().what.find("over budget.usd = $0.0350 (spent $0.0300 and 3000 tokens in 3 calls)") !=
        std::string::npos);
  CHECK(stopped.error().fix.find("speedrun resume RUN_DIR budget.usd=") != std::string::npos);

  auto total = budget->total();
  CHECK(total.usd == Approx(0.03));
  CHECK(total.calls == 3);
  CHECK(total.tokens() == 3000);
  auto per = budget->per_agent();
  CHECK(per["ideator"].calls == 1);
  CHECK(per["coder"].calls == 2);
  CHECK(per["coder"].usd == Approx(0.02));
}

TEST_CASE("budget.tokens stops a run too, and a resumed run counts what it spent", "[llm][budget]") {
  auto budget = std::make_shared<Budget>(BudgetLimits{std::nullopt, 5000});
  budget->restore(Spend{0.5, Usage{2000, 1000, 0}, 4});
  Priced inner;
  Budgeted<Priced> model(inner, budget, inner.price, "gpt-4o");
  CHECK(model.complete(ask("coder")));  // 3000 spent + ~1116 estimated <= 5000
  auto stopped = model.complete(ask("coder"));
  REQUIRE_FALSE(stopped);
  CHECK(stopped.error().what.find("over budget.tokens = 5000") != std::string::npos);
  CHECK(budget->total().calls == 5);
}

TEST_CASE("parallel agents cannot overshoot the budget together", "[llm][budget]") {
  auto budget = std::make_shared<Budget>(BudgetLimits{0.2, std::nullopt});
  Priced inner;
  auto calls = inner.calls;
  Budgeted<Priced> model(inner, budget, inner.price, "gpt-4o");
  std::atomic<int> refused{0};
  std::vector<std::thread> agents;
  for (int t = 0; t < 8; ++t)
    agents.emplace_back([&, t] {
      auto m = model;  // copies share the budget
      for (int i = 0; i < 10; ++i)
        if (!m.complete(ask("agent" + std::to_string(t)))) ++refused;
    });
  for (auto& a : agents) a.join();
  CHECK(budget->total().usd <= 0.2 + 1e-12);
  CHECK(*calls >= 17);  // 0.2 / 0.0111 estimated: at least 17 fit, never 21
  CHECK(*calls <= 20);
  CHECK(refused == 80 - *calls);
}

TEST_CASE("a failed call costs nothing and releases its reservation", "[llm][budget]") {
  Budget budget(BudgetLimits{0.02, std::nullopt});
  auto r = budget.reserve("coder", "m", 0.015, 10);
  REQUIRE(r);
  CHECK_FALSE(budget.reserve("coder", "m", 0.015, 10));  // both would not fit
  budget.settle(*r, "coder", nullptr);
  CHECK(budget.total().calls == 0);
  CHECK(budget.reserve("coder", "m", 0.015, 10));
}
