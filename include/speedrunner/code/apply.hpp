// Applies one round of edits to a version directory: every path checked, every
// SEARCH located by the matching ladder in memory, then all files written or
// none. The report says per block what happened and, for the model, why not.
#pragma once

#include <speedrunner/code/detail/text.hpp>
#include <speedrunner/code/edit.hpp>
#include <speedrunner/code/match.hpp>
#include <speedrunner/code/version_files.hpp>
#include <speedrunner/core/error.hpp>

#include <fnmatch.h>

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace speedrunner::code {

struct ApplyOptions {
  MatchOptions match;
  // Files and folders (relative to the version directory) edits must not touch:
  // the task's data and evaluation files, transcripts. Each may name why.
  struct Protected {
    std::string path;
    std::string reason = "it is one of the task's read-only files";
  };
  std::vector<Protected> read_only;
  // The files the model was asked to edit (the task's entry files): an edit
  // that names no file (a whole-file block without a path line) is for the
  // only one of them.
  std::vector<std::string> entry_files;
  // When set (and entry_files is not empty), entry_files and the files that
  // match `editable` are the only files edits may change or create: run.sh, the
  // run's records and .git stay as they are unless a pattern names them. The
  // coder sets it; the task names its entry files and patterns.
  bool only_entry_files = false;
  // fnmatch patterns (without FNM_PATHNAME: '*' crosses '/') of paths relative to the root.
  std::vector<std::string> editable;
};

enum class BlockStatus { applied, already_applied, failed };

// What happened to one edit of the round.
struct BlockReport {
  std::size_t index = 0;  // 0-based, in the answer's order
  Edit edit;
  BlockStatus status = BlockStatus::failed;
  std::optional<MatchKind> how;  // applied: which rung matched
  std::string reason;            // failed: why, in a sentence for the model
  std::optional<Closest> closest;
  std::string note;              // a path taken to mean another file, and why
};

struct ApplyReport {
  std::vector<BlockReport> blocks;
  std::vector<std::string> changed_files;  // written this round, relative, in first-edit order
  [[nodiscard]] std::size_t count(BlockStatus s) const {
    std::size_t n = 0;
    for (const auto& b : blocks) n += b.status == s ? 1 : 0;
    return n;
  }
  [[nodiscard]] bool ok() const { return count(BlockStatus::failed) == 0; }
};

namespace detail {

struct FileState {
  ResolvedPath where;
  FileText original;
  bool crlf = false;
  std::string text;  // current content, LF
  bool written = false;  // an edit applied to it (an empty new file is still a file asked for)
};

inline std::string plural(std::size_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

inline std::string line_span(std::size_t first, std::size_t count) {
  if (count <= 1) return "line " + std::to_string(first + 1);
  return "lines " + std::to_string(first + 1) + "-" + std::to_string(first + count);
}

}  // namespace detail

// Applies `edits` in order (a later edit sees the earlier ones) to the files
// under `root`. Blocks that fail leave their file as the earlier blocks made
// it; the others are written, all or none. The error case is only for a
// failed write (nothing changed) or a missing root.
[[nodiscard]] inline Result<ApplyReport> apply_edits(const std::filesystem::path& root, const std::vector<Edit>& edits,
                                                     const ApplyOptions& options = {}) {
  using namespace detail;
  std::error_code ec;
  if (!std::filesystem::is_directory(root, ec))
    return fail("the version directory " + root.string() + " does not exist", "create it before editing",
                ExitCode::failure);
  ApplyReport report;
  std::map<std::filesystem::path, FileState> files;
  std::vector<std::filesystem::path> order;

  std::optional<std::vector<std::string>> listing;  // the version's files, read when a path needs guessing
  for (std::size_t i = 0; i < edits.size(); ++i) {
    BlockReport block{i, edits[i], BlockStatus::failed, std::nullopt, {}, std::nullopt, {}};
    const Edit& edit = block.edit;  // its path may be corrected below
    auto refuse = [&](std::string why) {
      block.reason = std::move(why);
      report.blocks.push_back(std::move(block));
    };
    if (edit.path.empty()) {
      if (options.entry_files.size() != 1) {
        std::string names;
        for (const auto& f : options.entry_files) names += (names.empty() ? "" : ", ") + f;
        refuse("the block names no file" + (names.empty() ? std::string() : " (the files to edit are " + names + ")") +
               ". Put the file's path alone on the line before its opening fence.");
        continue;
      }
      block.edit.path = options.entry_files.front();
      block.note = "the block names no file; taken to be " + edit.path + ", the only file to edit";
    }
    auto where = resolve_inside(root, edit.path);
    if (!where) {
      refuse(where.error().what + ".");
      continue;
    }
    // A path that names no file but plainly means one of the version's files.
    if (std::error_code missing; !files.contains(where->absolute) && !std::filesystem::exists(where->absolute, missing)) {
      if (!listing) listing = list_version_files(root);
      const bool creating = edit.kind == Edit::Kind::whole_file || edit.search.empty();
      auto guess = guess_path(edit.path, *listing, creating, std::filesystem::is_directory(where->absolute.parent_path(), missing));
      if (guess.candidates.size() > 1) {
        std::string names;
        for (std::size_t k = 0; k < guess.candidates.size() && k < 6; ++k)
          names += (k == 0 ? "" : ", ") + guess.candidates[k];
        if (guess.candidates.size() > 6) names += ", ...";
        refuse(edit.path + " does not exist, and it could mean any of " + names +
               ". Name the file by its exact path as it was shown.");
        continue;
      }
      if (guess.candidates.size() == 1) {
        block.note = edit.path + " does not exist; taken to mean " + guess.candidates.front() + " (" + guess.how + ")";
        block.edit.path = guess.candidates.front();
        where = resolve_inside(root, edit.path);
        if (!where) {
          refuse(where.error().what + ".");
          continue;
        }
      }
    }
    const ApplyOptions::Protected* guard = nullptr;
    for (const auto& p : options.read_only) {
      auto ro = resolve_inside(root, p.path);
      if (ro && (ro->absolute == where->absolute || detail::inside(ro->absolute, where->absolute))) guard = &p;
    }
    if (guard) {
      refuse(where->relative + " is read-only: " + guard->reason + ". Leave it unchanged.");
      continue;
    }
    if (options.only_entry_files && !options.entry_files.empty()) {
      bool listed = false;
      std::string names;
      for (const auto& e : options.entry_files) {
        auto allowed = resolve_inside(root, e);
        listed = listed || (allowed && allowed->absolute == where->absolute);
        names += (names.empty() ? "" : ", ") + e;
      }
      for (const auto& pattern : options.editable) {
        listed = listed || ::fnmatch(pattern.c_str(), where->relative.c_str(), 0) == 0;
        names += (names.empty() ? "" : ", ") + pattern;
      }
      if (!listed) {
        refuse(where->relative + " is not a file this task lets you edit; edit only " + names + ".");
        continue;
      }
    }
    auto it = files.find(where->absolute);
    if (it == files.end()) {
      auto text = read_file_text(where->absolute, where->relative);
      if (!text) {
        refuse(text.error().what + ".");
        continue;
      }
      if (text->exists && write_protected(where->absolute)) {
        refuse(where->relative + " is read-only: it has no write permission. Leave it unchanged.");
        continue;
      }
      if (text->exists && looks_binary(text->bytes)) {
        refuse(where->relative + " is a binary file (NUL bytes or invalid UTF-8); binary files are not edited.");
        continue;
      }
      FileState st{*where, *text, uses_crlf(text->bytes), {}};
      st.text = st.crlf ? to_lf(text->bytes) : text->bytes;
      it = files.emplace(where->absolute, std::move(st)).first;
      order.push_back(where->absolute);
    }
    FileState& file = it->second;
    if (edit.kind == Edit::Kind::whole_file) {
      block.status = file.text == edit.replace && file.original.exists ? BlockStatus::already_applied
                                                                       : BlockStatus::applied;
      file.text = edit.replace;
      file.written = true;
      block.how = MatchKind::exact;
      report.blocks.push_back(std::move(block));
      continue;
    }
    if (edit.search.empty() && !file.text.empty()) {
      if (rtrim(file.text) == rtrim(edit.replace)) {
        block.status = BlockStatus::already_applied;
        block.reason = where->relative + " already has exactly this content.";
        report.blocks.push_back(std::move(block));
      } else {
        refuse(where->relative + " already exists and is not empty; an empty SEARCH part only creates a file. "
               "To add lines, SEARCH for the lines next to where they go.");
      }
      continue;
    }
    if (!edit.search.empty() && !file.original.exists && file.text.empty()) {
      refuse(where->relative + " does not exist. To create it, leave the SEARCH part empty.");
      continue;
    }
    auto done = replace_first(file.text, edit.search, edit.replace, options.match);
    if (done) {
      file.text = std::move(done->content);
      file.written = true;
      block.status = BlockStatus::applied;
      block.how = done->how;
      report.blocks.push_back(std::move(block));
      continue;
    }
    const std::size_t n_search = split_lines(edit.search).size();
    switch (done.error().why) {
      case Miss::already_applied:
        block.status = BlockStatus::already_applied;
        block.reason = "its REPLACE lines are already in " + where->relative + ".";
        report.blocks.push_back(std::move(block));
        break;
      case Miss::ambiguous:
        refuse("the SEARCH part matches no lines of " + where->relative + " exactly, and two places match it "
               "nearly equally well (" + line_span(done.error().places[0], n_search) + " and " +
               line_span(done.error().places[1], n_search) +
               "). Copy the lines exactly and add lines around them so they match only one place.");
        break;
      case Miss::elision_mismatch:
        refuse("the SEARCH and REPLACE parts do not use `...` lines in the same places; each `...` in SEARCH "
               "needs a `...` in REPLACE, and the parts between them are matched in order.");
        break;
      case Miss::not_found:
        block.closest = done.error().closest;
        refuse("the SEARCH part does not match any lines of " + where->relative + ".");
        break;
    }
  }

  std::vector<FileWrite> writes;
  for (const auto& path : order) {
    const FileState& f = files.at(path);
    std::string bytes = f.crlf ? to_crlf(f.text) : f.text;
    if (f.original.exists ? bytes == f.original.bytes : !f.written) continue;
    writes.push_back(FileWrite{path, std::move(bytes),
                               f.original.exists ? std::optional<std::string>(f.original.bytes) : std::nullopt,
                               f.where.relative});
    report.changed_files.push_back(f.where.relative);
  }
  if (auto w = write_all_or_nothing(writes); !w) return std::unexpected(w.error());
  return report;
}

// The text that tells the model what went wrong this round, with the failed
// blocks written back in its edit format. Empty when every block applied.
template <EditFormat Format>
[[nodiscard]] std::string reflection(const ApplyReport& report, const Format& format) {
  using namespace detail;
  const std::size_t failed = report.count(BlockStatus::failed);
  if (failed == 0) return {};
  const std::size_t applied = report.count(BlockStatus::applied);
  std::string out = plural(failed, "edit block", "edit blocks") + " of " + std::to_string(report.blocks.size()) +
                    " failed.\n";
  bool any_not_found = false;
  for (const auto& b : report.blocks) {
    if (b.status != BlockStatus::failed) continue;
    out += "\n## Block " + std::to_string(b.index + 1) + " failed: " + b.reason + "\n\n";
    out += format.render(b.edit);
    if (b.closest) {
      out += "\nDid you mean these lines of " + b.edit.path + " (" +
             line_span(b.closest->first_line, split_lines(b.closest->text).size()) + ")?\n```\n" + b.closest->text +
             "```\n";
    }
    any_not_found = any_not_found || b.reason.starts_with("the SEARCH part does not match");
  }
  for (const auto& b : report.blocks) {
    if (b.status != BlockStatus::already_applied) continue;
    out += "\nBlock " + std::to_string(b.index + 1) + " for " + b.edit.path + " was already applied: " + b.reason +
           " Do not resend it.\n";
  }
  if (any_not_found)
    out += "\nThe SEARCH part must copy lines of the current file exactly, whitespace, comments and all.\n";
  if (applied == 1) out += "\nThe other block was applied; do not resend it.\n";
  else if (applied > 1) out += "\nThe other " + std::to_string(applied) + " blocks were applied; do not resend them.\n";
  out += "Resend only the failed blocks, fixed.\n";
  return out;
}

}  // namespace speedrunner::code
