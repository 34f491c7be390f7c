// The files of one version directory as edits see them: paths that must stay
// inside it, read-only files, binary files, and writes that land all or none.
#pragma once

#include <speedrunner/code/detail/text.hpp>
#include <speedrunner/core/error.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace speedrunner::code {

namespace fs = std::filesystem;

// A path an edit may touch: where it lives and how to name it to the model.
struct ResolvedPath {
  fs::path absolute;     // canonical root / relative, symlinks resolved
  std::string relative;  // normalized, '/'-separated, relative to the root
};

namespace detail {
inline bool inside(const fs::path& root, const fs::path& p) {
  auto [r, q] = std::mismatch(root.begin(), root.end(), p.begin(), p.end());
  return r == root.end();
}
}  // namespace detail

// Resolves `relative` (as a model wrote it) inside `root`. Refuses empty and
// absolute paths, `..` components, and symlinks that lead out of the root.
[[nodiscard]] inline Result<ResolvedPath> resolve_inside(const fs::path& root, std::string_view relative) {
  const std::string shown(relative);
  const std::string fix = "name files by their path relative to the version directory, as they were shown";
  if (relative.empty()) return fail("an edit names no file", fix);
  if (relative.find('\0') != std::string_view::npos) return fail("the path `" + shown + "` holds a NUL byte", fix);
  fs::path rel(shown);
  if (rel.is_absolute() || rel.has_root_name() || rel.has_root_directory())
    return fail("the path `" + shown + "` is absolute; edits stay inside the version directory", fix);
  for (const auto& part : rel)
    if (part == "..") return fail("the path `" + shown + "` climbs out with `..`; edits stay inside the version directory", fix);
  std::error_code ec;
  fs::path root_canon = fs::canonical(root, ec);
  if (ec) return fail("the version directory " + root.string() + " cannot be opened: " + ec.message(),
                      "check that the version directory exists", ExitCode::failure);
  fs::path target = fs::weakly_canonical(root_canon / rel, ec);
  if (ec) return fail("the path `" + shown + "` cannot be resolved: " + ec.message(), fix);
  if (!detail::inside(root_canon, target) || target == root_canon)
    return fail("the path `" + shown + "` leads outside the version directory (through a symbolic link)",
                "edit the file inside the version directory, not the link's target");
  return ResolvedPath{target, target.lexically_relative(root_canon).generic_string()};
}

// Whole-file reads and the facts edits need about a file.
struct FileText {
  bool exists = false;
  std::string bytes;  // as on disk
};

[[nodiscard]] inline Result<FileText> read_file_text(const fs::path& path, std::string_view shown) {
  std::error_code ec;
  auto st = fs::status(path, ec);
  if (ec || st.type() == fs::file_type::not_found) return FileText{};
  if (st.type() == fs::file_type::directory)
    return fail(std::string(shown) + " is a directory, not a file", "name a file inside it");
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot read " + std::string(shown), "check the file's permissions", ExitCode::failure);
  std::ostringstream buf;
  buf << in.rdbuf();
  return FileText{true, std::move(buf).str()};
}

// The version's regular files, relative and '/'-separated, sorted; hidden
// entries and folders reached through symbolic links are skipped, and the
// listing stops at `limit` files. Used to recognise a path a model misspelled.
[[nodiscard]] inline std::vector<std::string> list_version_files(const fs::path& root, std::size_t limit = 20000) {
  std::vector<std::string> out;
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end && out.size() < limit; it.increment(ec)) {
    const fs::path& p = it->path();
    if (p.filename().string().starts_with(".")) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_symlink(ec) && it->is_directory(ec)) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec)) out.push_back(p.lexically_relative(root).generic_string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// What a path that names no file most likely means among the version's files.
struct PathGuess {
  std::vector<std::string> candidates;  // one: take it; several: ambiguous
  std::string how;                      // "spelling", "base name" or "near spelling"
};

namespace detail {
// '\' -> '/', no "./", lower case, '-' -> '_': the spellings models mix up.
inline std::string loose_path(std::string_view p) {
  std::string out;
  for (char c : p) {
    if (c == '\\') c = '/';
    if (c == '-') c = '_';
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  while (out.starts_with("./")) out.erase(0, 2);
  return out;
}
inline std::string_view last_part(std::string_view p) {
  auto slash = p.rfind('/');
  return slash == std::string_view::npos ? p : p.substr(slash + 1);
}
}  // namespace detail

// Tries, in order: the same path spelled loosely (backslashes, case, `-` for
// `_`); the same base name (`path/to/x.cu` for `x.cu`), preferring files whose
// whole path ends the wanted one; a base name within two typos. A file being
// created (`creating`) is matched only by spelling, or by base name when the
// folder it names does not exist: a new file beside an old one of the same
// name is what it says.
[[nodiscard]] inline PathGuess guess_path(std::string_view wanted, const std::vector<std::string>& files,
                                          bool creating, bool folder_exists) {
  using detail::last_part;
  const std::string want = detail::loose_path(wanted);
  const std::string_view want_base = last_part(want);
  PathGuess g;
  for (const auto& f : files)
    if (detail::loose_path(f) == want) g.candidates.push_back(f);
  if (!g.candidates.empty()) return g.how = "spelling", g;
  if (creating && folder_exists) return g;
  for (const auto& f : files)
    if (last_part(detail::loose_path(f)) == want_base) g.candidates.push_back(f);
  if (g.candidates.size() > 1) {
    std::vector<std::string> suffix;
    for (const auto& f : g.candidates) {
      const std::string lf = detail::loose_path(f);
      if (want.ends_with(lf) && (want.size() == lf.size() || want[want.size() - lf.size() - 1] == '/'))
        suffix.push_back(f);
    }
    if (suffix.size() == 1) g.candidates = std::move(suffix);
  }
  if (!g.candidates.empty()) return g.how = "base name", g;
  if (creating || want_base.size() < 5) return g;
  std::size_t best = 3;
  for (const auto& f : files) {
    const std::size_t d = detail::edit_distance(last_part(detail::loose_path(f)), want_base);
    if (d < best) best = d, g.candidates.clear();
    if (d == best) g.candidates.push_back(f);
  }
  if (!g.candidates.empty()) g.how = "near spelling";
  return g;
}

// No write permission bit at all: the task or the user marked it read-only.
[[nodiscard]] inline bool write_protected(const fs::path& path) {
  std::error_code ec;
  auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return false;
  using P = fs::perms;
  return (st.permissions() & (P::owner_write | P::group_write | P::others_write)) == P::none;
}

// One file's new state in a write that lands all or none.
struct FileWrite {
  fs::path path;                        // absolute
  std::optional<std::string> content;   // nullopt: delete the file
  std::optional<std::string> original;  // nullopt: the file did not exist
  std::string shown;                    // how errors name it
};

namespace detail {
inline Result<void> write_whole(const fs::path& path, std::string_view bytes, std::string_view shown) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (out) out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return fail("could not write " + std::string(shown), "", ExitCode::failure);
  return {};
}
inline fs::path temp_beside(const fs::path& target, std::size_t k) {
  return target.parent_path() /
         ("." + target.filename().string() + ".sr-tmp-" + std::to_string(::getpid()) + "-" + std::to_string(k));
}
}  // namespace detail

// Writes every file through a temporary beside it and a rename. Any failure
// leaves every file as it was: temporaries removed, renamed files restored,
// created folders removed.
[[nodiscard]] inline Result<void> write_all_or_nothing(const std::vector<FileWrite>& writes) {
  const std::string fix = "check that the version directory is writable and the disk has room; nothing was changed";
  std::vector<fs::path> temps(writes.size());
  std::vector<fs::path> made_dirs;
  auto undo_staging = [&] {
    std::error_code ec;
    for (const auto& t : temps)
      if (!t.empty()) fs::remove(t, ec);
    for (auto it = made_dirs.rbegin(); it != made_dirs.rend(); ++it) fs::remove(*it, ec);
  };
  for (std::size_t k = 0; k < writes.size(); ++k) {
    const FileWrite& w = writes[k];
    if (!w.content) continue;
    std::error_code ec;
    // Folders a new file needs, remembered so a failed round leaves none behind.
    std::vector<fs::path> missing;
    for (fs::path d = w.path.parent_path(); !d.empty() && !fs::exists(d, ec); d = d.parent_path()) missing.push_back(d);
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
      if (!fs::create_directory(*it, ec) && ec) {
        undo_staging();
        return fail("could not create the folder for " + w.shown + ": " + ec.message(), fix, ExitCode::failure);
      }
      made_dirs.push_back(*it);
    }
    temps[k] = detail::temp_beside(w.path, k);
    if (auto r = detail::write_whole(temps[k], *w.content, w.shown); !r) {
      undo_staging();
      return fail("could not write " + w.shown + " (its temporary file " + temps[k].filename().string() + ")", fix,
                  ExitCode::failure);
    }
    if (w.original) {
      fs::permissions(temps[k], fs::status(w.path, ec).permissions(), ec);
    }
  }
  for (std::size_t k = 0; k < writes.size(); ++k) {
    const FileWrite& w = writes[k];
    std::error_code ec;
    if (w.content) fs::rename(temps[k], w.path, ec);
    else fs::remove(w.path, ec);
    if (!ec) {
      temps[k].clear();
      continue;
    }
    std::string reason = ec.message();
    // Put back what was already renamed; best effort, the error says what failed.
    for (std::size_t j = 0; j < k; ++j) {
      const FileWrite& done = writes[j];
      std::error_code ignore;
      if (done.original) (void)detail::write_whole(done.path, *done.original, done.shown);
      else fs::remove(done.path, ignore);
    }
    undo_staging();
    return fail("could not replace " + w.shown + ": " + reason, fix, ExitCode::failure);
  }
  return {};
}

}  // namespace speedrunner::code
