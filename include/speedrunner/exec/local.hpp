// The local executor: each job runs `/bin/sh -c <launch command>` in its
// version folder, in a process group of its own, with stdout and stderr in
// files; N slots run side by side, each with its share of the GPUs through
// CUDA_VISIBLE_DEVICES. A timeout or an early-abort verdict sends SIGTERM to the
// whole group, then SIGKILL after a grace period. By default the command runs
// in the sandbox of exec/sandbox.hpp (LocalOptions::sandbox).
#pragma once

#include <speedrunner/exec/disk.hpp>
#include <speedrunner/exec/executor.hpp>
#include <speedrunner/exec/sandbox.hpp>
#include <speedrunner/metrics/early_abort.hpp>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
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
};

class Local {
 public:
  static constexpr std::string_view config_name = "local";

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
    const int out = ::open(job.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int err = ::open(job.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0 || err < 0) {
      if (out >= 0) ::close(out);
      if (err >= 0) ::close(err);
      return fail(spec.dir.string() + ": cannot create the run's log files (" + std::strerror(errno) + ")",
                  "check that the version folder exists and is writable", ExitCode::failure);
    }
    if (sandbox_error_) {
      ::close(out);
      ::close(err);
      return std::unexpected(*sandbox_error_);
    }
    const std::string script =
        sandboxed_command(options_.sandbox, std::filesystem::absolute(spec.dir), spec.command, false);
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
      ::close(out);
      ::close(err);
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
    int status = 0;
    const pid_t done = ::waitpid(job.pid, &status, WNOHANG);
    if (done == job.pid || (done < 0 && errno == ECHILD)) {
      ::killpg(job.pid, SIGKILL);  // stragglers the command left in its group
      watch(job);
      if (!job.aborted_reason) job.aborted_reason = job.watch_out.finish();
      if (!job.aborted_reason) job.aborted_reason = job.watch_err.finish();
      if (!job.aborted_reason) job.aborted_reason = job.disk.check(job.spec.dir, true);
      JobResult r;
      if (done == job.pid && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
      else if (done == job.pid && WIFSIGNALED(status)) r.signal = WTERMSIG(status);
      r.timed_out = job.timed_out;
      r.aborted = job.aborted_reason.value_or("");
      r.wall_s = std::chrono::duration<double>(Clock::now() - job.started).count();
      r.stdout_path = job.stdout_path;
      r.stderr_path = job.stderr_path;
      r.placement = job.placement;
      busy_[static_cast<std::size_t>(job.slot)] = false;
      jobs_.erase(it);
      return r;
    }
    const auto now = Clock::now();
    if (!job.term_sent) {
      if (job.spec.timeout.count() > 0 && now - job.started > job.spec.timeout) job.timed_out = true;
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
    const pid_t pid = it->second.pid;
    terminate(pid);
    const auto deadline = Clock::now() + options_.kill_grace;
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
      if (Clock::now() > deadline) {
        ::killpg(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::killpg(pid, SIGKILL);
    busy_[static_cast<std::size_t>(it->second.slot)] = false;
    jobs_.erase(it);
  }

  // Local jobs die with the runner, so a saved handle never re-attaches. A
  // process group a killed runner left behind (still working in the job's
  // folder) is stopped, so the re-run does not race it.
  [[nodiscard]] bool reattach(const JobSpec& spec, const JobHandle& handle) {
    constexpr std::string_view prefix = "local:";
    if (!handle.ref.starts_with(prefix)) return false;
    const pid_t pid = static_cast<pid_t>(std::atoi(handle.ref.c_str() + prefix.size()));
    std::error_code ec;
    const auto cwd = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/cwd", ec);
    if (pid > 0 && !ec && std::filesystem::equivalent(cwd, spec.dir, ec)) ::killpg(pid, SIGKILL);
    return false;
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
  };

  // SIGTERM for a job's processes: its process group, or, in the sandbox, every
  // process below bwrap (which must live on to report the command's status).
  void terminate(pid_t pid) const {
    if (options_.sandbox.kind == SandboxKind::off) ::killpg(pid, SIGTERM);
    else terminate_sandboxed(pid, options_.sandbox.bwrap);
  }

  // Feeds what the logs gained since the last look to the early-abort watch.
  static void watch(Job& job) {
    if (job.spec.watch.empty() || job.aborted_reason) return;
    auto feed = [&](const std::filesystem::path& path, off_t& offset, metrics::LogWatch& w) {
      const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return;
      char buf[1 << 16];
      ssize_t n;
      while (!job.aborted_reason && (n = ::pread(fd, buf, sizeof buf, offset)) > 0) {
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
