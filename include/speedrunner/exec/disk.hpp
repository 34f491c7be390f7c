// The disk quota of a node: the total size of its version folder, measured by
// the executor while the job runs (at most once per interval, so a folder of
// many files costs little), and the reason to stop a job that went past it.
// ulimit -f bounds each file and the sandbox's tmpfs bounds /tmp; this bounds
// their sum in the folder, with or without the sandbox.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include <sys/stat.h>

namespace speedrunner::exec {

// Bytes the folder's files take on disk (allocated blocks; each inode once;
// links not followed). Stops counting once past `stop_above` (0: never).
[[nodiscard]] inline std::uintmax_t folder_bytes(const std::filesystem::path& dir, std::uintmax_t stop_above = 0) {
  namespace fs = std::filesystem;
  std::uintmax_t total = 0;
  std::set<std::pair<dev_t, ino_t>> seen;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    if (st.st_nlink > 1 && !S_ISDIR(st.st_mode) && !seen.emplace(st.st_dev, st.st_ino).second) continue;
    total += static_cast<std::uintmax_t>(st.st_blocks) * 512;
    if (stop_above > 0 && total > stop_above) break;
  }
  return total;
}

// One job's quota: check() measures the folder when `every` has passed since
// the last look, and says why to stop the job once it holds more than the limit.
class DiskQuota {
 public:
  DiskQuota() = default;
  explicit DiskQuota(std::int64_t limit_mb, std::chrono::milliseconds every = std::chrono::seconds(1))
      : limit_mb_(limit_mb), every_(every) {}

  [[nodiscard]] std::int64_t limit_mb() const { return limit_mb_; }

  // `force`: measure now (the job just ended), whatever the interval.
  [[nodiscard]] std::optional<std::string> check(const std::filesystem::path& dir, bool force = false) {
    if (limit_mb_ <= 0) return std::nullopt;
    const auto now = std::chrono::steady_clock::now();
    if (!force && last_ && now - *last_ < every_) return std::nullopt;
    last_ = now;
    const std::uintmax_t limit = static_cast<std::uintmax_t>(limit_mb_) * 1024 * 1024;
    const std::uintmax_t used = folder_bytes(dir, limit);
    if (used <= limit) return std::nullopt;
    return "its folder holds more than its disk limit of " + std::to_string(limit_mb_) +
           " MB (executor.limits.disk_mb); raise the limit, or keep large outputs out of the version folder";
  }

 private:
  std::int64_t limit_mb_ = 0;  // 0: no quota
  std::chrono::milliseconds every_{1000};
  std::optional<std::chrono::steady_clock::time_point> last_;
};

}  // namespace speedrunner::exec
