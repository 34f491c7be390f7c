// Collatz task: find the start value below --limit with the longest Collatz
// chain, within --budget-s seconds, and print the result as one metrics line.
// A deliberately plain first version: every chain is walked from scratch.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

static int collatz_steps(std::uint64_t n) {
  int steps = 0;
  while (n != 1) {
    if (n % 2 == 0) n = n / 2;
    else n = 3 * n + 1;
    ++steps;
  }
  return steps;
}

int main(int argc, char** argv) {
  std::uint64_t limit = 10'000'000;
  double budget_s = 60;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--limit") == 0) limit = std::strtoull(argv[i + 1], nullptr, 10);
    else if (std::strcmp(argv[i], "--budget-s") == 0) budget_s = std::strtod(argv[i + 1], nullptr);
  }
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };

  std::uint64_t best_start = 1;
  int max_steps = 0;
  for (std::uint64_t i = 1; i < limit; ++i) {
    // The budget is checked every 4096 values: the search stops where it got to.
    if (i % 4096 == 0 && elapsed() > budget_s) break;
    const int steps = collatz_steps(i);
    if (steps > max_steps) {
      max_steps = steps;
      best_start = i;
    }
  }
  std::printf("limit: %llu start_value: %llu max_steps: %d runtime: %.3fs\n",
              static_cast<unsigned long long>(limit), static_cast<unsigned long long>(best_start), max_steps,
              elapsed());
  return 0;
}
