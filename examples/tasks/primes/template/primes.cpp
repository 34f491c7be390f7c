// The primes example task: count the primes below --limit and print the count
// and the runtime. A deliberately slow first version: trial division.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

static bool is_prime(long n) {
  if (n < 2) return false;
  for (long d = 2; d * d <= n; ++d)
    if (n % d == 0) return false;
  return true;
}

int main(int argc, char** argv) {
  long limit = 2000000;
  if (argc == 3 && std::strcmp(argv[1], "--limit") == 0) limit = std::atol(argv[2]);
  const auto start = std::chrono::steady_clock::now();
  long count = 0;
  for (long n = 0; n < limit; ++n) count += is_prime(n);
  const double runtime = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("limit: %ld primes: %ld runtime: %.3fs\n", limit, count, runtime);
  return 0;
}
