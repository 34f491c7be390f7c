// Tests of include/speedrunner/exec/log.hpp: head-and-tail cutting of logs for prompts.
#include <speedrunner/exec/log.hpp>

#include "catch.hpp"

TEST_CASE("a long log keeps its head and its tail with a marker between", "[exec][log]") {
  std::string log = "START" + std::string(1000, 'x') + "Traceback: the error";
  auto cut = speedrunner::exec::head_and_tail(log, 90);
  CHECK(cut.rfind("START", 0) == 0);
  CHECK(cut.find("Traceback: the error") != std::string::npos);
  CHECK(cut.find("characters cut") != std::string::npos);
  CHECK(cut.size() < 140);
  CHECK(speedrunner::exec::head_and_tail("short", 90) == "short");
}
