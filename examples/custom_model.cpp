// A model protocol of your own: "toy-complete" is a made-up HTTP API (POST
// /complete with {"system", "prompt"}, answered by {"completion", "tokens_in",
// "tokens_out"}). ToyModel speaks it, so it models llm::LanguageModel and works
// under every agent, validator and decorator of the library. To be
// self-contained the program also serves the API itself on 127.0.0.1.
// Usage: custom_model
#include <speedrunner/agent/agent.hpp>
#include <speedrunner/llm/model.hpp>
#include <speedrunner/validate/code_block.hpp>

#include <boost/json.hpp>
#include <httplib.h>

#include <cstdio>
#include <thread>

namespace sr = speedrunner;
namespace json = boost::json;

class ToyModel {
 public:
  ToyModel(std::string host, int port) : client_(std::move(host), port) {}

  sr::Result<sr::llm::Response> complete(const sr::llm::Request& request) {
    std::string prompt;  // this API takes one prompt: the turns, oldest first
    for (const auto& m : request.messages) prompt += (m.role == sr::llm::Role::user ? "user: " : "assistant: ") + m.content + "\n";
    const auto start = std::chrono::steady_clock::now();
    auto reply = client_.Post("/complete", json::serialize(json::object{{"system", request.system}, {"prompt", prompt}}),
                              "application/json");
    if (!reply)
      return sr::fail("toy-complete: no answer from the server (" + httplib::to_string(reply.error()) + ")",
                      "start the server, or check host and port", sr::ExitCode::failure);
    if (reply->status != 200)
      return sr::fail("toy-complete: HTTP " + std::to_string(reply->status) + ": " + reply->body, "",
                      sr::ExitCode::failure);
    boost::system::error_code ec;
    const auto body = json::parse(reply->body, ec);
    const auto* fields = body.if_object();
    if (ec || !fields || !fields->contains("completion") || !(*fields).at("completion").is_string())
      return sr::fail("toy-complete: the reply is not {\"completion\": ...}: " + reply->body, "", sr::ExitCode::failure);
    sr::llm::Response out;
    out.text = json::value_to<std::string>(fields->at("completion"));
    out.usage.input_tokens = fields->contains("tokens_in") ? fields->at("tokens_in").to_number<std::int64_t>() : 0;
    out.usage.output_tokens = fields->contains("tokens_out") ? fields->at("tokens_out").to_number<std::int64_t>() : 0;
    out.latency = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    out.model = "toy";
    return out;
  }

 private:
  httplib::Client client_;
};
static_assert(sr::llm::LanguageModel<ToyModel>);

int main() {
  // The server: answers in prose first, then with a fenced block, as models do.
  httplib::Server server;
  int calls = 0;
  server.Post("/complete", [&](const httplib::Request&, httplib::Response& res) {
    const std::string answer = ++calls == 1 ? "Sure! The kernel scales each element." 
                                            : "```cuda\n__global__ void scale(float* x, float a) { x[threadIdx.x] *= a; }\n```";
    res.set_content(json::serialize(json::object{{"completion", answer}, {"tokens_in", 12}, {"tokens_out", 9}}),
                    "application/json");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { server.listen_after_bind(); });

  // The agent asks, the validator refuses the prose, the agent asks again with the reason.
  ToyModel model("127.0.0.1", port);
  sr::agent::Agent<ToyModel&> coder(model, "You write CUDA C++.");
  auto kernel = coder.act("Write a kernel that scales a vector.", sr::validate::code_block("cuda"),
                          sr::agent::ValidationRetry{.max_attempts = 3});
  server.stop();
  serving.join();
  if (!kernel) return std::fprintf(stderr, "%s\n", kernel.error().message().c_str()), 1;
  std::printf("after %d calls (%lld tokens in):\n%s", coder.calls(), (long long)coder.usage().input_tokens,
              kernel->c_str());
  return coder.calls() == 2 ? 0 : 1;
}
