// A run directory: v_0 copied from the task's template, v_k copied from its
// parent minus an ignore list, each version with meta.json and results.json,
// and journal.json for the whole tree. Folders appear whole (copied under a
// temporary name, then renamed) and files are written atomically.
#pragma once

#include <speedrunner/core/error.hpp>
#include <speedrunner/workspace/atomic_file.hpp>
#include <speedrunner/workspace/node.hpp>

#include <boost/json/serialize.hpp>

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <fnmatch.h>

namespace speedrunner::workspace {

// Files the run itself writes into a version; never copied into a child.
// (The coder's transcript and the model call logs, llm_<agent>.jsonl, too.)
inline constexpr std::string_view meta_file = "meta.json";
inline constexpr std::string_view results_file = "results.json";
inline constexpr std::string_view stdout_file = "stdout.log";
inline constexpr std::string_view stderr_file = "stderr.log";

// True when `relative` (a path inside a version) matches one of the glob
// patterns, compared with its file name and with the whole relative path.
[[nodiscard]] inline bool ignored(const std::filesystem::path& relative,
                                  const std::vector<std::string>& patterns) {
  const std::string name = relative.filename().string(), whole = relative.generic_string();
  for (const auto& p : patterns)
    if (::fnmatch(p.c_str(), name.c_str(), 0) == 0 || ::fnmatch(p.c_str(), whole.c_str(), 0) == 0)
      return true;
  return false;
}

class Workspace {
 public:
  // Opens an existing run directory.
  [[nodiscard]] static Result<Workspace> open(std::filesystem::path root) {
    if (!std::filesystem::is_directory(root / "v_0"))
      return fail(root.string() + ": not a run directory (no v_0 inside)",
                  "pass the folder a run printed at its start, e.g. workspaces/collatz_20250101_120000");
    return Workspace(std::move(root));
  }

  // Creates the run directory with v_0 copied from `template_dir`.
  [[nodiscard]] static Result<Workspace> create(std::filesystem::path root,
                                                const std::filesystem::path& template_dir,
                                                const std::vector<std::string>& ignore = {}) {
    std::error_code ec;
    if (!std::filesystem::is_directory(template_dir, ec))
      return fail("workspace template " + template_dir.string() + " is not a folder",
                  "check task.template in the config (a folder under workspace_templates/)");
    if (std::filesystem::exists(root / "journal.json", ec))
      return fail(root.string() + " already holds a run",
                  "resume it with `speedrun resume " + root.string() + "` or choose another workspace.root");
    // A v_0 without a journal is a start that was killed before its first
    // journal: nothing of it was recorded, so it is made again.
    std::filesystem::remove_all(root / "v_0", ec);
    if (ec) return fail(root.string() + "/v_0: cannot replace an unfinished start (" + ec.message() + ")",
                        "check permissions, or choose another workspace.root");
    std::filesystem::create_directories(root, ec);
    if (ec) return fail(root.string() + ": cannot create (" + ec.message() + ")", "check permissions");
    Workspace ws(std::move(root));
    if (auto r = ws.copy_tree(template_dir, ws.dir(0), ignore); !r) return std::unexpected(r.error());
    return ws;
  }

  [[nodiscard]] const std::filesystem::path& root() const { return root_; }
  [[nodiscard]] std::filesystem::path dir(NodeId id) const { return root_ / version_name(id); }
  [[nodiscard]] std::filesystem::path journal_path() const { return root_ / "journal.json"; }

  // (Re)creates v_k as a copy of its parent; a leftover folder from an
  // interrupted attempt is replaced.
  [[nodiscard]] Result<void> create_version(NodeId id, NodeId parent,
                                            const std::vector<std::string>& ignore) const {
    std::error_code ec;
    std::filesystem::remove_all(dir(id), ec);
    if (ec) return fail(dir(id).string() + ": cannot remove a stale copy (" + ec.message() + ")");
    return copy_tree(dir(parent), dir(id), ignore);
  }

  // meta.json and results.json of the node's version, each written atomically.
  [[nodiscard]] Result<void> save(const Node& node) const {
    auto d = dir(node.id);
    // Only into the version's own folder: a node program may have planted a
    // symlink at a later version's name.
    std::error_code ec;
    if (!std::filesystem::is_directory(std::filesystem::symlink_status(d, ec)))
      return fail(d.string() + " is not a folder of this run (a symlink or a file stands there)",
                  "remove it; a node program must not write outside its own version folder", ExitCode::failure);
    if (auto r = write_file_atomic(d / meta_file, boost::json::serialize(meta_json(node)) + "\n"); !r)
      return r;
    return write_file_atomic(d / results_file, boost::json::serialize(results_json(node)) + "\n");
  }

 private:
  explicit Workspace(std::filesystem::path root) : root_(std::move(root)) {}

  [[nodiscard]] static Result<void> copy_tree(const std::filesystem::path& from,
                                              const std::filesystem::path& to,
                                              const std::vector<std::string>& ignore) {
    namespace fs = std::filesystem;
    const fs::path partial = to.parent_path() / ("." + to.filename().string() + ".partial");
    std::error_code ec;
    fs::remove_all(partial, ec);
    fs::create_directories(partial, ec);
    auto os_error = [&](const fs::path& p) {
      return fail("copying " + p.string() + " into " + to.string() + " failed (" + ec.message() + ")",
                  "check free disk space and permissions", ExitCode::failure);
    };
    if (ec) return os_error(partial);
    auto it = fs::recursive_directory_iterator(from, ec);
    if (ec) return os_error(from);
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) return os_error(from);
      // lexical: fs::relative would resolve a symlink to its target, which may lie outside
      const fs::path rel = it->path().lexically_relative(from);
      const auto name = rel.filename().string();
      const bool own_record =
          it.depth() == 0 && (name == meta_file || name == results_file || name == stdout_file ||
                              name == stderr_file || name == "coder_history.jsonl" || name == "coder.md" ||
                              ::fnmatch("llm*.jsonl", name.c_str(), 0) == 0 ||
                              ::fnmatch(".*.json.tmp*", name.c_str(), FNM_PERIOD) == 0);  // a killed write's
      if (own_record || ignored(rel, ignore)) {
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      const fs::path target = partial / rel;
      if (it->is_symlink()) fs::copy_symlink(it->path(), target, ec);
      else if (it->is_directory()) fs::create_directories(target, ec);
      else fs::copy_file(it->path(), target, fs::copy_options::overwrite_existing, ec);
      if (ec) return os_error(it->path());
    }
    fs::rename(partial, to, ec);
    if (ec) return os_error(partial);
    return {};
  }

  std::filesystem::path root_;
};

}  // namespace speedrunner::workspace
