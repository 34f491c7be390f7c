// A scripted LanguageModel for tests: canned answers in sequence, and every
// request it received kept for inspection.
#pragma once

#include <speedrunner/llm/model.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace speedrunner::testing {

struct ScriptedModel {
  std::vector<std::string> answers{};     // returned in order
  std::vector<llm::Request> received{};   // every request, in order
  llm::Usage usage_per_call{100, 20, 0};
  double cost_per_call = 0.01;
  llm::FinishReason finish = llm::FinishReason::stop;
  std::size_t next = 0;

  Result<llm::Response> complete(const llm::Request& request) {
    received.push_back(request);
    if (next >= answers.size())
      return fail("scripted model: no answer left for call " + std::to_string(next + 1), "add answers to the script",
                  ExitCode::failure);
    llm::Response r;
    r.text = answers[next++];
    r.usage = usage_per_call;
    r.cost_usd = cost_per_call;
    r.finish = finish;
    r.model = "scripted";
    return r;
  }
};

static_assert(llm::LanguageModel<ScriptedModel>);

}  // namespace speedrunner::testing
