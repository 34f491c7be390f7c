// Helpers shared by tests: running the speedrun executable, temporary folders.
#pragma once

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace speedrunner::testing {

struct Run {
  int status = -1;      // exit code, or -1 when it did not exit normally
  std::string output;   // stdout and stderr together
};

// Runs a shell command line, capturing stdout and stderr together.
inline Run run_shell(const std::string& command) {
  Run r;
  std::FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf{};
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), pipe)) r.output.append(buf.data(), n);
  int raw = ::pclose(pipe);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return r;
}

// The speedrun executable under test (set by tests/meson.build).
inline std::string speedrun_exe() {
  const char* p = std::getenv("SPEEDRUN_EXE");
  return p != nullptr ? p : "speedrun";
}

inline std::filesystem::path source_root() {
  const char* p = std::getenv("SPEEDRUNNER_SOURCE_ROOT");
  return p != nullptr ? p : std::filesystem::current_path();
}

// N of the NanoGPT record templates present, workspace_templates/nanogpt_speedrun/record_1 ..
// record_N (0 when there is none): the record tests cover every record and every step R -> R+1.
inline int last_record() {
  const auto templates = source_root() / "workspace_templates" / "nanogpt_speedrun";
  int last = 0;
  while (std::filesystem::is_directory(templates / ("record_" + std::to_string(last + 1)))) ++last;
  return last;
}

// A file's bytes ("" when it cannot be read).
inline std::string slurp(const std::filesystem::path& p) {
  std::ostringstream s;
  s << std::ifstream(p, std::ios::binary).rdbuf();
  return s.str();
}

// Writes a file, creating its folder.
inline void spit(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

// A working directory that sees the source tree's config, data and templates.
inline void link_sources(const std::filesystem::path& cwd) {
  for (const char* d : {"config", "data", "workspace_templates"})
    std::filesystem::create_directory_symlink(source_root() / d, cwd / d);
}

// Starts speedrun ARGS in `cwd` with its stdout and stderr in `out`, without waiting; returns the
// child's pid (-1 when fork failed), for tests that signal or watch a running loop.
inline pid_t spawn_speedrun(const std::filesystem::path& cwd, const std::filesystem::path& out,
                            std::vector<std::string> args) {
  const std::string exe = speedrun_exe(), dir = cwd.string(), log = out.string();
  args.insert(args.begin(), exe);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t child = ::fork();  // the child calls only async-signal-safe functions
  if (child == 0) {
    if (::chdir(dir.c_str()) != 0) ::_exit(126);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  return child;
}

// A fresh directory under the system temp folder, removed when it goes out of scope.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "sr-test") {
    std::random_device rd;
    auto base = std::filesystem::temp_directory_path();
    do {
      path_ = base / (prefix + "-" + std::to_string(rd()));
    } while (std::filesystem::exists(path_));
    std::filesystem::create_directories(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace speedrunner::testing
