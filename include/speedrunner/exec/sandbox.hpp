// The sandbox a node's launch command runs in (executor.sandbox=bwrap, the
// default): bubblewrap with fresh user, PID, network, IPC and UTS namespaces,
// no capabilities, the version folder as the only writable host path, a
// private /tmp, the system's toolchains, the track's data and the GPU device
// nodes read-only, resource limits, and an environment without credentials.
// Both executors run it the same way: a bash prelude (run on the machine that
// runs the job, so a Slurm node decides for itself which GPU device nodes it
// has) that checks bwrap, then `exec bwrap ... -- /bin/sh -c CMD`.
#pragma once

#include <speedrunner/core/error.hpp>
#include <speedrunner/exec/detail/slurm_cli.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <dirent.h>
#include <signal.h>
#include <sys/types.h>

namespace speedrunner::exec {

enum class SandboxKind { bwrap, off };

// Per-node limits, set with `ulimit` before bwrap starts (every process of the
// node inherits them). 0 leaves a limit as the machine has it.
struct SandboxLimits {
  std::int64_t processes = 8192;    // ulimit -u: processes and threads of the user (not enforced for root)
  std::int64_t open_files = 65536;  // ulimit -n
  std::int64_t file_mb = 32768;     // ulimit -f: the largest file a node may write (logs included)
  std::int64_t memory_mb = 0;       // ulimit -v: address space; CUDA programs reserve far more than they use
  std::int64_t tmp_mb = 4096;       // size of the private /tmp and of /dev/shm (memory-backed)
  // The version folder's total size (exec/disk.hpp): measured by the executor,
  // which stops a node past it, sandboxed or not.
  std::int64_t disk_mb = 65536;
};

struct SandboxOptions {
  SandboxKind kind = SandboxKind::bwrap;
  std::string bwrap = "bwrap";                // the program, looked up on PATH unless it has a slash
  std::vector<std::string> read_only{};       // more host paths seen read-only (the track's data, a toolchain)
  std::vector<std::string> writable{};        // more host paths seen writable (a shared object cache)
  bool network = false;                       // keep the host's network (a task that downloads)
  SandboxLimits limits{};
  std::vector<std::string> secret_env{};      // more variables kept from the node (the model's api_key_env)
};

// Variables of the provider keys the shipped model configs name.
inline constexpr std::string_view provider_key_names[] = {
    "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AZURE_OPENAI_API_KEY", "DEEPSEEK_API_KEY",
    "GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENROUTER_API_KEY", "HF_TOKEN"};

// Whether a variable holds a credential a node must not see: a provider key,
// a name in `extra`, or one that reads like a secret (..._API_KEY, ..._TOKEN,
// ..._SECRET..., ..._PASSWORD, ..._ACCESS_KEY...).
[[nodiscard]] inline bool is_secret_env(std::string_view name, const std::vector<std::string>& extra = {}) {
  for (auto p : provider_key_names)
    if (name == p) return true;
  for (const auto& e : extra)
    if (name == e) return true;
  std::string up(name);
  for (auto& c : up) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
  auto ends = [&](std::string_view s) { return up.size() >= s.size() && up.ends_with(s); };
  return ends("API_KEY") || ends("_TOKEN") || ends("_PASSWORD") || up.find("SECRET") != std::string::npos ||
         up.find("ACCESS_KEY") != std::string::npos;
}

// The names in `environment` ("K=V" strings, as environ) that is_secret_env drops.
[[nodiscard]] inline std::vector<std::string> secret_names(char** environment, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> out;
  for (char** e = environment; e && *e; ++e) {
    std::string_view kv(*e);
    const auto eq = kv.find('=');
    if (eq != std::string_view::npos && is_secret_env(kv.substr(0, eq), extra)) out.emplace_back(kv.substr(0, eq));
  }
  return out;
}

namespace detail {

// /etc is not shown whole (as root, /etc/shadow would be readable): only what
// compilers, the dynamic loader, name lookup and TLS read.
inline constexpr std::string_view sandbox_etc[] = {
    "/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/passwd",
    "/etc/group", "/etc/nsswitch.conf", "/etc/hosts", "/etc/host.conf", "/etc/localtime", "/etc/ssl",
    "/etc/ca-certificates", "/etc/pki", "/etc/os-release", "/etc/nccl.conf", "/etc/OpenCL", "/etc/vulkan"};

// `ulimit -S` to the value, or to the hard limit where that is lower.
inline std::string ulimit_line(char flag, std::int64_t value) {
  const std::string f = std::string("-") + flag;
  return "ulimit -S " + f + " " + std::to_string(value) + " 2>/dev/null || ulimit -S " + f + " \"$(ulimit -H " + f +
         ")\"\n";
}

}  // namespace detail

// The shell lines that prepare the sandbox for a job in `dir` (absolute): they
// set the limits, check that bwrap exists and can create its namespaces (else
// print what is wrong, then "  fix: ...", and exit 125), and leave bwrap's
// arguments in "$@". `check_namespaces` false skips the trial run of bwrap
// (one sandbox start) where check_sandbox has passed on this machine already.
// Empty when the sandbox is off.
[[nodiscard]] inline std::string sandbox_prelude(const SandboxOptions& o, const std::filesystem::path& dir,
                                                 bool check_namespaces = true) {
  using detail::shell_quote;
  if (o.kind == SandboxKind::off) return {};
  std::string s = "# the node's sandbox (executor.sandbox=bwrap; docs/sandbox.md)\n";
  const auto& l = o.limits;
  if (l.processes > 0) s += detail::ulimit_line('u', l.processes);
  if (l.open_files > 0) s += detail::ulimit_line('n', l.open_files);
  if (l.file_mb > 0) s += detail::ulimit_line('f', l.file_mb * 1024);  // in 1024-byte blocks
  if (l.memory_mb > 0) s += detail::ulimit_line('v', l.memory_mb * 1024);
  s += "sr_bwrap=" + shell_quote(o.bwrap) + "\n";
  s += "if ! command -v \"$sr_bwrap\" >/dev/null 2>&1; then\n"
       "  echo \"speedrun: the sandbox needs bwrap (bubblewrap), which is not installed on $(uname -n) "
       "(executor.bwrap=$sr_bwrap)\" >&2\n"
       "  echo \"  fix: install it (Debian/Ubuntu: apt-get install bubblewrap; Fedora/RHEL: dnf install bubblewrap), "
       "set executor.bwrap to its path, or run nodes unconfined with executor.sandbox=off\" >&2\n"
       "  exit 125\nfi\n";
  // Namespaces first, so the check below tries exactly those.
  s += "set -- --unshare-all --unshare-user --disable-userns --die-with-parent --new-session --cap-drop ALL";
  if (o.network) s += " --share-net";
  s += "\n";
  if (check_namespaces)
    s += "if ! sr_err=$(\"$sr_bwrap\" \"$@\" --ro-bind / / /bin/true 2>&1); then\n"
       "  echo \"speedrun: the sandbox cannot start on $(uname -n): $sr_bwrap says: $sr_err\" >&2\n"
       "  echo \"  fix: bwrap needs unprivileged user namespaces; check with 'unshare -Ur true' (here "
       "/proc/sys/user/max_user_namespaces is $(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo missing); "
       "0 means disabled); ask the machine's admins to enable them (docs/sandbox.md), or run nodes unconfined with "
       "executor.sandbox=off\" >&2\n"
       "  exit 125\nfi\n";
  // The system: /usr, and /bin, /lib... as this machine has them (links under merged /usr).
  s += "set -- \"$@\" --ro-bind /usr /usr\n"
       "for p in /bin /sbin /lib /lib32 /lib64 /libx32; do\n"
       "  if [ -L \"$p\" ]; then set -- \"$@\" --symlink \"$(readlink \"$p\")\" \"$p\";\n"
       "  elif [ -d \"$p\" ]; then set -- \"$@\" --ro-bind \"$p\" \"$p\"; fi\n"
       "done\n";
  s += "set -- \"$@\" --ro-bind-try /opt /opt";
  for (auto e : detail::sandbox_etc) s += " --ro-bind-try " + std::string(e) + " " + std::string(e);
  s += " --proc /proc --dev /dev --ro-bind-try /sys /sys\n";
  // The GPUs: device nodes of this machine (NVIDIA's, and DRI for others).
  s += "for d in /dev/nvidia* /dev/nvidia-caps /dev/dri; do [ -e \"$d\" ] && set -- \"$@\" --dev-bind \"$d\" \"$d\"; done\n";
  const std::string size = l.tmp_mb > 0 ? "--size " + std::to_string(l.tmp_mb * 1024 * 1024) + " " : std::string{};
  s += "set -- \"$@\" " + size + "--tmpfs /tmp " + size + "--tmpfs /dev/shm\n";
  // Toolkits named by the environment (a module system's CUDA) and the paths
  // of the options: the real folder (links followed) shown at the path given,
  // where the node's configuration names it; what /usr and /opt hold is there already.
  s += "sr_bind() {\n"
       "  sr_p=$(readlink -f -- \"$2\" 2>/dev/null) || return 0\n"
       "  case $1:$sr_p in --ro-bind-try:/usr/*|--ro-bind-try:/opt/*|*:) return 0;; esac\n"
       "  sr_args+=(\"$1\" \"$sr_p\" \"$2\")\n"
       "}\n"
       "sr_args=()\n"
       "for d in \"${CUDA_HOME:-}\" \"${CUDA_PATH:-}\" \"${NCCL_ROOT:-}\"; do case $d in /*) sr_bind --ro-bind-try \"$d\";; esac; done\n";
  for (const auto& p : o.read_only)
    s += "sr_bind --ro-bind-try " + shell_quote(std::filesystem::absolute(p).lexically_normal().string()) + "\n";
  for (const auto& p : o.writable)
    s += "sr_bind --bind-try " + shell_quote(std::filesystem::absolute(p).lexically_normal().string()) + "\n";
  s += "set -- \"$@\" \"${sr_args[@]}\"\n";
  // The version folder last, so it stays writable under any path given above.
  const std::string d = shell_quote(std::filesystem::absolute(dir).lexically_normal().string());
  // The sandbox's own root (a tmpfs holding the mount points) read-only, so
  // nothing can be written outside the folder, /tmp and /dev/shm.
  s += "set -- \"$@\" --bind " + d + " " + d + " --chdir " + d +
       " --remount-ro / --setenv TMPDIR /tmp --setenv HOME /tmp\n";
  // SIGTERM is for the command. Slurm's scancel and time limit signal every
  // process of the job, bwrap included, and bwrap's end would take the sandbox
  // down at once (SIGKILL), leaving no grace. So bwrap and the sandbox's init
  // inherit an ignored SIGTERM, and env (coreutils 9.0 or later) gives the
  // command the default back; where env cannot, bwrap ends on SIGTERM as before.
  s += "sr_term=\nif env --default-signal=TERM true 2>/dev/null; then trap '' TERM; sr_term='env --default-signal=TERM'; fi\n";
  return s;
}

// What goes before `/bin/sh -c CMD` on the line that starts the command: bwrap
// with the arguments the prelude left. Empty when the sandbox is off.
[[nodiscard]] inline std::string sandbox_launcher(const SandboxOptions& o) {
  return o.kind == SandboxKind::off ? std::string{} : std::string("\"$sr_bwrap\" \"$@\" -- $sr_term ");
}

// `unset` of the credentials a node must not inherit; empty when there are none.
[[nodiscard]] inline std::string unset_line(const std::vector<std::string>& names) {
  if (names.empty()) return {};
  std::string s = "unset";
  for (const auto& n : names) s += " " + n;
  return s + "\n";
}

// The whole script a local job runs, by /bin/bash: the prelude, then the
// command in the sandbox; the command alone (for /bin/sh) when the sandbox is off.
[[nodiscard]] inline std::string sandboxed_command(const SandboxOptions& o, const std::filesystem::path& dir,
                                                   const std::string& command, bool check_namespaces = true) {
  if (o.kind == SandboxKind::off) return command;
  return sandbox_prelude(o, dir, check_namespaces) + "exec " + sandbox_launcher(o) + "/bin/sh -c " + detail::shell_quote(command) + "\n";
}

// Whether the sandbox starts here for a job in `dir`: runs the prelude and an
// empty command; the error says what is wrong and how to fix it.
[[nodiscard]] inline Result<void> check_sandbox(const SandboxOptions& o, const std::filesystem::path& dir) {
  if (o.kind == SandboxKind::off) return {};
  auto run = detail::run_tool({"/bin/bash", "-c", sandboxed_command(o, dir, "exit 0")});
  if (!run.started)
    return fail("executor.sandbox=bwrap: cannot run /bin/bash, which sets the sandbox up (" + run.error + ")",
                "install bash, or run nodes unconfined with executor.sandbox=off");
  if (run.status == 0) return {};
  std::string err(detail::trim(run.err));
  if (auto at = err.find("speedrun: "); at != std::string::npos) err.erase(0, at);
  std::string what = err, fix;
  if (auto at = err.find("\n  fix: "); at != std::string::npos) {
    what = err.substr(0, at);
    fix = err.substr(at + 8);
  }
  if (what.starts_with("speedrun: ")) what.erase(0, 10);
  if (fix.empty())
    fix = "check executor.sandbox_read_only and executor.sandbox_writable (each a host path), or run nodes "
          "unconfined with executor.sandbox=off";
  if (what.empty()) what = "the sandbox exited with status " + std::to_string(run.status);
  return fail("executor.sandbox=bwrap: " + what, fix);
}

// Sends `sig` to every process below `root` (not to `root`): the sandbox's
// processes, including those that left the job's process group or session.
// bwrap itself (the root) is spared, so a SIGTERM reaches the command without
// tearing the sandbox down; the sandbox's init ignores it, as PID 1 does.
inline void signal_descendants(pid_t root, int sig) {
  std::multimap<pid_t, pid_t> children;
  if (DIR* proc = ::opendir("/proc")) {
    while (dirent* e = ::readdir(proc)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      std::ifstream stat(std::string("/proc/") + e->d_name + "/stat");
      std::string line;
      if (!std::getline(stat, line)) continue;
      const auto close = line.rfind(')');
      if (close == std::string::npos) continue;
      char state = 0;
      long ppid = 0;
      if (std::sscanf(line.c_str() + close + 1, " %c %ld", &state, &ppid) == 2)
        children.emplace(static_cast<pid_t>(ppid), static_cast<pid_t>(std::atol(e->d_name)));
    }
    ::closedir(proc);
  }
  std::vector<pid_t> todo{root};
  while (!todo.empty()) {
    const pid_t p = todo.back();
    todo.pop_back();
    auto [lo, hi] = children.equal_range(p);
    for (auto it = lo; it != hi; ++it) {
      ::kill(it->second, sig);
      todo.push_back(it->second);
    }
  }
}

// SIGTERM for a sandboxed job whose first process is `root`: the processes in
// the sandbox once the prelude has become bwrap (named `bwrap_program`), else
// the prelude's process group (the command has not started).
inline void terminate_sandboxed(pid_t root, std::string_view bwrap_program) {
  std::ifstream in("/proc/" + std::to_string(root) + "/comm");
  std::string comm;
  std::getline(in, comm);
  // The kernel keeps the first 15 bytes of a program's name.
  const std::string name = std::filesystem::path(bwrap_program).filename().string().substr(0, 15);
  if (comm == name) signal_descendants(root, SIGTERM);
  else ::killpg(root, SIGTERM);
}

}  // namespace speedrunner::exec
