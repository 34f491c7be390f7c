// The Slurm executor's side of Slurm's command-line tools: running sbatch,
// squeue, sacct, scancel and scontrol without a shell, reading their output,
// naming job states, and writing the batch script. Kept apart from slurm.hpp so
// the parsing can be tested on captured text without a cluster.
#pragma once

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace speedrunner::exec::detail {

// ---- running a tool

struct ToolRun {
  bool started = false;     // false: the program could not be executed (see `error`)
  int status = -1;          // exit status; -1 when it died by a signal
  std::string out, err;
  std::string error;        // why it did not start ("No such file or directory")
};

// Runs argv[0] (looked up on PATH unless it has a slash) with stdin from
// /dev/null and both outputs captured; in `env` ("K=V") when given, else in ours.
[[nodiscard]] inline ToolRun run_tool(const std::vector<std::string>& argv,
                                      const std::vector<std::string>* env = nullptr) {
  ToolRun r;
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    r.error = std::strerror(errno);
    return r;
  }
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    r.error = std::strerror(errno);
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return r;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  std::vector<char*> envp;
  if (env != nullptr) {
    for (const auto& e : *env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
  }
  const int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), env != nullptr ? envp.data() : environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (rc != 0) {
    r.error = std::strerror(rc);
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    return r;
  }
  r.started = true;
  // Both pipes are drained together, so a chatty stderr cannot block the tool.
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  char buf[8192];
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) ::close(f.fd);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// ---- text helpers

[[nodiscard]] inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

[[nodiscard]] inline std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    const auto at = s.find(sep, start);
    parts.push_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) break;
    start = at + 1;
  }
  return parts;
}

[[nodiscard]] inline std::optional<long> to_long(std::string_view s) {
  s = trim(s);
  long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// Single-quoted for /bin/sh: 'it'\''s'.
[[nodiscard]] inline std::string shell_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Slurm's elapsed-time forms: "SS", "M:SS", "H:MM:SS", "D-HH:MM:SS" (squeue %M, sacct Elapsed).
[[nodiscard]] inline std::optional<double> parse_duration(std::string_view s) {
  s = trim(s);
  if (s.empty() || s == "INVALID" || s == "N/A") return std::nullopt;
  long days = 0;
  if (auto dash = s.find('-'); dash != std::string_view::npos) {
    auto d = to_long(s.substr(0, dash));
    if (!d) return std::nullopt;
    days = *d;
    s = s.substr(dash + 1);
  }
  long total = 0;
  for (auto part : split(s, ':')) {
    auto v = to_long(part);
    if (!v) return std::nullopt;
    total = total * 60 + *v;
  }
  return static_cast<double>(days * 86400 + total);
}

// ---- job states

// The states Slurm reports for a job (squeue %T, sacct State; `man squeue`, JOB STATE CODES).
enum class JobState {
  unknown, pending, running, completing, suspended, requeued,   // not over yet
  completed, failed, timeout, cancelled, node_fail, preempted, out_of_memory, boot_fail, deadline,
};

// "CANCELLED by 0" (sacct) and "CANCELLED+" (truncated) read as CANCELLED.
[[nodiscard]] inline JobState parse_state(std::string_view word) {
  word = trim(word);
  if (auto sp = word.find_first_of(" +"); sp != std::string_view::npos) word = word.substr(0, sp);
  static const std::map<std::string_view, JobState> names = {
      {"PENDING", JobState::pending},       {"CONFIGURING", JobState::pending},
      {"REQUEUE_HOLD", JobState::pending},  {"REQUEUE_FED", JobState::requeued},
      {"REQUEUED", JobState::requeued},     {"RESV_DEL_HOLD", JobState::pending},
      {"RUNNING", JobState::running},       {"RESIZING", JobState::running},
      {"SIGNALING", JobState::running},     {"STAGE_OUT", JobState::completing},
      {"COMPLETING", JobState::completing}, {"SUSPENDED", JobState::suspended},
      {"STOPPED", JobState::suspended},     {"COMPLETED", JobState::completed},
      {"FAILED", JobState::failed},         {"SPECIAL_EXIT", JobState::failed},
      {"TIMEOUT", JobState::timeout},       {"CANCELLED", JobState::cancelled},
      {"REVOKED", JobState::cancelled},     {"NODE_FAIL", JobState::node_fail},
      {"PREEMPTED", JobState::preempted},   {"OUT_OF_MEMORY", JobState::out_of_memory},
      {"BOOT_FAIL", JobState::boot_fail},   {"DEADLINE", JobState::deadline},
  };
  auto it = names.find(word);
  return it == names.end() ? JobState::unknown : it->second;
}

// True while the job may still run (or is being set up, held or requeued).
[[nodiscard]] constexpr bool in_flight(JobState s) {
  return s == JobState::unknown || s == JobState::pending || s == JobState::running ||
         s == JobState::completing || s == JobState::suspended || s == JobState::requeued;
}

// One job as squeue or sacct describes it.
struct JobStatus {
  std::string id;
  std::string state_word;          // as Slurm wrote it: "PENDING", "CANCELLED by 0"
  JobState state = JobState::unknown;
  std::string reason;              // why it waits: "Resources", "Priority"
  std::optional<int> exit_code;    // of the batch script, once over
  int signal = 0;
  double run_s = 0;                // time it has run (not queued)
  std::string nodes, partition;
  std::string work_dir;
};

// squeue's exit_code field is the raw wait status of the batch script.
inline void set_wait_status(JobStatus& j, long raw) {
  if ((raw & 0x7f) == 0) j.exit_code = static_cast<int>((raw >> 8) & 0xff);
  else j.signal = static_cast<int>(raw & 0x7f);
}

// sacct's and scontrol's ExitCode: "exit:signal", e.g. "1:0" or "0:9".
inline void set_exit_pair(JobStatus& j, std::string_view pair) {
  auto parts = split(trim(pair), ':');
  if (parts.size() != 2) return;
  auto code = to_long(parts[0]), sig = to_long(parts[1]);
  if (sig && *sig != 0) j.signal = static_cast<int>(*sig);
  else if (code) j.exit_code = static_cast<int>(*code);
}

// The squeue query for a set of jobs: every field ends in '|', WorkDir last.
inline constexpr std::string_view squeue_format =
    "JobID:|,State:|,Reason:|,exit_code:|,TimeUsed:|,NodeList:|,Partition:|,WorkDir:|";

[[nodiscard]] inline std::vector<std::string> squeue_argv(const std::string& squeue,
                                                          const std::vector<std::string>& ids) {
  std::string list;
  for (const auto& id : ids) list += (list.empty() ? "" : ",") + id;
  return {squeue, "--noheader", "--states=all", "--jobs=" + list, "--Format=" + std::string(squeue_format)};
}

[[nodiscard]] inline std::vector<JobStatus> parse_squeue(std::string_view text) {
  std::vector<JobStatus> jobs;
  for (auto line : split(text, '\n')) {
    line = trim(line);
    if (line.empty()) continue;
    auto f = split(line, '|');
    if (f.size() < 8) continue;
    JobStatus j;
    j.id = std::string(trim(f[0]));
    j.state_word = std::string(trim(f[1]));
    j.state = parse_state(j.state_word);
    j.reason = std::string(trim(f[2]));
    if (!in_flight(j.state))
      if (auto raw = to_long(f[3])) set_wait_status(j, *raw);
    j.run_s = parse_duration(f[4]).value_or(0);
    j.nodes = std::string(trim(f[5]));
    j.partition = std::string(trim(f[6]));
    // WorkDir may itself hold '|': everything up to the final separator.
    const auto rest = line.substr(static_cast<std::size_t>(f[7].data() - line.data()));
    j.work_dir = std::string(trim(rest.ends_with('|') ? rest.substr(0, rest.size() - 1) : rest));
    if (!j.id.empty()) jobs.push_back(std::move(j));
  }
  return jobs;
}

[[nodiscard]] inline std::vector<std::string> sacct_argv(const std::string& sacct,
                                                         const std::vector<std::string>& ids) {
  std::string list;
  for (const auto& id : ids) list += (list.empty() ? "" : ",") + id;
  return {sacct, "--noheader", "--parsable2", "--allocations", "--jobs=" + list,
          "--format=JobID,State,ExitCode,ElapsedRaw,NodeList,Partition,WorkDir"};
}

[[nodiscard]] inline std::vector<JobStatus> parse_sacct(std::string_view text) {
  std::vector<JobStatus> jobs;
  for (auto line : split(text, '\n')) {
    line = trim(line);
    if (line.empty()) continue;
    auto f = split(line, '|');
    if (f.size() < 7) continue;
    JobStatus j;
    j.id = std::string(trim(f[0]));
    j.state_word = std::string(trim(f[1]));
    j.state = parse_state(j.state_word);
    if (!in_flight(j.state)) set_exit_pair(j, f[2]);
    if (auto s = to_long(f[3])) j.run_s = static_cast<double>(*s);
    j.nodes = std::string(trim(f[4]));
    j.partition = std::string(trim(f[5]));
    j.work_dir = std::string(trim(line.substr(static_cast<std::size_t>(f[6].data() - line.data()))));
    if (!j.id.empty()) jobs.push_back(std::move(j));
  }
  return jobs;
}

// `scontrol show job -o ID`: one line of Key=Value pairs.
[[nodiscard]] inline std::optional<JobStatus> parse_scontrol_job(std::string_view text) {
  std::map<std::string, std::string, std::less<>> kv;
  for (auto word : split(trim(text), ' ')) {
    auto eq = word.find('=');
    if (eq == std::string_view::npos) continue;
    kv.emplace(std::string(word.substr(0, eq)), std::string(word.substr(eq + 1)));
  }
  if (!kv.contains("JobId")) return std::nullopt;
  JobStatus j;
  j.id = kv["JobId"];
  j.state_word = kv["JobState"];
  j.state = parse_state(j.state_word);
  j.reason = kv["Reason"];
  if (!in_flight(j.state)) set_exit_pair(j, kv["ExitCode"]);
  j.run_s = parse_duration(kv["RunTime"]).value_or(0);
  j.nodes = kv["NodeList"];
  j.partition = kv["Partition"];
  j.work_dir = kv["WorkDir"];
  return j;
}

// "Submitted batch job 42" or, with --parsable, "42" or "42;cluster".
[[nodiscard]] inline std::optional<std::string> parse_sbatch_id(std::string_view out) {
  out = trim(out);
  if (auto nl = out.rfind('\n'); nl != std::string_view::npos) out = trim(out.substr(nl + 1));
  if (auto semi = out.find(';'); semi != std::string_view::npos) out = out.substr(0, semi);
  if (auto sp = out.rfind(' '); sp != std::string_view::npos) out = out.substr(sp + 1);
  if (out.empty() || !to_long(out)) return std::nullopt;
  return std::string(out);
}

// ---- the batch script

struct ScriptRequest {
  std::string job_name;
  std::filesystem::path dir;
  std::string command;
  int nodes = 1, tasks_per_node = 1, gpus_per_node = 0, cpus_per_task = 0;
  long time_limit_min = 0;                 // 0: the partition's default
  std::string partition, account, qos, mem;
  bool requeue = false;
  bool srun = false;                       // one copy of the command per task, through srun
  std::vector<std::string> extra_lines;    // "--constraint=h100" or "#SBATCH --constraint=h100"
  std::vector<std::pair<std::string, std::string>> env;
  std::string unset;                       // `unset` of credentials the job must not inherit (exec/sandbox.hpp)
  std::string sandbox_prelude;             // shell lines that prepare the sandbox; empty: none
  std::string sandbox_launcher;            // what runs the command in it ("$sr_bwrap" "$@" -- )
};

// A bash batch script: resources as #SBATCH lines (readable in the version
// folder), the environment as exports, then the launch command in the folder.
[[nodiscard]] inline std::string render_script(const ScriptRequest& r) {
  std::string s = "#!/bin/bash\n# " + r.job_name + ": written by speedrunner's Slurm executor; sbatch runs it.\n";
  auto line = [&](const std::string& option) { s += "#SBATCH " + option + "\n"; };
  line("--job-name=" + r.job_name);
  line("--nodes=" + std::to_string(r.nodes));
  line("--ntasks-per-node=" + std::to_string(r.tasks_per_node));
  if (r.cpus_per_task > 0) line("--cpus-per-task=" + std::to_string(r.cpus_per_task));
  if (r.gpus_per_node > 0) line("--gres=gpu:" + std::to_string(r.gpus_per_node));
  if (r.time_limit_min > 0) line("--time=" + std::to_string(r.time_limit_min));
  if (!r.partition.empty()) line("--partition=" + r.partition);
  if (!r.account.empty()) line("--account=" + r.account);
  if (!r.qos.empty()) line("--qos=" + r.qos);
  if (!r.mem.empty()) line("--mem=" + r.mem);
  line(r.requeue ? "--requeue" : "--no-requeue");
  for (const auto& extra : r.extra_lines) {
    std::string_view e = trim(extra);
    if (e.starts_with("#SBATCH")) s += std::string(e) + "\n";
    else if (!e.empty()) line(std::string(e));
  }
  s += "\n" + r.unset;
  for (const auto& [k, v] : r.env) s += "export " + k + "=" + shell_quote(v) + "\n";
  s += "cd " + shell_quote(r.dir.string()) + " || exit 126\n";
  s += r.sandbox_prelude;
  if (r.srun) {
    s += "exec srun --nodes=" + std::to_string(r.nodes) + " --ntasks-per-node=" + std::to_string(r.tasks_per_node) +
         (r.cpus_per_task > 0 ? " --cpus-per-task=" + std::to_string(r.cpus_per_task) : std::string{}) +
         " --kill-on-bad-exit=1 " + r.sandbox_launcher + "/bin/sh -c " + shell_quote(r.command) + "\n";
  } else {
    s += "exec " + r.sandbox_launcher + "/bin/sh -c " + shell_quote(r.command) + "\n";
  }
  return s;
}

// A valid environment variable name (the exports are written into a script).
[[nodiscard]] inline bool env_name_ok(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  for (char c : name)
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  return true;
}

}  // namespace speedrunner::exec::detail
