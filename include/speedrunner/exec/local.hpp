// The local executor: each job runs `/bin/sh -c <launch command>` in its
// version folder, in a process group of its own, with stdout and stderr in
// files; N slots run side by side, each with its share of the GPUs through
// CUDA_VISIBLE_DEVICES. A timeout or an early-abort verdict sends SIGTERM to the
// whole group, then SIGKILL after a grace period (the whole group's: the shell
// leader dying on SIGTERM does not cut the others' grace short). By default the
// command runs in the sandbox of exec/sandbox.hpp (LocalOptions::sandbox).
//
// Logs are capped: a keeper process of the runner drains the job's stdout and
// stderr through pipes into the files, keeping the first half of the cap and
// the last half and noting how many bytes it dropped between them, so a program
// printing without end neither fills the disk nor stalls on a full pipe.
#pragma once

#include <speedrunner/exec/disk.hpp>
#include <speedrunner/exec/executor.hpp>
#include <speedrunner/exec/sandbox.hpp>
#include <speedrunner/metrics/early_abort.hpp>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <algorithm>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace speedrunner::exec {

struct LocalOptions {
  int slots = 1;                       // jobs at once
  std::vector<std::string> gpus{};     // device ids shared out among slots; empty: leave CUDA_VISIBLE_DEVICES alone
  int gpus_per_slot = 0;               // 0: gpus.size() / slots
  std::chrono::milliseconds kill_grace{2000};  // SIGTERM, then SIGKILL after this
  SandboxOptions sandbox{};                    // on by default; sandbox.kind = off runs commands unconfined
  std::size_t max_log_bytes = std::size_t{64} << 20;  // per log file: head half + tail half
};

namespace detail {

// One log stream of a keeper: the head goes straight to the file, the rest
// through a ring that holds the last `tail` bytes.
struct CappedStream {
  int in = -1, file = -1;
  std::size_t head = 0, tail = 0;
  char* ring = nullptr;
  std::size_t written = 0, ring_pos = 0, ring_len = 0;
  unsigned long long dropped = 0;

  static void write_all(int fd, const char* p, std::size_t n) {
    while (n > 0) {
      const ssize_t w = ::write(fd, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return;
      p += w;
      n -= static_cast<std::size_t>(w);
    }
  }
  void take(const char* p, std::size_t n) {
    if (written < head) {
      const std::size_t now = std::min(n, head - written);
      write_all(file, p, now);
      written += now;
      p += now;
      n -= now;
    }
    for (; n > 0 && tail > 0; ++p, --n) {
      if (ring_len == tail) ++dropped;
      else ++ring_len;
      ring[ring_pos] = *p;
      ring_pos = (ring_pos + 1) % tail;
    }
    dropped += n;
  }
  // The note between head and tail, then the tail in order.
  void finish() {
    if (dropped > 0) {
      char note[160], digits[24];
      int d = 0;
      for (unsigned long long v = dropped; d == 0 || v > 0; v /= 10) digits[d++] = static_cast<char>('0' + v % 10);
      std::size_t k = 0;
      auto put = [&](const char* t) { while (*t && k < sizeof note) note[k++] = *t++; };
      put("\n[... speedrun dropped ");
      while (d > 0 && k < sizeof note) note[k++] = digits[--d];
      put(" bytes of this log here: it is capped (executor.max_log_mb) ...]\n");
      write_all(file, note, k);
    }
    const std::size_t first = ring_len == tail ? ring_pos : 0;
    if (ring_len > 0 && first + ring_len <= tail) write_all(file, ring + first, ring_len);
    else if (ring_len > 0) {
      write_all(file, ring + first, tail - first);
      write_all(file, ring, ring_pos);
    }
  }
};

// The keeper's body (a forked copy of the runner: system calls only).
[[noreturn]] inline void keep_logs(CappedStream* streams) {
  char buf[1 << 16];
  int open_streams = 2;
  while (open_streams > 0) {
    pollfd fds[2];
    for (int i = 0; i < 2; ++i) fds[i] = {streams[i].in, POLLIN, 0};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (streams[i].in < 0 || fds[i].revents == 0) continue;
      const ssize_t n = ::read(streams[i].in, buf, sizeof buf);
      if (n > 0) {
        streams[i].take(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(streams[i].in);
        streams[i].in = -1;
        --open_streams;
      }
    }
  }
  for (int i = 0; i < 2; ++i) streams[i].finish();
  ::_exit(0);
}

// True when `p` is `root` or lies below it (both absolute and normal).
inline bool path_inside(const std::filesystem::path& root, const std::filesystem::path& p) {
  auto [r, q] = std::mismatch(root.begin(), root.end(), p.begin(), p.end());
  return r == root.end();
}

}  // namespace detail

class Local {
 public:
  static constexpr std::string_view config_name = "local";
  // Set in each job's environment to its version folder (absolute): how a
  // resumed runner knows the processes a killed one left behind.
  static constexpr std::string_view version_dir_variable = "SPEEDRUNNER_VERSION_DIR";

  // The sandbox is tried here, once (outside a run's clock), so a machine that
  // cannot run it stops the run at the first job with the fix instead of failing every node.
  explicit Local(LocalOptions options = {}) : options_(std::move(options)) {
    if (options_.slots < 1) options_.slots = 1;
    busy_.assign(static_cast<std::size_t>(options_.slots), false);
    if (auto ok = check_sandbox(options_.sandbox, std::filesystem::temp_directory_path()); !ok)
      sandbox_error_ = ok.error();
  }
  Local(const Local&) = delete;
  Local& operator=(const Local&) = delete;
  Local(Local&&) = default;
  Local& operator=(Local&&) = default;
  // Nothing outlives the runner: children are stopped with it.
  ~Local() {
    while (!jobs_.empty()) cancel(JobHandle{jobs_.begin()->first});
  }

  [[nodiscard]] std::size_t free_slots() const {
    std::size_t n = 0;
    for (bool b : busy_) n += b ? 0 : 1;
    return n;
  }

  // The GPUs slot `slot` gets, comma separated; empty when none are configured.
  [[nodiscard]] std::string slot_gpus(int slot) const {
    if (options_.gpus.empty()) return {};
    const std::size_t per = options_.gpus_per_slot > 0
                                ? static_cast<std::size_t>(options_.gpus_per_slot)
                                : std::max<std::size_t>(1, options_.gpus.size() / busy_.size());
    std::string out;
    for (std::size_t i = static_cast<std::size_t>(slot) * per;
         i < (static_cast<std::size_t>(slot) + 1) * per && i < options_.gpus.size(); ++i)
      out += (out.empty() ? "" : ",") + options_.gpus[i];
    return out;
  }

  [[nodiscard]] Result<JobHandle> submit(const JobSpec& spec) {
    int slot = -1;
    for (std::size_t i = 0; i < busy_.size(); ++i)
      if (!busy_[i]) { slot = static_cast<int>(i); break; }
    if (slot < 0) return fail("no free slot for " + spec.name, "submit when free_slots() > 0", ExitCode::failure);

    Job job{spec, slot};
    job.stdout_path = spec.dir / "stdout.log";
    job.stderr_path = spec.dir / "stderr.log";
    // The log files are replaced, never followed: a symlink the node left there is not written through.
    std::error_code ec;
    std::filesystem::remove(job.stdout_path, ec);
    std::filesystem::remove(job.stderr_path, ec);
    const int log_out = ::open(job.stdout_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    const int log_err = ::open(job.stderr_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    int pipe_out[2] = {-1, -1}, pipe_err[2] = {-1, -1};
    const bool piped = ::pipe2(pipe_out, O_CLOEXEC) == 0 && ::pipe2(pipe_err, O_CLOEXEC) == 0;
    auto close_all = [&] {
      for (int fd : {log_out, log_err, pipe_out[0], pipe_out[1], pipe_err[0], pipe_err[1]})
        if (fd >= 0) ::close(fd);
    };
    if (log_out < 0 || log_err < 0 || !piped) {
      const std::string why = std::strerror(errno);
      close_all();
      return fail(spec.dir.string() + ": cannot create the run's log files (" + why + ")",
                  "check that the version folder exists and is writable", ExitCode::failure);
    }
    if (sandbox_error_) {
      close_all();
      return std::unexpected(*sandbox_error_);
    }
    const std::string script =
        sandboxed_command(options_.sandbox, std::filesystem::absolute(spec.dir), spec.command, false);
    const int out = pipe_out[1], err = pipe_err[1];
    // Environment built before fork: the child only calls async-signal-safe functions.
    std::vector<std::string> env_strings = environment(spec, slot);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    const std::string dir = spec.dir.string();
    const char* shell = options_.sandbox.kind == SandboxKind::off ? "/bin/sh" : "/bin/bash";
    const char* argv[] = {shell, "-c", script.c_str(), nullptr};

    const pid_t pid = ::fork();
    if (pid < 0) {
      close_all();
      return fail("cannot start " + spec.name + " (fork: " + std::strerror(errno) + ")",
                  "the machine is out of processes or memory", ExitCode::failure);
    }
    if (pid == 0) {
      ::setpgid(0, 0);
      ::signal(SIGINT, SIG_DFL);
      ::signal(SIGTERM, SIG_DFL);
      ::signal(SIGPIPE, SIG_DFL);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::dup2(out, 1);
      ::dup2(err, 2);
      const int devnull = ::open("/dev/null", O_RDONLY);
      if (devnull >= 0) ::dup2(devnull, 0);
      if (::chdir(dir.c_str()) != 0) ::_exit(126);
      ::execve(shell, const_cast<char* const*>(argv), envp.data());
      ::_exit(127);
    }
    ::setpgid(pid, pid);  // also in the parent, so a kill right after submit reaches the group
    ::close(out);
    ::close(err);
    const pid_t keeper = ::fork();
    if (keeper == 0) {
      // its own group (a kill of the job's group leaves it to write the tail), in the
      // version folder (a resumed runner finds it there)
      ::setpgid(0, 0);
      ::signal(SIGINT, SIG_IGN);
      ::signal(SIGTERM, SIG_IGN);
      if (::chdir(dir.c_str()) != 0) {}
      const std::size_t half = std::max<std::size_t>(options_.max_log_bytes / 2, 1);
      void* ring = ::mmap(nullptr, 2 * half, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      detail::CappedStream streams[2];
      streams[0] = {pipe_out[0], log_out, half, ring == MAP_FAILED ? 0 : half,
                    ring == MAP_FAILED ? nullptr : static_cast<char*>(ring)};
      streams[1] = {pipe_err[0], log_err, half, ring == MAP_FAILED ? 0 : half,
                    ring == MAP_FAILED ? nullptr : static_cast<char*>(ring) + half};
      detail::keep_logs(streams);
    }
    ::close(pipe_out[0]);
    ::close(pipe_err[0]);
    ::close(log_out);
    ::close(log_err);
    if (keeper < 0) {
      ::killpg(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return fail("cannot start the log keeper of " + spec.name + " (fork: " + std::strerror(errno) + ")",
                  "the machine is out of processes or memory", ExitCode::failure);
    }
    job.keeper = keeper;
    job.pid = pid;
    job.started = Clock::now();
    job.watch_out = metrics::LogWatch(spec.watch);
    job.watch_err = metrics::LogWatch(spec.watch);
    job.disk = DiskQuota(options_.sandbox.limits.disk_mb);
    job.placement = "slot " + std::to_string(slot);
    if (auto g = slot_gpus(slot); !g.empty()) job.placement += ", CUDA_VISIBLE_DEVICES=" + g;
    busy_[static_cast<std::size_t>(slot)] = true;
    JobHandle handle{"local:" + std::to_string(pid)};
    jobs_.emplace(handle.ref, std::move(job));
    return handle;
  }

  [[nodiscard]] std::optional<JobResult> poll(const JobHandle& handle) {
    auto it = jobs_.find(handle.ref);
    if (it == jobs_.end()) return std::nullopt;
    Job& job = it->second;
    watch(job);
    if (!job.aborted_reason) job.aborted_reason = job.disk.check(job.spec.dir);
    const auto now = Clock::now();
    if (!job.leader_done) {
      int status = 0;
      const pid_t done = ::waitpid(job.pid, &status, WNOHANG);
      if (done == job.pid || (done < 0 && errno == ECHILD)) {
        job.leader_done = true;
        if (done == job.pid) job.leader_status = status;
      }
    }
    // After a SIGTERM the whole group has its grace period, even once the leader is gone.
    const bool group_left = job.leader_done && job.term_sent && ::killpg(job.pid, 0) == 0 &&
                            now - *job.term_sent <= options_.kill_grace;
    if (job.leader_done && !group_left) {
      ::killpg(job.pid, SIGKILL);  // stragglers the command left in its group
      wait_for_keeper(job);
      watch(job);
      if (!job.aborted_reason) job.aborted_reason = job.watch_out.finish();
      if (!job.aborted_reason) job.aborted_reason = job.watch_err.finish();
      if (!job.aborted_reason) job.aborted_reason = job.disk.check(job.spec.dir, true);
      JobResult r;
      if (job.leader_status && WIFEXITED(*job.leader_status)) r.exit_code = WEXITSTATUS(*job.leader_status);
      else if (job.leader_status && WIFSIGNALED(*job.leader_status)) r.signal = WTERMSIG(*job.leader_status);
      r.timed_out = job.timed_out;
      r.aborted = job.aborted_reason.value_or("");
      r.wall_s = std::chrono::duration<double>(now - job.started).count();
      r.stdout_path = job.stdout_path;
      r.stderr_path = job.stderr_path;
      r.placement = job.placement;
      busy_[static_cast<std::size_t>(job.slot)] = false;
      jobs_.erase(it);
      return r;
    }
    if (!job.term_sent) {
      if (job.spec.timeout.count() > 0 &&
          std::chrono::duration_cast<std::chrono::milliseconds>(now - job.started) > job.spec.timeout)
        job.timed_out = true;
      if (job.timed_out || job.aborted_reason) {
        terminate(job.pid);
        job.term_sent = now;
      }
    } else if (now - *job.term_sent > options_.kill_grace) {
      ::killpg(job.pid, SIGKILL);
    }
    return std::nullopt;
  }

  void cancel(const JobHandle& handle) {
    auto it = jobs_.find(handle.ref);
    if (it == jobs_.end()) return;
    Job& job = it->second;
    terminate(job.pid);
    const auto deadline = Clock::now() + options_.kill_grace;
    while (true) {
      int status = 0;
      if (!job.leader_done) {
        const pid_t done = ::waitpid(job.pid, &status, WNOHANG);
        job.leader_done = done == job.pid || (done < 0 && errno == ECHILD);
      }
      if (job.leader_done && ::killpg(job.pid, 0) != 0) break;  // the whole group is gone
      if (Clock::now() > deadline) {
        ::killpg(job.pid, SIGKILL);
        if (!job.leader_done) ::waitpid(job.pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::killpg(job.pid, SIGKILL);
    wait_for_keeper(job);
    busy_[static_cast<std::size_t>(job.slot)] = false;
    jobs_.erase(it);
  }

  // Local jobs die with the runner, so a saved handle never re-attaches. What a
  // killed runner left working in the job's folder (its program, its process
  // group, its log keeper) is stopped first, so the re-run does not race it.
  [[nodiscard]] bool reattach(const JobSpec& spec, const JobHandle&) {
    stop_processes_in(spec.dir);
    return false;
  }

  // Stops (SIGKILL) what a runner started for the job in `dir`, with its process
  // group, and waits until it is gone: processes whose environment names the
  // folder (version_dir_variable, inherited by everything the job starts) and
  // log keepers (the runner's own program) working there. Someone's shell in
  // that folder is left alone. Returns how many processes there were.
  static int stop_processes_in(const std::filesystem::path& dir, std::chrono::milliseconds wait = std::chrono::seconds(5)) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path root = fs::canonical(dir, ec);
    if (ec) return 0;
    std::vector<pid_t> found;
    for (const auto& e : fs::directory_iterator("/proc", ec)) {
      const std::string name = e.path().filename().string();
      if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
      const pid_t pid = static_cast<pid_t>(std::stol(name));
      if (pid == ::getpid()) continue;
      if (!started_for(e.path(), root)) continue;
      const pid_t group = ::getpgid(pid);
      if (group > 0 && group != ::getpgrp()) ::killpg(group, SIGKILL);
      ::kill(pid, SIGKILL);
      found.push_back(pid);
    }
    const auto deadline = Clock::now() + wait;
    for (pid_t pid : found) {
      // our own children are reaped here; others by whoever adopted them
      while (::waitpid(pid, nullptr, WNOHANG) == 0 || (::kill(pid, 0) == 0 && !zombie(pid))) {
        if (Clock::now() > deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
    return static_cast<int>(found.size());
  }

 private:
  using Clock = std::chrono::steady_clock;
  struct Job {
    JobSpec spec;
    int slot = 0;
    pid_t pid = 0;
    Clock::time_point started{};
    std::optional<Clock::time_point> term_sent{};
    bool timed_out = false;
    std::optional<std::string> aborted_reason{};
    metrics::LogWatch watch_out{{}}, watch_err{{}};
    DiskQuota disk{};
    std::filesystem::path stdout_path{}, stderr_path{};
    off_t read_out = 0, read_err = 0;
    std::string placement{};
    pid_t keeper = -1;
    bool leader_done = false;
    std::optional<int> leader_status{};
  };

  // SIGTERM for a job's processes: its process group, or, in the sandbox, every
  // process below bwrap (which must live on to report the command's status).
  void terminate(pid_t pid) const {
    if (options_.sandbox.kind == SandboxKind::off) ::killpg(pid, SIGTERM);
    else terminate_sandboxed(pid, options_.sandbox.bwrap);
  }

  [[nodiscard]] static bool started_for(const std::filesystem::path& proc, const std::filesystem::path& root) {
    namespace fs = std::filesystem;
    std::error_code ec;
    std::ifstream env(proc / "environ", std::ios::binary);
    const std::string marker = std::string(version_dir_variable) + "=";
    for (std::string var; std::getline(env, var, '\0');)
      if (var.starts_with(marker)) return detail::path_inside(root, fs::path(var.substr(marker.size())));
    const fs::path cwd = fs::read_symlink(proc / "cwd", ec);
    if (ec || !detail::path_inside(root, cwd)) return false;
    const fs::path exe = fs::read_symlink(proc / "exe", ec);
    return !ec && exe == fs::read_symlink("/proc/self/exe", ec);
  }

  [[nodiscard]] static bool zombie(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    std::getline(stat, text);
    const auto close = text.rfind(')');
    return !stat || close == std::string::npos || (close + 2 < text.size() && text[close + 2] == 'Z');
  }

  // The keeper ends once every writer of the job's pipes is gone; one that a
  // process outside the job's group keeps waiting is stopped after the grace period.
  void wait_for_keeper(Job& job) const {
    if (job.keeper <= 0) return;
    const auto deadline = Clock::now() + options_.kill_grace;
    while (::waitpid(job.keeper, nullptr, WNOHANG) == 0) {
      if (Clock::now() > deadline) {
        ::kill(job.keeper, SIGKILL);
        ::waitpid(job.keeper, nullptr, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    job.keeper = -1;
  }

  // Feeds what the logs gained since the last look to the early-abort watch.
  static void watch(Job& job) {
    if (job.spec.watch.empty() || job.aborted_reason) return;
    auto feed = [&](const std::filesystem::path& path, off_t& offset, metrics::LogWatch& w) {
      const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return;
      char buf[1 << 16];
      ssize_t n;
      // at most 4 MiB a look: a program printing faster than this is read cannot
      // keep the runner from its other work (the time limit among it)
      for (int chunks = 0; chunks < 64 && !job.aborted_reason && (n = ::pread(fd, buf, sizeof buf, offset)) > 0;
           ++chunks) {
        offset += n;
        job.aborted_reason = w.feed(std::string_view(buf, static_cast<std::size_t>(n)));
      }
      ::close(fd);
    };
    feed(job.stdout_path, job.read_out, job.watch_out);
    feed(job.stderr_path, job.read_err, job.watch_err);
  }

  [[nodiscard]] std::vector<std::string> environment(const JobSpec& spec, int slot) const {
    std::map<std::string, std::string> vars;
    for (char** e = environ; e && *e; ++e) {
      std::string_view kv(*e);
      auto eq = kv.find('=');
      if (eq != std::string_view::npos) vars[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
    }
    // Credentials stay with the runner; the task's own variables are kept as given.
    std::erase_if(vars, [&](const auto& kv) { return is_secret_env(kv.first, options_.sandbox.secret_env); });
    if (auto g = slot_gpus(slot); !g.empty()) vars["CUDA_VISIBLE_DEVICES"] = g;
    for (const auto& [k, v] : spec.env) vars[k] = v;
    std::error_code ec;
    vars[std::string(version_dir_variable)] = std::filesystem::weakly_canonical(spec.dir, ec).string();
    std::vector<std::string> out;
    for (const auto& [k, v] : vars) out.push_back(k + "=" + v);
    return out;
  }

  LocalOptions options_;
  std::optional<Error> sandbox_error_{};  // why the sandbox cannot start here
  std::vector<bool> busy_;
  std::map<std::string, Job> jobs_;
};

static_assert(Executor<Local>, "exec::Local must model the Executor concept");

}  // namespace speedrunner::exec
