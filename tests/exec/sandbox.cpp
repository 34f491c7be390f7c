// Tests of include/speedrunner/exec/sandbox.hpp through the local executor: node
// programs that try to escape (write outside their folder, read planted secrets
// and the environment, reach a server on 127.0.0.1, leave a daemon behind, fill
// the disk, ignore SIGTERM) are stopped or confined, and the same programs run
// unconfined show that each check can fail. Runs as root in CI, so confinement
// must not lean on file permissions.
#include <speedrunner/exec/local.hpp>
#include <speedrunner/exec/slurm.hpp>
#include <speedrunner/workspace/atomic_file.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <atomic>
#include <fstream>
#include <map>
#include <thread>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

namespace ex = speedrunner::exec;
using speedrunner::testing::TempDir;
using speedrunner::workspace::read_file;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

ex::JobResult wait(ex::Local& local, const ex::JobHandle& h, std::chrono::seconds limit = 30s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto r = local.poll(h)) return *r;
    std::this_thread::sleep_for(5ms);
  }
  FAIL("the job did not finish in time");
  return {};
}

ex::JobResult run_job(ex::Local& local, const fs::path& dir, std::string command, std::chrono::milliseconds timeout = 20s) {
  ex::JobSpec s;
  s.name = "v_1";
  s.dir = dir;
  s.command = std::move(command);
  s.timeout = timeout;
  auto h = local.submit(s);
  REQUIRE(h.has_value());
  return wait(local, *h);
}

std::string text(const fs::path& p) { return read_file(p).value_or(""); }

ex::LocalOptions unconfined() {
  ex::LocalOptions o;
  o.sandbox.kind = ex::SandboxKind::off;
  return o;
}

// A run folder as the runner leaves it: a journal, another version, a secret
// beside them, and the version folder the node runs in.
struct RunFolder {
  TempDir root{"sr-sandbox"};
  fs::path version = root.path() / "v_1";
  RunFolder() {
    fs::create_directories(version);
    fs::create_directories(root.path() / "v_0");
    std::ofstream(root.path() / "journal.json") << "{\"nodes\": []}\n";
    std::ofstream(root.path() / "secret.txt") << "planted-secret-4711\n";
    std::ofstream(root.path() / "v_0" / "code.txt") << "the parent's code\n";
  }
  // Every file outside the version folder with its content, and every folder.
  [[nodiscard]] std::map<std::string, std::string> outside() const {
    std::map<std::string, std::string> files;
    for (auto it = fs::recursive_directory_iterator(root.path()); it != fs::recursive_directory_iterator(); ++it) {
      if (it->path() == version) {
        it.disable_recursion_pending();
        continue;
      }
      files[it->path().string()] = it->is_regular_file() ? text(it->path()) : std::string("<dir>");
    }
    return files;
  }
};

// A TCP server on 127.0.0.1 that counts the connections it accepts.
class CountingServer {
 public:
  CountingServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t n = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &n);
    port_ = ntohs(a.sin_port);
    ::listen(fd_, 8);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) > 0) {
          const int c = ::accept(fd_, nullptr, nullptr);
          if (c >= 0) {
            ++accepted_;
            ::close(c);
          }
        }
      }
    });
  }
  ~CountingServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] int accepted() const { return accepted_; }

 private:
  int fd_ = -1, port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// Whether a heartbeat file still grows: a process left behind appends to it.
bool still_beating(const fs::path& beat) {
  std::error_code ec;
  const auto before = fs::exists(beat, ec) ? fs::file_size(beat, ec) : 0;
  std::this_thread::sleep_for(600ms);
  const auto after = fs::exists(beat, ec) ? fs::file_size(beat, ec) : 0;
  return after != before;
}

// The escape attempts of one node program, each leaving what it saw in a file
// of its folder. PORT is the counting server's.
std::string escape_program(int port, const fs::path& root) {
  const std::string r = root.string();
  return "echo pwned > ../escape.txt; echo pwned > ../v_0/code.txt; echo '{}' > ../journal.json; "
         "echo pwned > '" + r + "/abs_escape.txt'; "
         "echo pwned > /tmp/sr-sandbox-escape-" + std::to_string(port) + "; "
         "mkdir -p /root/sr-sandbox-escape && echo made-root-dir; touch /sr-new-file && echo touched-root; "
         "cat ../secret.txt '" + r + "/secret.txt' /etc/shadow > seen_files 2>&1; rm -f '" + r + "/secret.txt'; "
         "env > seen_env; "
         "grep CapEff /proc/self/status > seen_caps; "
         "(unshare -Ur true && echo nested-userns-ok) > seen_userns 2>&1; "
         "bash -c 'exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(port) + " && echo connected' > seen_net 2>&1; "
         "exit 0";
}

}  // namespace

TEST_CASE("the sandbox is on by default for both executors", "[exec][sandbox]") {
  CHECK(ex::LocalOptions{}.sandbox.kind == ex::SandboxKind::bwrap);
  CHECK(ex::SlurmOptions{}.sandbox.kind == ex::SandboxKind::bwrap);
}

TEST_CASE("a node sees only its folder: writes outside, planted secrets, keys and the network are out of reach",
          "[exec][sandbox]") {
  RunFolder run;
  CountingServer server;
  ::setenv("OPENAI_API_KEY", "sk-planted-key-0815", 1);
  ::setenv("SR_TEST_ACCESS_TOKEN", "planted-token-0816", 1);
  const auto before = run.outside();

  ex::Local local;
  auto r = run_job(local, run.version, escape_program(server.port(), run.root.path()));
  ::unsetenv("OPENAI_API_KEY");
  ::unsetenv("SR_TEST_ACCESS_TOKEN");
  INFO(text(r.stderr_path));
  CHECK(r.exit_code == 0);
  // nothing outside the version folder changed, not even through absolute paths
  CHECK(run.outside() == before);
  CHECK_FALSE(fs::exists("/tmp/sr-sandbox-escape-" + std::to_string(server.port())));
  CHECK_FALSE(fs::exists("/root/sr-sandbox-escape"));
  CHECK_FALSE(fs::exists("/sr-new-file"));
  const std::string out = text(r.stdout_path);
  CHECK(out.find("made-root-dir") == std::string::npos);
  CHECK(out.find("touched-root") == std::string::npos);
  // neither the planted secret nor the machine's password hashes were readable
  const std::string files = text(run.version / "seen_files");
  CHECK(files.find("planted-secret-4711") == std::string::npos);
  CHECK(files.find("root:") == std::string::npos);
  // the environment has no credentials, and TMPDIR and HOME point into the sandbox
  const std::string env = text(run.version / "seen_env");
  CHECK(env.find("sk-planted-key-0815") == std::string::npos);
  CHECK(env.find("planted-token-0816") == std::string::npos);
  CHECK(env.find("TMPDIR=/tmp\n") != std::string::npos);
  // no capabilities even as root, and no way to get them back in a nested namespace
  CHECK(text(run.version / "seen_caps") == "CapEff:\t0000000000000000\n");
  CHECK(text(run.version / "seen_userns").find("nested-userns-ok") == std::string::npos);
  // no network: the server on 127.0.0.1 saw nobody
  CHECK(text(run.version / "seen_net").find("connected") == std::string::npos);
  CHECK(server.accepted() == 0);
}

TEST_CASE("unconfined, the same node program escapes, so the checks above can fail", "[exec][sandbox]") {
  RunFolder run;
  CountingServer server;
  ::setenv("OPENAI_API_KEY", "sk-planted-key-0815", 1);
  ex::Local local(unconfined());
  auto r = run_job(local, run.version, escape_program(server.port(), run.root.path()));
  ::unsetenv("OPENAI_API_KEY");
  const fs::path tmp_escape = "/tmp/sr-sandbox-escape-" + std::to_string(server.port());
  CHECK(fs::exists(tmp_escape));
  fs::remove(tmp_escape);
  fs::remove_all("/root/sr-sandbox-escape");
  fs::remove("/sr-new-file");
  CHECK(text(run.root.path() / "escape.txt") == "pwned\n");
  CHECK(text(run.root.path() / "journal.json") == "{}\n");
  CHECK(text(run.version / "seen_files").find("planted-secret-4711") != std::string::npos);
  CHECK(text(run.version / "seen_net").find("connected") != std::string::npos);
  CHECK(server.accepted() == 1);
  // provider keys are removed from a node's environment with the sandbox off too
  CHECK(text(run.version / "seen_env").find("sk-planted-key-0815") == std::string::npos);
}

TEST_CASE("a task that asks for the network gets it, and only then", "[exec][sandbox]") {
  RunFolder run;
  CountingServer server;
  ex::LocalOptions o;
  o.sandbox.network = true;
  ex::Local local(o);
  auto r = run_job(local, run.version,
               "bash -c 'exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(server.port()) + " && echo connected'");
  INFO(text(r.stderr_path));
  CHECK(text(r.stdout_path) == "connected\n");
  CHECK(server.accepted() == 1);
}

TEST_CASE("a daemon a node leaves behind dies with it, even in a session of its own", "[exec][sandbox]") {
  RunFolder run;
  // setsid leaves the job's process group and session; the double fork leaves its parent.
  const std::string daemon =
      "setsid sh -c '(trap \"\" TERM HUP; echo $$ > daemon_pid; while :; do echo x >> beat; sleep 0.05; done) &' "
      "</dev/null >/dev/null 2>&1; sleep 0.3; echo started";
  {
    ex::Local local;
    auto r = run_job(local, run.version, daemon);
    CHECK(text(r.stdout_path) == "started\n");
    CHECK(r.exit_code == 0);
    CHECK(fs::exists(run.version / "beat"));
    CHECK_FALSE(still_beating(run.version / "beat"));
  }
  // Unconfined, the same daemon survives the job (and this test stops it).
  fs::remove(run.version / "beat");
  ex::Local local(unconfined());
  auto r = run_job(local, run.version, daemon);
  CHECK(r.exit_code == 0);
  const bool survived = still_beating(run.version / "beat");
  std::ifstream in(run.version / "daemon_pid");
  pid_t pid = 0;
  in >> pid;
  // $$ is the setsid shell: the looping subshell is in its process group, so kill the group
  if (pid > 0) ::kill(-pid, SIGKILL);
  CHECK(survived);
}

TEST_CASE("a node that ignores SIGTERM is killed at its time limit with all it started", "[exec][sandbox][timeout]") {
  RunFolder run;
  ex::LocalOptions o;
  o.kill_grace = 300ms;
  ex::Local local(o);
  const auto start = std::chrono::steady_clock::now();
  auto r = run_job(local, run.version,
               "trap '' TERM; setsid sh -c 'trap \"\" TERM; while :; do echo x >> beat2; sleep 0.05; done' & "
               "while :; do echo x >> beat; sleep 0.05; done",
               4s);  // time for the sandbox to start on a loaded machine, so both loops run at the limit
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(r.timed_out);
  CHECK(took < 15.0);
  CHECK(fs::exists(run.version / "beat"));
  CHECK(fs::exists(run.version / "beat2"));
  CHECK_FALSE(still_beating(run.version / "beat"));
  CHECK_FALSE(still_beating(run.version / "beat2"));
}

TEST_CASE("SIGTERM at the time limit reaches the command inside the sandbox first", "[exec][sandbox][timeout]") {
  RunFolder run;
  ex::LocalOptions o;
  o.kill_grace = 20s;
  ex::Local local(o);
  const auto start = std::chrono::steady_clock::now();
  // 3 s: time for the sandbox to start on a loaded machine, so the command is running at the limit
  auto r = run_job(local, run.version, "trap 'echo got-term; exit 7' TERM; while :; do sleep 0.05; done", 3s);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO(r.describe() << "\n" << text(r.stderr_path));
  CHECK(r.timed_out);
  CHECK(took < 15.0);  // it ended on SIGTERM, well before the SIGKILL at 23 s
  CHECK(text(r.stdout_path) == "got-term\n");
}

TEST_CASE("a node cannot fill the disk: files, logs and /tmp are capped", "[exec][sandbox][limits]") {
  RunFolder run;
  ex::LocalOptions o;
  o.sandbox.limits.file_mb = 1;
  o.sandbox.limits.tmp_mb = 2;
  o.max_log_bytes = 1024 * 1024;
  ex::Local local(o);
  // one big file in the folder
  auto big = run_job(local, run.version, "head -c 5000000 /dev/zero > big; echo status $?");
  CHECK(fs::file_size(run.version / "big") == 1024 * 1024);
  CHECK(text(big.stdout_path).find("status 0") == std::string::npos);
  // a log that never stops: the runner's keeper caps it (executor.max_log_mb), keeping head and tail
  auto flood = run_job(local, run.version, "yes flood-line-of-text", 2s);
  CHECK(flood.timed_out);
  CHECK(fs::file_size(flood.stdout_path) <= 1024 * 1024 + 200);
  CHECK(text(flood.stdout_path).find("bytes of this log here") != std::string::npos);
  // many files in the private /tmp
  auto tmp = run_job(local, run.version,
                 "for i in 1 2 3 4; do head -c 900000 /dev/zero > /tmp/f$i || { echo full at $i; exit 3; }; done");
  CHECK(tmp.exit_code == 3);
  CHECK(text(tmp.stdout_path) == "full at 3\n");
  // the runner's side is unaffected: the next job runs normally
  auto next = run_job(local, run.version, "echo fine");
  CHECK(next.exit_code == 0);
  CHECK(text(next.stdout_path) == "fine\n");
}

TEST_CASE("a node whose files add up past its disk limit is stopped, in the sandbox or not", "[exec][sandbox][limits]") {
  for (const auto kind : {ex::SandboxKind::bwrap, ex::SandboxKind::off}) {
    INFO((kind == ex::SandboxKind::bwrap ? "bwrap" : "off"));
    RunFolder run;
    const auto before = run.outside();
    ex::LocalOptions o;
    o.sandbox.kind = kind;
    o.sandbox.limits.disk_mb = 3;
    o.kill_grace = 300ms;
    ex::Local local(o);
    const auto start = std::chrono::steady_clock::now();
    // files of 500 kB each, under every per-file limit, ignoring SIGTERM
    auto r = run_job(local, run.version,
                     "trap '' TERM; i=0; while :; do head -c 500000 /dev/zero > f$i; i=$((i+1)); sleep 0.02; done", 60s);
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    INFO(r.describe());
    CHECK_FALSE(r.succeeded());
    CHECK_FALSE(r.timed_out);
    CHECK(r.aborted == "its folder holds more than its disk limit of 3 MB (executor.limits.disk_mb); raise the limit, "
                       "or keep large outputs out of the version folder");
    CHECK(took < 20.0);
    CHECK(fs::exists(run.version / "f6"));  // 3.5 MB written before it was stopped
    CHECK(ex::folder_bytes(run.version) < 60u * 1024 * 1024);
    auto files = [&] { return std::distance(fs::directory_iterator(run.version), fs::directory_iterator{}); };
    const auto n = files();
    std::this_thread::sleep_for(600ms);
    CHECK(files() == n);  // nothing of it goes on writing
    CHECK(run.outside() == before);
    // the executor's side is unaffected: a small job in a fresh folder runs
    fs::create_directories(run.root.path() / "v_2");
    auto next = run_job(local, run.root.path() / "v_2", "echo fine");
    CHECK(next.succeeded());
  }
  // the measure: allocated bytes, hard links once, and an early stop past a bound
  TempDir dir;
  std::ofstream(dir.path() / "a", std::ios::binary) << std::string(100000, 'a');
  fs::create_hard_link(dir.path() / "a", dir.path() / "b");
  const auto one = ex::folder_bytes(dir.path());
  CHECK(one >= 100000);
  CHECK(one < 120000);
  CHECK(ex::DiskQuota(0).check(dir.path(), true) == std::nullopt);
  CHECK(ex::DiskQuota(1).check(dir.path(), true) == std::nullopt);
}

TEST_CASE("the process and open-file limits are set inside the sandbox", "[exec][sandbox][limits]") {
  RunFolder run;
  ex::LocalOptions o;
  o.sandbox.limits.processes = 300;
  o.sandbox.limits.open_files = 128;
  o.sandbox.limits.memory_mb = 2048;
  ex::Local local(o);
  auto r = run_job(local, run.version, "grep -E '^Max (processes|open files|address space)' /proc/self/limits");
  const std::string limits = text(r.stdout_path);
  INFO(limits);
  CHECK(limits.find("Max processes             300 ") != std::string::npos);
  CHECK(limits.find("Max open files            128 ") != std::string::npos);
  CHECK(limits.find("Max address space         2147483648 ") != std::string::npos);
}

TEST_CASE("the toolchain works inside: a C++ program is compiled and run in the folder", "[exec][sandbox]") {
  RunFolder run;
  std::ofstream(run.version / "hello.cpp") << "#include <cstdio>\nint main() { std::puts(\"hello from inside\"); }\n";
  ex::Local local;
  auto r = run_job(local, run.version, "c++ -O1 -o hello hello.cpp && ./hello");
  INFO(text(r.stderr_path));
  CHECK(r.exit_code == 0);
  CHECK(text(r.stdout_path) == "hello from inside\n");
}

TEST_CASE("read-only and writable paths from the options are the only other host paths seen", "[exec][sandbox]") {
  RunFolder run;
  TempDir data("sr-data"), cache("sr-cache");
  std::ofstream(data.path() / "shard.bin") << "tokens";
  ex::LocalOptions o;
  o.sandbox.read_only = {data.path().string()};
  o.sandbox.writable = {cache.path().string()};
  ex::Local local(o);
  const std::string d = data.path().string(), c = cache.path().string();
  auto r = run_job(local, run.version,
               "cat '" + d + "/shard.bin'; echo; echo x > '" + d + "/new' || echo data-read-only; "
               "echo cached > '" + c + "/obj' && echo cache-written");
  CHECK(text(r.stdout_path) == "tokens\ndata-read-only\ncache-written\n");
  CHECK_FALSE(fs::exists(data.path() / "new"));
  CHECK(text(cache.path() / "obj") == "cached\n");

  // a path given through a link shows the real folder at the path given (as a task's env names it)
  TempDir links("sr-links");
  fs::create_directory_symlink(data.path(), links.path() / "data");
  ex::LocalOptions via_link;
  via_link.sandbox.read_only = {(links.path() / "data").string()};
  ex::Local linked(via_link);
  auto l = run_job(linked, run.version, "cat '" + (links.path() / "data").string() + "/shard.bin'");
  INFO(text(l.stderr_path));
  CHECK(text(l.stdout_path) == "tokens");
}

TEST_CASE("without bwrap the first job fails with the fix, and nothing runs", "[exec][sandbox][errors]") {
  RunFolder run;
  ex::LocalOptions o;
  o.sandbox.bwrap = (run.root.path() / "no-such-bwrap").string();
  ex::Local local(o);
  ex::JobSpec s{"v_1", run.version, "echo ran > ran.txt", 10s, {}, {}};
  auto h = local.submit(s);
  REQUIRE_FALSE(h.has_value());
  INFO(h.error().message());
  CHECK(h.error().what.find("bwrap (bubblewrap), which is not installed") != std::string::npos);
  CHECK(h.error().fix.find("apt-get install bubblewrap") != std::string::npos);
  CHECK(h.error().fix.find("executor.sandbox=off") != std::string::npos);
  CHECK(local.free_slots() == 1);
  CHECK_FALSE(fs::exists(run.version / "ran.txt"));
}

TEST_CASE("a bwrap that cannot create namespaces gives an error that says how to tell and what to do",
          "[exec][sandbox][errors]") {
  RunFolder run;
  // Fails the way bwrap does where unprivileged user namespaces are disabled.
  const fs::path fake = run.root.path() / "bwrap";
  std::ofstream(fake) << "#!/bin/sh\necho 'bwrap: No permissions to create new namespace, likely because the kernel "
                         "does not allow non-privileged user namespaces.' >&2\nexit 1\n";
  fs::permissions(fake, fs::perms::owner_all);
  ex::LocalOptions o;
  o.sandbox.bwrap = fake.string();
  ex::Local local(o);
  ex::JobSpec s{"v_1", run.version, "echo ran > ran.txt", 10s, {}, {}};
  auto h = local.submit(s);
  REQUIRE_FALSE(h.has_value());
  INFO(h.error().message());
  CHECK(h.error().what.find("executor.sandbox=bwrap: the sandbox cannot start on ") == 0);
  CHECK(h.error().what.find("No permissions to create new namespace") != std::string::npos);
  CHECK(h.error().fix.find("unshare -Ur true") != std::string::npos);
  CHECK(h.error().fix.find("max_user_namespaces") != std::string::npos);
  CHECK(h.error().fix.find("executor.sandbox=off") != std::string::npos);
  CHECK_FALSE(fs::exists(run.version / "ran.txt"));
}

TEST_CASE("provider keys and secret-looking variables are what is kept from a node", "[exec][sandbox]") {
  CHECK(ex::is_secret_env("OPENAI_API_KEY"));
  CHECK(ex::is_secret_env("ANTHROPIC_API_KEY"));
  CHECK(ex::is_secret_env("MY_PROVIDER_API_KEY"));
  CHECK(ex::is_secret_env("HF_TOKEN"));
  CHECK(ex::is_secret_env("AWS_SECRET_ACCESS_KEY"));
  CHECK(ex::is_secret_env("DB_PASSWORD"));
  CHECK(ex::is_secret_env("LAB_KEY", {"LAB_KEY"}));
  CHECK_FALSE(ex::is_secret_env("PATH"));
  CHECK_FALSE(ex::is_secret_env("CUDA_VISIBLE_DEVICES"));
  CHECK_FALSE(ex::is_secret_env("SLURM_JOB_ID"));
  CHECK_FALSE(ex::is_secret_env("LAB_KEY"));
}

TEST_CASE("the Slurm batch script prepares the sandbox on the node and drops the keys", "[exec][sandbox][slurm]") {
  ::setenv("OPENAI_API_KEY", "sk-planted-key-0815", 1);
  ex::SlurmOptions o;
  o.sandbox.read_only = {"/data/mini"};
  ex::JobSpec spec{"v_2", "/runs/r/v_2", "./run.sh 1", std::chrono::minutes(5), {{"SPEEDRUN_TRACK", "mini"}}, {}};
  const std::string s = ex::Slurm(o).script(spec);
  ::unsetenv("OPENAI_API_KEY");
  INFO(s);
  CHECK(s.find("sk-planted-key-0815") == std::string::npos);
  CHECK(s.find("\nunset ") != std::string::npos);
  CHECK(s.find(" OPENAI_API_KEY") != std::string::npos);
  CHECK(s.find("sr_bind --ro-bind-try '/data/mini'\n") != std::string::npos);
  CHECK(s.find("for d in /dev/nvidia* /dev/nvidia-caps /dev/dri") != std::string::npos);
  CHECK(s.find("--bind '/runs/r/v_2' '/runs/r/v_2' --chdir '/runs/r/v_2'") != std::string::npos);
  CHECK(s.find("exec \"$sr_bwrap\" \"$@\" -- $sr_term /bin/sh -c './run.sh 1'\n") != std::string::npos);
  o.sandbox.kind = ex::SandboxKind::off;
  const std::string off = ex::Slurm(o).script(spec);
  CHECK(off.find("bwrap") == std::string::npos);
  CHECK(off.find("exec /bin/sh -c './run.sh 1'\n") != std::string::npos);
}

TEST_CASE("the Slurm batch script runs its command in the sandbox", "[exec][sandbox][slurm]") {
  // The script as sbatch would run it, here by bash on this machine.
  RunFolder run;
  ex::JobSpec spec{"v_1", run.version, "echo inside > out.txt; echo x > ../escape.txt; env > env.txt", 1min, {}, {}};
  ::setenv("OPENAI_API_KEY", "sk-planted-key-0815", 1);
  const std::string script = ex::Slurm{}.script(spec);
  std::ofstream(run.version / "job.sh") << script;
  auto r = speedrunner::testing::run_shell("cd '" + run.version.string() + "' && bash job.sh");
  ::unsetenv("OPENAI_API_KEY");
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(text(run.version / "out.txt") == "inside\n");
  CHECK_FALSE(fs::exists(run.root.path() / "escape.txt"));
  CHECK(text(run.version / "env.txt").find("sk-planted-key-0815") == std::string::npos);
}
