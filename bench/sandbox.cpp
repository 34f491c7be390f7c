// The sandbox's cost per node (exec/sandbox.hpp): the same jobs through the
// local executor with executor.sandbox=off and =bwrap, alternating, one at a
// time; prints the median wall time of each and the difference.
//   build/bench/sandbox [N=20] [COMMAND='true']   (run in a scratch folder)
// COMMAND runs in a fresh folder per job; e.g. the collatz demo's build and run:
//   build/bench/sandbox 5 'cp -r /path/to/workspace_templates/collatz/. . && ./run.sh'
// (the sandbox sees only the job's folder, so the copy source must be readable:
// put it under /usr or /opt, or pass the folder with SR_BENCH_READ_ONLY=DIR).
#include <speedrunner/exec/local.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace ex = speedrunner::exec;
namespace fs = std::filesystem;

namespace {

double run_once(ex::Local& local, const fs::path& dir, const std::string& command) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  ex::JobSpec spec{"bench", dir, command, std::chrono::minutes(10), {}, {}};
  const auto start = std::chrono::steady_clock::now();
  auto h = local.submit(spec);
  if (!h) {
    std::fprintf(stderr, "%s\n", h.error().message().c_str());
    std::exit(1);
  }
  for (;;) {
    if (auto r = local.poll(*h)) {
      if (!r->succeeded()) {
        std::fprintf(stderr, "the job failed: %s (see %s)\n", r->describe().c_str(), r->stderr_path.c_str());
        std::exit(1);
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 20;
  const std::string command = argc > 2 ? argv[2] : "true";
  ex::LocalOptions off, on;
  off.sandbox.kind = ex::SandboxKind::off;
  if (const char* ro = std::getenv("SR_BENCH_READ_ONLY")) on.sandbox.read_only = {ro};
  ex::Local unconfined(off), sandboxed(on);
  const fs::path dir = fs::absolute("sandbox_bench_job");
  run_once(sandboxed, dir, "true");  // the one-time check of bwrap, outside the timing
  std::vector<double> t_off, t_on;
  for (int i = 0; i < n; ++i) {
    t_off.push_back(run_once(unconfined, dir, command));
    t_on.push_back(run_once(sandboxed, dir, command));
  }
  fs::remove_all(dir);
  const double a = median(t_off), b = median(t_on);
  std::printf("command: %s\njobs: %d each, alternating\n", command.c_str(), n);
  std::printf("median wall per job: sandbox off %.1f ms, bwrap %.1f ms; overhead %.1f ms per node\n", a * 1e3,
              b * 1e3, (b - a) * 1e3);
}
