// The Slurm executor: each job is a batch job (`sbatch --parsable` with a
// generated script kept in the version folder as slurm_job.sh), tracked by one
// squeue call per poll interval for all jobs in flight (sacct for jobs the
// controller has forgotten), stopped with scancel. Jobs outlive the runner, so
// a resumed run re-attaches to them by the id saved in the node.
#pragma once

#include <speedrunner/exec/detail/slurm_cli.hpp>
#include <speedrunner/exec/executor.hpp>
#include <speedrunner/exec/disk.hpp>
#include <speedrunner/exec/sandbox.hpp>
#include <speedrunner/metrics/early_abort.hpp>
#include <speedrunner/workspace/atomic_file.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace speedrunner::exec {

// When the launch command runs once per task through srun.
enum class SrunMode {
  automatic,  // when the job has more than one task (nodes x tasks per node)
  always,
  never,      // the batch script runs the command once; it may call srun itself
};

struct SlurmOptions {
  int max_parallel = 8;                    // batch jobs queued or running at once
  std::string partition, account, qos;     // empty: the cluster's default
  std::string mem;                         // --mem, e.g. "64G"; empty: the cluster's default
  std::string job_name = "speedrun";       // jobs are named <job_name>_v_<k>
  int nodes = 1;
  int tasks_per_node = 0;                  // 0: one per GPU (at least one)
  int gpus_per_node = 0;                   // --gres=gpu:N when > 0
  int cpus_per_task = 0;                   // 0: the cluster's default
  std::chrono::minutes job_ttl{0};         // --time; 0: the task's timeout plus a minute
  std::chrono::milliseconds poll_interval{10'000};  // between squeue calls
  bool requeue_preempted = true;           // `scontrol requeue` a PREEMPTED job
  int max_requeues = 3;
  SrunMode srun = SrunMode::automatic;
  std::vector<std::string> extra_sbatch_lines;                 // "--constraint=h100"
  std::vector<std::pair<std::string, std::string>> env;        // exported in the job
  std::filesystem::path bin_dir;           // where sbatch, squeue... live; empty: PATH
  // Jobs whose state Slurm cannot tell for this long end as failed.
  std::chrono::milliseconds unreachable_limit{600'000};
  // The node's sandbox, prepared on the compute node by the batch script (on by default).
  SandboxOptions sandbox{};
};

class Slurm {
 public:
  static constexpr std::string_view config_name = "slurm";

  explicit Slurm(SlurmOptions options = {}) : options_(std::move(options)) {
    if (options_.max_parallel < 1) options_.max_parallel = 1;
    if (options_.nodes < 1) options_.nodes = 1;
  }
  // Jobs are left alone when the executor goes away: a stopping runner cancels
  // its jobs itself, and a crashed one re-attaches on resume.
  Slurm(const Slurm&) = delete;
  Slurm& operator=(const Slurm&) = delete;
  Slurm(Slurm&&) = default;
  Slurm& operator=(Slurm&&) = default;

  [[nodiscard]] const SlurmOptions& options() const { return options_; }

  [[nodiscard]] std::size_t free_slots() const {
    const auto max = static_cast<std::size_t>(options_.max_parallel);
    return jobs_.size() >= max ? 0 : max - jobs_.size();
  }

  [[nodiscard]] int tasks_per_node() const {
    if (options_.tasks_per_node > 0) return options_.tasks_per_node;
    return options_.gpus_per_node > 0 ? options_.gpus_per_node : 1;
  }

  // The batch script for a job (also written to the version folder on submit).
  [[nodiscard]] std::string script(const JobSpec& spec) const {
    detail::ScriptRequest r;
    r.job_name = options_.job_name + "_" + spec.name;
    r.dir = std::filesystem::absolute(spec.dir);
    r.command = spec.command;
    r.nodes = options_.nodes;
    r.tasks_per_node = tasks_per_node();
    r.gpus_per_node = options_.gpus_per_node;
    r.cpus_per_task = options_.cpus_per_task;
    if (options_.job_ttl.count() > 0) r.time_limit_min = options_.job_ttl.count();
    else if (spec.timeout.count() > 0) r.time_limit_min = (spec.timeout.count() + 59'999) / 60'000 + 1;
    r.partition = options_.partition;
    r.account = options_.account;
    r.qos = options_.qos;
    r.mem = options_.mem;
    r.requeue = options_.requeue_preempted;
    r.srun = options_.srun == SrunMode::always ||
             (options_.srun == SrunMode::automatic && options_.nodes * tasks_per_node() > 1);
    r.extra_lines = options_.extra_sbatch_lines;
    r.env = options_.env;
    for (const auto& kv : spec.env) r.env.push_back(kv);
    r.unset = unset_line(secret_names(environ, options_.sandbox.secret_env));
    r.sandbox_prelude = sandbox_prelude(options_.sandbox, r.dir);
    r.sandbox_launcher = sandbox_launcher(options_.sandbox);
    return detail::render_script(r);
  }

  [[nodiscard]] Result<JobHandle> submit(const JobSpec& spec) {
    if (free_slots() == 0)
      return fail("no free slot for " + spec.name + " (" + std::to_string(jobs_.size()) + " Slurm jobs in flight)",
                  "submit when free_slots() > 0", ExitCode::failure);
    for (const auto& [k, v] : options_.env)
      if (!detail::env_name_ok(k))
        return fail("executor.env: '" + k + "' is not a valid environment variable name",
                    "use letters, digits and underscores, not starting with a digit");
    for (const auto& [k, v] : spec.env)
      if (!detail::env_name_ok(k))
        return fail("task.env: '" + k + "' is not a valid environment variable name",
                    "use letters, digits and underscores, not starting with a digit");
    const auto dir = std::filesystem::absolute(spec.dir);
    const auto script_path = dir / script_file;
    if (auto w = workspace::write_file_atomic(script_path, script(spec)); !w)
      return std::unexpected(w.error());
    auto run = tool("sbatch", {"--parsable", "--chdir=" + dir.string(), "--output=" + (dir / "stdout.log").string(),
                               "--error=" + (dir / "stderr.log").string(), script_path.string()});
    if (!run.started)
      return fail("cannot run " + tool_path("sbatch") + " (" + run.error + ") to submit " + spec.name,
                  "install Slurm's client commands (Debian: apt-get install slurm-client) and put them on PATH "
                  "or set executor.bin_dir; without a cluster, run with executor=local");
    if (run.status != 0) {
      std::string why(detail::trim(run.err.empty() ? run.out : run.err));
      return fail("Slurm refused the job for " + spec.name + ": " + (why.empty() ? "sbatch exit status " + std::to_string(run.status) : why),
                  "check executor.partition, account, qos, gpus_per_node, cpus_per_task, job_ttl_minutes and "
                  "extra_sbatch_lines against `sinfo` and the cluster's limits (the script is " + script_path.string() + ")");
    }
    auto id = detail::parse_sbatch_id(run.out);
    if (!id)
      return fail("sbatch accepted " + spec.name + " but printed no job id: '" + std::string(detail::trim(run.out)) + "'",
                  "check that " + tool_path("sbatch") + " is Slurm's sbatch", ExitCode::failure);
    JobHandle handle{std::string(ref_prefix) + *id};
    jobs_.emplace(handle.ref, Job(spec, *id, options_.sandbox.limits.disk_mb));
    return handle;
  }

  [[nodiscard]] std::optional<JobResult> poll(const JobHandle& handle) {
    auto it = jobs_.find(handle.ref);
    if (it == jobs_.end()) return std::nullopt;
    refresh(false);
    Job& job = it->second;
    watch(job);
    // the version folder is on storage the runner shares with the compute node
    if (!job.aborted && job.status && job.status->state == detail::JobState::running)
      job.aborted = job.disk.check(job.spec.dir);
    const auto now = Clock::now();
    if (!job.status) {
      if (job.misses < 3 && !(unreachable_since_ && now - *unreachable_since_ > options_.unreachable_limit))
        return std::nullopt;
      JobResult r = result_base(job);
      r.ended = job.misses >= 3 ? "Slurm no longer knows job " + job.id + " (purged, and sacct cannot tell how it ended)"
                                : "Slurm could not be reached for " + std::to_string(options_.unreachable_limit.count() / 1000) +
                                      " s: " + last_error_;
      return finish(it, std::move(r));
    }
    const auto& st = *job.status;
    if (detail::in_flight(st.state)) {
      if (st.state == detail::JobState::running) {
        if (!job.running_since) job.running_since = now - std::chrono::milliseconds(static_cast<long>(st.run_s * 1000));
        if (!job.cancel_sent && job.spec.timeout.count() > 0 && now - *job.running_since > job.spec.timeout) {
          job.timed_out = true;
          scancel({job.id});
          job.cancel_sent = true;
        }
      }
      if (job.aborted && !job.cancel_sent) {
        scancel({job.id});
        job.cancel_sent = true;
      }
      return std::nullopt;
    }
    if (st.state == detail::JobState::preempted && options_.requeue_preempted && !job.cancel_sent &&
        job.requeues < options_.max_requeues) {
      auto run = tool("scontrol", {"requeue", job.id});
      ++queries_;
      if (run.started && run.status == 0) {
        ++job.requeues;
        job.requeued_at = Clock::now();
        job.status->state = detail::JobState::requeued;
        job.status->state_word = "REQUEUED";
        job.running_since.reset();
        return std::nullopt;
      }
      job.requeue_error = std::string(detail::trim(run.started ? run.err : run.error));
    }
    JobResult r = result_base(job);
    r.exit_code = st.exit_code;
    r.signal = st.signal;
    r.wall_s = st.run_s;
    r.timed_out = job.timed_out || st.state == detail::JobState::timeout;
    r.ended = ended_text(job);
    return finish(it, std::move(r));
  }

  void cancel(const JobHandle& handle) {
    auto it = jobs_.find(handle.ref);
    if (it == jobs_.end()) return;
    scancel({it->second.id});
    jobs_.erase(it);
  }

  [[nodiscard]] bool reattach(const JobSpec& spec, const JobHandle& handle) {
    auto id = job_id(handle);
    if (!id) return false;
    auto found = lookup({*id});
    if (found.empty()) return false;
    const auto& st = found.front();
    std::error_code ec;
    if (!st.work_dir.empty() && !std::filesystem::equivalent(st.work_dir, spec.dir, ec)) return false;
    Job job(spec, *id, options_.sandbox.limits.disk_mb);
    job.status = st;
    jobs_.insert_or_assign(handle.ref, std::move(job));
    return true;
  }

  // For progress lines: "PENDING (Priority)", "RUNNING on node12"; empty for a job it does not track.
  [[nodiscard]] std::string state(const JobHandle& handle) const {
    auto it = jobs_.find(handle.ref);
    if (it == jobs_.end()) return {};
    if (!it->second.status) return "SUBMITTED";
    const auto& st = *it->second.status;
    if (st.state == detail::JobState::pending && !st.reason.empty() && st.reason != "None")
      return st.state_word + " (" + st.reason + ")";
    if (st.state == detail::JobState::running && !st.nodes.empty()) return st.state_word + " on " + st.nodes;
    return st.state_word;
  }

  // How many times it asked Slurm (squeue, sacct, scontrol) since it was made.
  [[nodiscard]] int queries() const { return queries_; }

  // ---- for `speedrun cancel`: jobs found outside a running executor

  // This user's queued or running jobs that belong to a run: those whose
  // working folder is `dir` or inside it, and those among `ids`.
  [[nodiscard]] Result<std::vector<std::string>> jobs_of(const std::filesystem::path& dir,
                                                         const std::vector<std::string>& ids = {}) {
    auto run = tool("squeue", {"--noheader", "--me", "--Format=JobID:|,WorkDir:|"});
    ++queries_;
    if (!run.started) return fail("cannot run " + tool_path("squeue") + " (" + run.error + ")",
                                  "install Slurm's client commands or put them on PATH");
    if (run.status != 0) return fail("squeue failed: " + std::string(detail::trim(run.err)),
                                     "check that the Slurm controller answers (`sinfo`)", ExitCode::failure);
    std::error_code ec;
    const auto root = std::filesystem::weakly_canonical(dir, ec).generic_string();
    std::vector<std::string> found;
    for (auto line : detail::split(run.out, '\n')) {
      auto f = detail::split(detail::trim(line), '|');
      if (f.size() < 2) continue;
      const std::string id(detail::trim(f[0])), wd(detail::trim(f[1]));
      if (wd == root || wd.starts_with(root + "/") || std::find(ids.begin(), ids.end(), id) != ids.end())
        found.push_back(id);
    }
    return found;
  }

  // scancel for these job ids; the refusal text when it fails.
  [[nodiscard]] Result<void> cancel_ids(const std::vector<std::string>& ids) {
    if (ids.empty()) return {};
    auto run = scancel(ids);
    if (!run.started) return fail("cannot run " + tool_path("scancel") + " (" + run.error + ")",
                                  "install Slurm's client commands or put them on PATH");
    if (run.status != 0) return fail("scancel failed: " + std::string(detail::trim(run.err)),
                                     "check the job ids with `squeue --me`", ExitCode::failure);
    return {};
  }

  static constexpr std::string_view ref_prefix = "slurm:";
  static constexpr std::string_view script_file = "slurm_job.sh";

  [[nodiscard]] static std::optional<std::string> job_id(const JobHandle& handle) {
    if (!handle.ref.starts_with(ref_prefix)) return std::nullopt;
    std::string id = handle.ref.substr(ref_prefix.size());
    if (id.empty() || !detail::to_long(id)) return std::nullopt;
    return id;
  }

 private:
  using Clock = std::chrono::steady_clock;

  struct Job {
    Job(JobSpec s, std::string i, std::int64_t disk_mb)
        : spec(std::move(s)), id(std::move(i)), watch_out(spec.watch), watch_err(spec.watch), disk(disk_mb) {}
    JobSpec spec;
    std::string id;
    std::optional<detail::JobStatus> status;
    int misses = 0;                  // refreshes in which Slurm did not list it
    std::optional<Clock::time_point> running_since;
    bool timed_out = false, cancel_sent = false;
    std::optional<std::string> aborted;
    int requeues = 0;
    std::optional<Clock::time_point> requeued_at;
    std::string requeue_error;
    metrics::LogWatch watch_out, watch_err;
    DiskQuota disk;
    off_t read_out = 0, read_err = 0;
  };

  [[nodiscard]] std::string tool_path(std::string_view name) const {
    return options_.bin_dir.empty() ? std::string(name) : (options_.bin_dir / name).string();
  }
  // Slurm's tools get our environment without credentials: sbatch would copy
  // them into the job (and the controller's records of it).
  [[nodiscard]] detail::ToolRun tool(std::string_view name, std::vector<std::string> args) const {
    args.insert(args.begin(), tool_path(name));
    std::vector<std::string> env;
    for (char** e = environ; e && *e; ++e) {
      std::string_view kv(*e);
      if (!is_secret_env(kv.substr(0, kv.find('=')), options_.sandbox.secret_env)) env.emplace_back(kv);
    }
    return detail::run_tool(args, &env);
  }
  detail::ToolRun scancel(const std::vector<std::string>& ids) {
    std::vector<std::string> args = ids;
    return tool("scancel", std::move(args));
  }

  // The jobs' states: squeue for those the controller still holds, sacct for the rest.
  [[nodiscard]] std::vector<detail::JobStatus> lookup(const std::vector<std::string>& ids) {
    auto q = detail::run_tool(detail::squeue_argv(tool_path("squeue"), ids));
    ++queries_;
    std::vector<detail::JobStatus> found;
    if (!q.started || (q.status != 0 && q.err.find("Invalid job id") == std::string::npos)) {
      last_error_ = q.started ? std::string(detail::trim(q.err)) : "cannot run squeue (" + q.error + ")";
      if (!unreachable_since_) unreachable_since_ = Clock::now();
      reachable_ = false;
      return found;
    }
    reachable_ = true;
    unreachable_since_.reset();
    if (q.status == 0) found = detail::parse_squeue(q.out);
    std::vector<std::string> missing;
    for (const auto& id : ids) {
      bool seen = false;
      for (const auto& f : found) seen = seen || f.id == id;
      if (!seen) missing.push_back(id);
    }
    if (!missing.empty() && sacct_works_) {
      auto a = detail::run_tool(detail::sacct_argv(tool_path("sacct"), missing));
      ++queries_;
      if (a.started && a.status == 0) {
        for (auto& j : detail::parse_sacct(a.out)) found.push_back(std::move(j));
      } else if (!a.started || a.err.find("disabled") != std::string::npos) {
        sacct_works_ = false;  // no accounting here: do not ask again
      }
    }
    return found;
  }

  // One lookup for every job in flight, at most once per poll interval.
  void refresh(bool force) {
    const auto now = Clock::now();
    if (!force && last_refresh_ && now - *last_refresh_ < options_.poll_interval) return;
    last_refresh_ = now;
    std::vector<std::string> ids;
    for (const auto& [ref, job] : jobs_) ids.push_back(job.id);
    if (ids.empty()) return;
    auto found = lookup(ids);
    if (!reachable_) return;
    for (auto& [ref, job] : jobs_) {
      bool seen = false;
      for (const auto& f : found)
        if (f.id == job.id) {
          // A requeued job may read as PREEMPTED for a moment, until the controller
          // acts; later, PREEMPTED is a new preemption.
          const bool stale = job.status && job.status->state == detail::JobState::requeued &&
                             f.state == detail::JobState::preempted && job.requeued_at &&
                             now - *job.requeued_at < std::chrono::seconds(30);
          if (!stale) job.status = f;
          seen = true;
        }
      job.misses = seen ? 0 : job.misses + 1;
    }
  }

  // Feeds what the logs gained since the last look to the early-abort watch.
  static void watch(Job& job) {
    if (job.spec.watch.empty() || job.aborted) return;
    auto feed = [&](const std::filesystem::path& path, off_t& offset, metrics::LogWatch& w) {
      const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return;
      char buf[1 << 16];
      ssize_t n;
      while (!job.aborted && (n = ::pread(fd, buf, sizeof buf, offset)) > 0) {
        offset += n;
        job.aborted = w.feed(std::string_view(buf, static_cast<std::size_t>(n)));
      }
      ::close(fd);
    };
    feed(job.spec.dir / "stdout.log", job.read_out, job.watch_out);
    feed(job.spec.dir / "stderr.log", job.read_err, job.watch_err);
  }

  [[nodiscard]] static JobResult result_base(const Job& job) {
    JobResult r;
    r.stdout_path = job.spec.dir / "stdout.log";
    r.stderr_path = job.spec.dir / "stderr.log";
    r.placement = "Slurm job " + job.id;
    if (job.status && !job.status->nodes.empty() && job.status->nodes != "(null)")
      r.placement += " on " + job.status->nodes;
    if (job.status && !job.status->partition.empty()) r.placement += " (partition " + job.status->partition + ")";
    return r;
  }

  // How Slurm says it ended, where the exit status does not tell.
  [[nodiscard]] static std::string ended_text(const Job& job) {
    using S = detail::JobState;
    const auto& st = *job.status;
    const std::string word = " (Slurm " + std::string(detail::trim(st.state_word.substr(0, st.state_word.find(' ')))) + ")";
    switch (st.state) {
      case S::completed: return {};
      case S::failed: return st.exit_code || st.signal ? std::string{} : "failed" + word;
      case S::timeout: return {};
      case S::cancelled:
        return job.timed_out || job.aborted ? std::string{} : "cancelled outside the runner" + word;
      case S::node_fail: return "node failure" + word;
      case S::preempted:
        return "preempted" + word +
               (job.requeues > 0 ? " after " + std::to_string(job.requeues) + " requeues" : std::string{}) +
               (job.requeue_error.empty() ? std::string{} : "; requeue failed: " + job.requeue_error);
      case S::out_of_memory: return "out of memory" + word;
      case S::boot_fail: return "node boot failure" + word;
      case S::deadline: return "missed its deadline" + word;
      default: return "ended as " + st.state_word;
    }
  }

  std::optional<JobResult> finish(std::map<std::string, Job>::iterator it, JobResult r) {
    Job& job = it->second;
    watch(job);
    if (!job.aborted) job.aborted = job.watch_out.finish();
    if (!job.aborted) job.aborted = job.watch_err.finish();
    if (!job.aborted) job.aborted = job.disk.check(job.spec.dir, true);
    r.aborted = job.aborted.value_or("");
    if (r.aborted.empty() && r.timed_out && r.wall_s < 1 && job.running_since)
      r.wall_s = std::chrono::duration<double>(Clock::now() - *job.running_since).count();
    jobs_.erase(it);
    return r;
  }

  SlurmOptions options_;
  std::map<std::string, Job> jobs_;
  std::optional<Clock::time_point> last_refresh_;
  std::optional<Clock::time_point> unreachable_since_;
  std::string last_error_;
  bool reachable_ = true;
  bool sacct_works_ = true;
  int queries_ = 0;
};

static_assert(Executor<Slurm>, "exec::Slurm must model the Executor concept");

}  // namespace speedrunner::exec
