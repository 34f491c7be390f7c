// Collatz task: find the start value below --limit with the longest Collatz
// chain, spending at most --budget-steps chain steps in total (a measure of
// work that is the same on every machine), and print one metrics line.
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
  std::uint64_t limit = 10000000;
  std::uint64_t budget_steps = 200000000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--limit") == 0) limit = std::strtoull(argv[i + 1], nullptr, 10);
    else if (std::strcmp(argv[i], "--budget-steps") == 0) budget_steps = std::strtoull(argv[i + 1], nullptr, 10);
  }
  const auto start = std::chrono::steady_clock::now();

  std::uint64_t best_start = 1, spent = 0;
  int max_steps = 0;
  for (std::uint64_t i = 1; i < limit; ++i) {
    const int steps = collatz_steps(i);
    spent += static_cast<std::uint64_t>(steps);
    if (spent > budget_steps) break;  // out of budget: report what was found so far
    if (steps > max_steps) {
      max_steps = steps;
      best_start = i;
    }
  }
  const double runtime = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("limit: %llu start_value: %llu max_steps: %d runtime: %.3fs\n",
              static_cast<unsigned long long>(limit), static_cast<unsigned long long>(best_start), max_steps,
              runtime);
  return 0;
}
