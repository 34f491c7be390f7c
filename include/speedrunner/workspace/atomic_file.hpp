// Whole-file reads and crash-safe writes: a write goes to a temporary file in
// the same folder, is flushed to disk, then renamed over the target, so a kill
// at any moment leaves either the old or the new content, never half of one.
// The temporary file is created exclusively (O_EXCL | O_NOFOLLOW) under an
// unpredictable name: a node program that plants a symlink where the runner
// writes cannot redirect the write (rename replaces a link, never follows it).
#pragma once

#include <speedrunner/core/error.hpp>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <string_view>

#include <fcntl.h>
#include <unistd.h>

namespace speedrunner::workspace {

[[nodiscard]] inline Result<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(path.string() + ": cannot be read (" + std::strerror(errno) + ")",
                       "check that the file exists and is readable");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

[[nodiscard]] inline Result<void> write_file_atomic(const std::filesystem::path& path,
                                                    std::string_view content) {
  static std::atomic<unsigned> counter{0};
  std::filesystem::path tmp;
  auto os_error = [&](std::string_view step) {
    std::string what = path.string() + ": " + std::string(step) + " failed (" +
                       std::strerror(errno) + ")";
    ::unlink(tmp.c_str());
    return fail(std::move(what), "check free disk space and permissions of " +
                                     path.parent_path().string(), ExitCode::failure);
  };
  int fd = -1;
  for (int attempt = 0; fd < 0 && attempt < 16; ++attempt) {
    const auto salt = std::random_device{}() ^ (counter.fetch_add(1) * 0x9e3779b9u);
    tmp = path.parent_path() / ("." + path.filename().string() + ".tmp" + std::to_string(::getpid()) + "." +
                                std::to_string(salt));
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) {
    std::string what = path.string() + ": creating a temporary file failed (" + std::strerror(errno) + ")";
    return fail(std::move(what), "check free disk space and permissions of " + path.parent_path().string(),
                ExitCode::failure);
  }
  for (std::size_t done = 0; done < content.size();) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return os_error("writing");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    return os_error("flushing");
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return os_error("renaming into place");
  return {};
}

}  // namespace speedrunner::workspace
