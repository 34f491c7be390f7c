// Child speedrun processes for `sweep` and `cumulative` (see child.hpp).
#include "child.hpp"

#include <speedrunner/workspace/atomic_file.hpp>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

namespace speedrun {

namespace fs = std::filesystem;

std::string self_exe() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("speedrun") : p.string();
}

std::optional<std::string> bad_level(const std::string& level) {
  if (level == "none") return std::nullopt;
  bool digit = false;
  for (char c : level) {
    if (c >= '0' && c <= '3' && !digit) digit = true;
    else if (c == '+' && digit) digit = false;
    else
      return "hint level '" + level + "': expected none, or levels 0-3 joined by '+' (1, 2, 1+2)";
  }
  if (!digit) return "hint level '" + level + "': expected none, or levels 0-3 joined by '+' (1, 2, 1+2)";
  return std::nullopt;
}

std::vector<std::string> hint_globs(const fs::path& knowledge_dir, int record, const std::string& level) {
  std::vector<std::string> out;
  if (level == "none") return out;
  for (char c : level)
    if (c != '+')
      out.push_back((knowledge_dir / ("record_" + std::to_string(record)) / (std::string("level_") + c + "_*.txt"))
                        .string());
  return out;
}

namespace {
fs::path in_cwd_or_source(const fs::path& relative) {
  std::error_code ec;
  const fs::path here = fs::current_path() / relative;
  if (fs::exists(here, ec)) return here;
#ifdef SPEEDRUNNER_SOURCE_ROOT_DEFAULT
  return fs::path(SPEEDRUNNER_SOURCE_ROOT_DEFAULT) / relative;
#else
  return here;
#endif
}
}  // namespace

fs::path default_knowledge_dir() { return in_cwd_or_source("data/nanogpt_speedrun_knowledge_in_levels"); }
fs::path default_templates() { return in_cwd_or_source("workspace_templates/nanogpt_speedrun"); }

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// The wrapper: runs the command in the background so that a TERM or INT sent
// to the wrapper reaches it (and it can stop cleanly), waits for it to really
// end, then writes its status. $0 is the command, "$@" its arguments.
static constexpr char wrapper[] =
    "\"$0\" \"$@\" >\"$SR_CELL_LOG\" 2>&1 </dev/null & c=$!\n"
    "trap 'kill -TERM $c 2>/dev/null' TERM INT\n"
    "wait $c; rc=$?\n"
    "while kill -0 $c 2>/dev/null; do wait $c; rc=$?; done\n"
    "printf '%s\\n' \"$rc\" >\"$SR_CELL_EXIT.tmp\" && mv -f \"$SR_CELL_EXIT.tmp\" \"$SR_CELL_EXIT\"\n";

bool cell_locked(const fs::path& lock_file) {
  const int fd = ::open(lock_file.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  const bool held = ::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // releases ours, if we got it
  return held;
}

pid_t spawn_cell(const std::string& exe, const std::vector<std::string>& args, const fs::path& cwd,
                 const fs::path& log, const fs::path& exit_file, const fs::path& lock_file) {
  const int lock = ::open(lock_file.c_str(), O_RDWR | O_CREAT, 0644);
  if (lock < 0 || ::flock(lock, LOCK_EX | LOCK_NB) != 0) {
    if (lock >= 0) ::close(lock);
    return -1;
  }
  std::vector<std::string> argv_s{"/bin/sh", "-c", wrapper, exe};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string log_s = log.string(), exit_s = exit_file.string(), cwd_s = cwd.string();
  const pid_t pid = ::fork();
  if (pid != 0) {
    ::close(lock);  // the child's copy holds the lock on
    return pid;
  }
  ::setpgid(0, 0);
  ::setenv("SR_CELL_LOG", log_s.c_str(), 1);
  ::setenv("SR_CELL_EXIT", exit_s.c_str(), 1);
  // the sweep's own handlers and mask are not the cell's
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGTERM, SIG_DFL);
  if (::chdir(cwd_s.c_str()) != 0) ::_exit(126);
  ::execv("/bin/sh", argv.data());
  ::_exit(127);
}

int run_child(const std::string& exe, const std::vector<std::string>& args) {
  std::vector<std::string> argv_s{exe};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return 127;
  if (pid == 0) {
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

std::optional<int> read_exit(const fs::path& exit_file) {
  auto text = speedrunner::workspace::read_file(exit_file);
  if (!text) return std::nullopt;
  char* end = nullptr;
  const long v = std::strtol(text->c_str(), &end, 10);
  if (end == text->c_str()) return std::nullopt;
  return static_cast<int>(v);
}

bool wrapper_alive(pid_t pid, const std::string& id) {
  if (pid <= 0 || (::kill(pid, 0) != 0 && errno != EPERM)) return false;
  auto cmdline = speedrunner::workspace::read_file("/proc/" + std::to_string(pid) + "/cmdline");
  return !cmdline || cmdline->find(id) != std::string::npos;
}

std::optional<long> read_number(const fs::path& file) {
  auto t = speedrunner::workspace::read_file(file);
  if (!t) return std::nullopt;
  char* end = nullptr;
  const long v = std::strtol(t->c_str(), &end, 10);
  if (end == t->c_str()) return std::nullopt;
  return v;
}

}  // namespace speedrun
