// PatchCoder: applies a given unified diff with line numbers (as `diff -u` and
// `git diff` write them) without a model. It is the oracle that applies the
// level-0 hint, so a hunk that does not apply is an error naming that hunk.
#pragma once

#include <speedrunner/code/coder.hpp>
#include <speedrunner/code/detail/text.hpp>
#include <speedrunner/code/match.hpp>
#include <speedrunner/code/version_files.hpp>
#include <speedrunner/core/error.hpp>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace speedrunner::code {

struct PatchHunk {
  std::string header;              // "@@ -40,7 +40,9 @@ def main():"
  std::size_t old_start = 0, old_count = 0, new_start = 0, new_count = 0;
  std::vector<std::string> lines;  // with their ' ', '-', '+' prefix
  bool old_lacks_final_newline = false;
  bool new_lacks_final_newline = false;
};

struct FilePatch {
  std::string old_path, new_path;  // as written, after a/ b/ prefixes are removed; "/dev/null" for none
  std::vector<PatchHunk> hunks;
  [[nodiscard]] bool creates() const { return old_path == "/dev/null"; }
  [[nodiscard]] bool deletes() const { return new_path == "/dev/null"; }
  [[nodiscard]] const std::string& path() const { return deletes() ? old_path : new_path; }
};

namespace detail {

inline bool parse_range(std::string_view s, std::size_t& start, std::size_t& count) {
  auto digits = [](std::string_view d, std::size_t& out) {
    if (d.empty()) return false;
    out = 0;
    for (char c : d) {
      if (c < '0' || c > '9') return false;
      out = out * 10 + static_cast<std::size_t>(c - '0');
    }
    return true;
  };
  auto comma = s.find(',');
  if (comma == std::string_view::npos) {
    count = 1;
    return digits(s, start);
  }
  return digits(s.substr(0, comma), start) && digits(s.substr(comma + 1), count);
}

// "@@ -a,b +c,d @@ ..." -> the four numbers.
inline bool parse_hunk_header(std::string_view line, PatchHunk& h) {
  if (!line.starts_with("@@ -")) return false;
  auto end = line.find(" @@", 3);
  if (end == std::string_view::npos) return false;
  std::string_view ranges = line.substr(4, end - 4);
  auto space = ranges.find(" +");
  if (space == std::string_view::npos) return false;
  return parse_range(ranges.substr(0, space), h.old_start, h.old_count) &&
         parse_range(ranges.substr(space + 2), h.new_start, h.new_count);
}

inline std::string diff_path(std::string_view rest) {
  if (auto tab = rest.find('\t'); tab != std::string_view::npos) rest = rest.substr(0, tab);
  rest = trim(rest);
  if (rest.size() >= 2 && rest.front() == '"' && rest.back() == '"') rest = rest.substr(1, rest.size() - 2);
  return std::string(rest);
}

}  // namespace detail

// Parses a unified diff with line numbers. Checks every hunk's line counts
// against its header; refuses renames and binary patches.
[[nodiscard]] inline Result<std::vector<FilePatch>> parse_patch(std::string_view diff) {
  using namespace detail;
  const std::vector<std::string> lines = split_lines(to_lf(diff));
  std::vector<FilePatch> patches;
  const std::string fix = "give a unified diff as `diff -u OLD NEW` or `git diff` writes it";
  std::size_t i = 0;
  while (i < lines.size()) {
    const std::string& l = lines[i];
    if (l.starts_with("rename from ") || l.starts_with("copy from "))
      return fail("the diff renames or copies a file (line " + std::to_string(i + 1) + "), which is not supported",
                  "give the renamed file as a deletion and a creation");
    if (l.starts_with("GIT binary patch") || (l.starts_with("Binary files ") && l.ends_with(" differ")))
      return fail("the diff changes a binary file (line " + std::to_string(i + 1) + ")",
                  "binary files are not patched; leave them out of the diff");
    if (!(l.starts_with("--- ") && i + 1 < lines.size() && lines[i + 1].starts_with("+++ "))) {
      ++i;
      continue;
    }
    FilePatch file;
    file.old_path = diff_path(std::string_view(l).substr(4));
    file.new_path = diff_path(std::string_view(lines[i + 1]).substr(4));
    const bool git_style = (file.old_path.starts_with("a/") || file.old_path == "/dev/null") &&
                           (file.new_path.starts_with("b/") || file.new_path == "/dev/null");
    if (git_style) {
      if (file.old_path != "/dev/null") file.old_path.erase(0, 2);
      if (file.new_path != "/dev/null") file.new_path.erase(0, 2);
    }
    i += 2;
    while (i < lines.size() && lines[i].starts_with("@@")) {
      PatchHunk h;
      h.header = lines[i];
      const std::string where = "hunk " + std::to_string(file.hunks.size() + 1) + " for " + file.path() + " (line " +
                                std::to_string(i + 1) + ")";
      if (!parse_hunk_header(lines[i], h)) return fail(where + ": cannot read the header `" + lines[i] + "`", fix);
      ++i;
      std::size_t old_seen = 0, new_seen = 0;
      while (i < lines.size() && (old_seen < h.old_count || new_seen < h.new_count || (i < lines.size() && lines[i].starts_with("\\")))) {
        const std::string& hl = lines[i];
        char kind = hl.empty() ? ' ' : hl[0];
        if (kind == '\\') {
          // "\ No newline at end of file" belongs to the line before it.
          char prev = h.lines.empty() ? ' ' : h.lines.back()[0];
          if (prev != '+') h.old_lacks_final_newline = true;
          if (prev != '-') h.new_lacks_final_newline = true;
          ++i;
          continue;
        }
        if (kind != ' ' && kind != '-' && kind != '+') break;
        if (kind != '+') ++old_seen;
        if (kind != '-') ++new_seen;
        h.lines.push_back(hl.empty() ? std::string(" ") : hl);
        ++i;
      }
      if (old_seen != h.old_count || new_seen != h.new_count)
        return fail(where + " is cut short: its header `" + h.header + "` promises " + std::to_string(h.old_count) +
                        " old and " + std::to_string(h.new_count) + " new lines, the hunk holds " +
                        std::to_string(old_seen) + " and " + std::to_string(new_seen),
                    "regenerate the diff; an editor may have trimmed its lines");
      file.hunks.push_back(std::move(h));
    }
    if (file.hunks.empty() && !file.deletes()) return fail("the diff for " + file.path() + " has no hunk", fix);
    patches.push_back(std::move(file));
  }
  if (patches.empty()) return fail("the diff holds no file changes (no `--- ` / `+++ ` lines)", fix);
  return patches;
}

struct PatchOptions {
  std::size_t max_offset = 2000;  // how far (lines) from its stated place a hunk is looked for
};

// Applies one file's hunks to its LF text; the error names the hunk that failed.
[[nodiscard]] inline Result<std::string> apply_file_patch(std::string_view text, const FilePatch& patch,
                                                          const PatchOptions& options = {}) {
  using namespace detail;
  Lines file(text);
  std::ptrdiff_t shift = 0;     // where the last hunk landed versus where it said
  std::size_t floor = 0;        // hunks apply in order, never overlapping
  for (std::size_t k = 0; k < patch.hunks.size(); ++k) {
    const PatchHunk& h = patch.hunks[k];
    std::vector<std::string> old_lines, new_lines;
    for (const auto& l : h.lines) {
      if (l[0] != '+') old_lines.push_back(l.substr(1));
      if (l[0] != '-') new_lines.push_back(l.substr(1));
    }
    // Pure insertions name the line they follow; others the first old line.
    std::ptrdiff_t nominal = static_cast<std::ptrdiff_t>(h.old_count == 0 ? h.old_start : h.old_start - 1) + shift;
    std::optional<std::size_t> at;
    const std::size_t n = file.lines.size();
    auto fits = [&](std::ptrdiff_t pos, LineEq eq) {
      if (pos < static_cast<std::ptrdiff_t>(floor) || static_cast<std::size_t>(pos) + old_lines.size() > n) return false;
      for (std::size_t j = 0; j < old_lines.size(); ++j)
        if (!eq(file.lines[static_cast<std::size_t>(pos) + j], old_lines[j])) return false;
      return true;
    };
    for (LineEq eq : {LineEq(eq_exact), LineEq(eq_rtrim)}) {
      for (std::size_t d = 0; d <= options.max_offset && !at; ++d) {
        if (fits(nominal - static_cast<std::ptrdiff_t>(d), eq)) at = static_cast<std::size_t>(nominal - static_cast<std::ptrdiff_t>(d));
        else if (d > 0 && fits(nominal + static_cast<std::ptrdiff_t>(d), eq)) at = static_cast<std::size_t>(nominal + static_cast<std::ptrdiff_t>(d));
      }
      if (at) break;
    }
    if (!at) {
      std::string what = "hunk " + std::to_string(k + 1) + " of " + std::to_string(patch.hunks.size()) + " for " +
                         patch.path() + " (" + h.header + ") does not apply: its " + std::to_string(old_lines.size()) +
                         " context and removed lines are not in the file near line " + std::to_string(h.old_start);
      auto ranked = rank_windows(file.lines, old_lines);
      if (ranked.best && ranked.best_sim >= 0.5)
        what += "; the closest lines start at line " + std::to_string(*ranked.best + 1) + ":\n" +
                join_lines(std::vector<std::string>(file.lines.begin() + static_cast<std::ptrdiff_t>(*ranked.best),
                                                    file.lines.begin() + static_cast<std::ptrdiff_t>(*ranked.best + old_lines.size())));
      return fail(what, "check that the diff was made against this version of " + patch.path() +
                            " (the hint's record), or regenerate it with `diff -u OLD NEW`",
                  ExitCode::failure);
    }
    shift = static_cast<std::ptrdiff_t>(*at) - (nominal - shift);
    splice(file.lines, *at, old_lines.size(), new_lines, std::nullopt);
    floor = *at + new_lines.size();
    if (h.new_lacks_final_newline) file.final_newline = false;
    else if (h.old_lacks_final_newline) file.final_newline = true;
  }
  return file.str();
}

namespace detail {
// Whether the text holds a file header of a unified diff (`--- ` then `+++ `);
// prose around it (hint headings, comments) is allowed.
[[nodiscard]] inline bool holds_unified_diff(std::string_view text) {
  bool after_old = false;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (after_old && line.starts_with("+++ ")) return true;
    after_old = line.starts_with("--- ");
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return false;
}

// A level-0 hint for a step that changes no code (a record whose template is the previous
// record's, byte for byte) holds no diff; scripts/records/gen-level0 then writes this line
// instead, and coder=patch applies it as "change nothing".
inline constexpr std::string_view no_change_line = "# No code change:";
[[nodiscard]] inline bool declares_no_change(std::string_view text) {
  if (holds_unified_diff(text)) return false;
  while (!text.empty()) {
    auto nl = text.find('\n');
    if (text.substr(0, nl).starts_with(no_change_line)) return true;
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return false;
}
// The outcome of applying such a hint: no file changed.
[[nodiscard]] inline CodeOutcome nothing_applied(std::string summary) {
  CodeOutcome outcome;
  outcome.summary = std::move(summary);
  return outcome;
}
}  // namespace detail

// The diff PatchCoder applies: its text, or a file holding it; with neither,
// the diff comes from each request (see PatchCoder::from_request).
struct PatchSource {
  std::string text;
  std::filesystem::path file;  // read at implement() when text is empty
};

class PatchCoder {
 public:
  // The name `coder.kind` gives it in the config (config/coder/patch.json).
  static constexpr std::string_view config_name = "patch";

  explicit PatchCoder(PatchSource source, PatchOptions options = {})
      : source_(std::move(source)), options_(options) {}
  [[nodiscard]] static PatchCoder from_text(std::string diff) { return PatchCoder(PatchSource{std::move(diff), {}}); }
  [[nodiscard]] static PatchCoder from_file(std::filesystem::path path) { return PatchCoder(PatchSource{{}, std::move(path)}); }
  // The oracle inside a run: the diff is the hypothesis (the dummy ideator
  // passes a level-0 hint through as it), else the coder's knowledge
  // (knowledge_pass_to_coder). The knowledge loader drops trailing spaces, so
  // a diff adding trailing whitespace loses it on this path.
  [[nodiscard]] static PatchCoder from_request(PatchOptions options = {}) { return PatchCoder(PatchSource{}, options); }

  // Applies every file of the diff, or none. The request's read-only files
  // may not be touched.
  [[nodiscard]] Result<CodeOutcome> implement(const CodeRequest& request) const {
    std::string diff = source_.text;
    std::string origin = "the given diff";
    const bool from_request = diff.empty() && source_.file.empty();
    if (from_request) {
      if (detail::holds_unified_diff(request.hypothesis.text)) {
        diff = request.hypothesis.text;
        origin = "the hypothesis's diff";
      } else if (detail::holds_unified_diff(request.knowledge)) {
        diff = request.knowledge;
        origin = "the coder's knowledge";
      } else if (detail::declares_no_change(request.hypothesis.text)) {
        return detail::nothing_applied("the hypothesis declares no code change: nothing to apply");
      } else if (detail::declares_no_change(request.knowledge)) {
        return detail::nothing_applied("the coder's knowledge declares no code change: nothing to apply");
      } else {
        // The node fails, not the run: a debug hypothesis holds no diff either.
        return fail("coder=patch applies a unified diff without a model, but neither the hypothesis (\"" +
                        request.hypothesis.summary + "\") nor the coder's knowledge holds one",
                    "run it with ideator=dummy and the level-0 hint, e.g. "
                    "'knowledge_src_paths=[data/nanogpt_speedrun_knowledge_in_levels/record_1/level_0_diff.txt]' "
                    "(or add knowledge_pass_to_coder=true), or choose coder=aider",
                    ExitCode::failure);
      }
    } else if (diff.empty()) {
      origin = source_.file.string();
      auto text = read_file_text(source_.file, origin);
      if (!text) return std::unexpected(text.error());
      if (!text->exists) return fail("the diff file " + origin + " does not exist", "check the hint's path (knowledge level 0)");
      diff = std::move(text->bytes);
    }
    if (!from_request && detail::declares_no_change(diff))
      return detail::nothing_applied(origin + " declares no code change: nothing to apply");
    auto patches = parse_patch(diff);
    if (!patches) {
      Error e = std::move(patches.error()).context(origin);
      // a broken diff in a request came from the ideator (or a model): that node fails, the run goes on
      if (from_request) e.code = ExitCode::failure;
      return std::unexpected(std::move(e));
    }

    std::vector<FileWrite> writes;
    CodeOutcome outcome;
    for (const FilePatch& p : *patches) {
      auto where = locate(request.version_dir, p);
      if (!where) return std::unexpected(std::move(where.error()).context(origin));
      for (const auto& ro : request.read_only) {
        auto guard = resolve_inside(request.version_dir, ro);
        if (guard && (guard->absolute == where->absolute || detail::inside(guard->absolute, where->absolute)))
          return fail(origin + ": the diff changes " + where->relative + ", one of the task's read-only files",
                      "leave read-only files out of the diff", ExitCode::failure);
      }
      auto current = read_file_text(where->absolute, where->relative);
      if (!current) return std::unexpected(std::move(current.error()).context(origin));
      if (p.creates() && current->exists && !current->bytes.empty())
        return fail(origin + ": the diff creates " + where->relative + ", which already exists",
                    "apply the diff to the version it was made from", ExitCode::failure);
      if (!p.creates() && !current->exists)
        return fail(origin + ": the diff changes " + where->relative + ", which does not exist in " +
                        request.version_dir.string(),
                    "apply the diff to the version it was made from", ExitCode::failure);
      if (current->exists && detail::looks_binary(current->bytes))
        return fail(origin + ": " + where->relative + " is a binary file", "leave binary files out of the diff");
      const bool crlf = detail::uses_crlf(current->bytes);
      auto after = apply_file_patch(crlf ? detail::to_lf(current->bytes) : current->bytes, p, options_);
      if (!after) return std::unexpected(std::move(after.error()).context(origin));
      std::optional<std::string> content;
      if (!p.deletes()) content = crlf ? detail::to_crlf(*after) : *after;
      writes.push_back({where->absolute, std::move(content),
                        current->exists ? std::optional(current->bytes) : std::nullopt, where->relative});
      outcome.changed_files.push_back(where->relative);
    }
    if (auto w = write_all_or_nothing(writes); !w) return std::unexpected(w.error());
    outcome.summary = "applied " + origin + " to " + std::to_string(outcome.changed_files.size()) + " file" +
                      (outcome.changed_files.size() == 1 ? "" : "s");
    return outcome;
  }

 private:
  // The diff's path inside the version, dropping leading folders (as `patch
  // -pN` would) until an existing file matches; new files keep their path.
  static Result<ResolvedPath> locate(const std::filesystem::path& root, const FilePatch& p) {
    std::filesystem::path given(p.path());
    if (p.creates()) return resolve_inside(root, p.path());
    std::vector<std::filesystem::path> parts(given.begin(), given.end());
    for (std::size_t skip = 0; skip < parts.size(); ++skip) {
      std::filesystem::path rel;
      for (std::size_t j = skip; j < parts.size(); ++j) rel /= parts[j];
      auto where = resolve_inside(root, rel.generic_string());
      if (!where) {
        if (skip == 0) return where;  // an unsafe path is refused, not reinterpreted
        continue;
      }
      std::error_code ec;
      if (std::filesystem::is_regular_file(where->absolute, ec)) return where;
    }
    return resolve_inside(root, p.path());
  }

  PatchSource source_;
  PatchOptions options_;
};

}  // namespace speedrunner::code
