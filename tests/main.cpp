// Test runner shared by every test executable: Catch2's session plus a
// listener that appends this run's test-case tally to $SPEEDRUNNER_TEST_TALLY,
// which scripts/test sums into the suite's closing line.
#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
#include <catch2/reporters/catch_reporter_event_listener.hpp>
#include <catch2/reporters/catch_reporter_registrars.hpp>
using ListenerBase = Catch::EventListenerBase;
#else
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
using ListenerBase = Catch::TestEventListenerBase;
#endif

#include <cstdio>
#include <cstdlib>

namespace {

struct Tally : ListenerBase {
  using ListenerBase::ListenerBase;
  void testRunEnded(const Catch::TestRunStats& stats) override {
    const char* path = std::getenv("SPEEDRUNNER_TEST_TALLY");
    if (path != nullptr && *path != '\0') {
      if (std::FILE* f = std::fopen(path, "w")) {
        const auto& t = stats.totals.testCases;
        unsigned long long skipped = 0;
#if CATCH_VERSION_MAJOR > 3 || (CATCH_VERSION_MAJOR == 3 && CATCH_VERSION_MINOR >= 3)
        skipped = t.skipped;  // SKIP() exists from Catch2 3.3 on
#endif
        std::fprintf(f, "passed %llu\nfailed %llu\nskipped %llu\n",
                     static_cast<unsigned long long>(t.passed + t.failedButOk),
                     static_cast<unsigned long long>(t.failed), skipped);
        std::fclose(f);
      }
    }
    ListenerBase::testRunEnded(stats);
  }
};

}  // namespace

CATCH_REGISTER_LISTENER(Tally)

int main(int argc, char* argv[]) { return Catch::Session().run(argc, argv); }
