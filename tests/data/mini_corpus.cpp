// Tests of include/speedrunner/data/mini_corpus.hpp: the source list and the
// package list scripts/setup --mini-corpus installs agree.
#include <speedrunner/data/mini_corpus.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <fstream>
#include <sstream>

TEST_CASE("scripts/setup --mini-corpus installs every package the mini corpus reads", "[data][mini]") {
  std::ifstream in(speedrunner::testing::source_root() / "scripts/setup");
  std::stringstream text;
  text << in.rdbuf();
  const std::string setup = text.str();
  const auto start = setup.find("mini_packages=(");
  REQUIRE(start != std::string::npos);
  const std::string list = setup.substr(start, setup.find(')', start) - start) + " ";
  for (const auto& package : speedrunner::data::mini_packages()) {
    INFO(package);
    CHECK((list.find(" " + package + " ") != std::string::npos || list.find("(" + package + " ") != std::string::npos ||
           list.find("\n" + package + " ") != std::string::npos || list.find(" " + package + "\n") != std::string::npos));
  }
}

TEST_CASE("every mini corpus source is an absolute glob owned by a named package", "[data][mini]") {
  for (const auto& s : speedrunner::data::mini_sources) {
    CHECK(!s.package.empty());
    CHECK(s.pattern.starts_with("/usr/share/"));
  }
  CHECK(speedrunner::data::mini_min_tokens == 40'000'000);
}
