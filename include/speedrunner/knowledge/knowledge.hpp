// Knowledge: the hint files named by `knowledge_src_paths` (files and globs,
// e.g. data/nanogpt_speedrun_knowledge_in_levels/record_1/level_1_*.txt),
// read and rendered as clean text sections headed by their source names.
#pragma once

#include <speedrunner/core/error.hpp>

#include <glob.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace speedrunner::knowledge {

struct Source {
  std::string name;  // the path as the user would write it (relative to the root when under it)
  std::string text;  // cleaned: LF line ends, no trailing spaces, no runs of blank lines
                     // (a diff is kept byte for byte, but for its final line break)
  friend bool operator==(const Source&, const Source&) = default;
};

struct Knowledge {
  std::vector<Source> sources;

  [[nodiscard]] bool empty() const { return sources.empty(); }

  // "=== name ===\n<text>\n" per source, a blank line between sources; "" when empty.
  [[nodiscard]] std::string render() const {
    std::string out;
    for (const auto& s : sources) {
      if (!out.empty()) out += '\n';
      out += "=== " + s.name + " ===\n" + s.text + '\n';
    }
    return out;
  }
};

// Where the knowledge goes: always to the ideator, to the coder on request
// (the coder then sees the hints beside the hypothesis).
struct Settings {
  std::vector<std::string> src_paths;  // knowledge_src_paths
  bool pass_to_coder = false;
};

struct Rendered {
  std::string ideator;  // IdeaRequest::knowledge
  std::string coder;    // CodeRequest::knowledge; empty unless pass_to_coder
};

namespace detail {

// Whether a hint is a patch (level 0): its first line opens a git or unified diff.
[[nodiscard]] inline bool is_diff(std::string_view text) {
  return text.starts_with("diff --git ") || text.starts_with("--- ") || text.starts_with("Index: ");
}

// Text as a model should read it; an error for binary files. A diff keeps every byte (trailing
// spaces, blank context lines, CRs of CRLF files all matter to the patch) but its final line
// breaks, which the rendering adds back.
[[nodiscard]] inline Result<std::string> clean_text(std::string raw, const std::string& name) {
  if (raw.starts_with("\xEF\xBB\xBF")) raw.erase(0, 3);
  if (raw.find('\0') != std::string::npos)
    return fail("knowledge_src_paths: " + name + " is not a text file (it holds NUL bytes)",
                "point knowledge_src_paths at the .txt or .md hint files");
  if (is_diff(raw)) {
    while (raw.ends_with('\n')) raw.pop_back();
    return raw;
  }
  std::string out;
  std::size_t blank_run = 0;
  std::istringstream in(raw);
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (line.empty()) {
      if (out.empty()) continue;  // leading blank lines
      if (++blank_run > 1) continue;
    } else {
      blank_run = 0;
    }
    out += line;
    out += '\n';
  }
  while (!out.empty() && (out.back() == '\n')) out.pop_back();
  return out;
}

[[nodiscard]] inline std::string escape_glob(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\' || c == '{' || c == '}') out += '\\';
    out += c;
  }
  return out;
}

// Matches sorted by name; an empty list when nothing matches.
[[nodiscard]] inline Result<std::vector<std::string>> expand(const std::string& pattern,
                                                             const std::filesystem::path& root) {
  std::filesystem::path p(pattern);
  std::string full = p.is_absolute() ? pattern : escape_glob(root.string()) + "/" + pattern;
  glob_t g{};
  int rc = ::glob(full.c_str(), GLOB_BRACE, nullptr, &g);
  std::vector<std::string> out;
  if (rc == 0)
    for (std::size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
  ::globfree(&g);
  if (rc != 0 && rc != GLOB_NOMATCH)
    return fail("knowledge_src_paths: " + pattern + " cannot be searched (glob error " + std::to_string(rc) + ")",
                "check that the folders in the pattern are readable");
  std::ranges::sort(out);
  return out;
}

}  // namespace detail

// The largest hint file read (the longest shipped hint, a level-0 diff, is 26 kB).
inline constexpr std::uintmax_t max_hint_bytes = std::uintmax_t{4} << 20;

// Reads every file each pattern names, in pattern order (sorted within a
// glob), each file once. A pattern that matches nothing, a folder, an
// unreadable, binary or empty file is an error naming it.
[[nodiscard]] inline Result<Knowledge> load(const std::vector<std::string>& patterns,
                                           const std::filesystem::path& root = std::filesystem::current_path()) {
  Knowledge k;
  std::set<std::filesystem::path> seen;
  std::string root_prefix = root.string();
  if (!root_prefix.empty() && root_prefix.back() != '/') root_prefix += '/';
  for (const auto& pattern : patterns) {
    auto matches = detail::expand(pattern, root);
    if (!matches) return std::unexpected(std::move(matches.error()));
    if (matches->empty())
      return fail("knowledge_src_paths: nothing matches " + pattern + " (looked under " + root.string() + ")",
                  "fix the path or glob, or drop it from knowledge_src_paths; paths are relative to the "
                  "project root");
    for (const auto& path : *matches) {
      std::error_code ec;
      auto canonical = std::filesystem::weakly_canonical(path, ec);
      if (!seen.insert(ec ? std::filesystem::path(path) : canonical).second) continue;
      std::string name = path.starts_with(root_prefix) ? path.substr(root_prefix.size()) : path;
      if (std::filesystem::is_directory(path, ec))
        return fail("knowledge_src_paths: " + name + " is a folder",
                    "name the files, or a glob such as " + name + "/*.txt");
      // a hint is a regular file of bounded size (not /dev/zero, a FIFO or a data set)
      if (!std::filesystem::is_regular_file(path, ec))
        return fail("knowledge_src_paths: " + name + " is not a regular file",
                    "name text files (a device, a pipe or a socket is never a hint)");
      if (const auto size = std::filesystem::file_size(path, ec); !ec && size > max_hint_bytes)
        return fail("knowledge_src_paths: " + name + " holds " + std::to_string(size) + " bytes, more than the " +
                        std::to_string(max_hint_bytes) + " a hint may have",
                    "hints go into every prompt: name a shorter file (a level 0-3 text)");
      std::ifstream in(path, std::ios::binary);
      if (!in) return fail("knowledge_src_paths: " + name + " cannot be read", "check its permissions");
      std::string raw(max_hint_bytes + 1, '\0');
      in.read(raw.data(), static_cast<std::streamsize>(raw.size()));
      raw.resize(static_cast<std::size_t>(in.gcount()));
      if (raw.size() > max_hint_bytes)
        return fail("knowledge_src_paths: " + name + " grew past " + std::to_string(max_hint_bytes) + " bytes",
                    "name a shorter file");
      auto text = detail::clean_text(raw, name);
      if (!text) return std::unexpected(std::move(text.error()));
      if (text->empty())
        return fail("knowledge_src_paths: " + name + " is empty",
                    "fill it with the hint, or drop it from knowledge_src_paths");
      k.sources.push_back({std::move(name), std::move(*text)});
    }
  }
  return k;
}

// Loads the knowledge once and renders it for the ideator and, when
// pass_to_coder is set, for the coder.
[[nodiscard]] inline Result<Rendered> render_for_agents(const Settings& settings,
                                                        const std::filesystem::path& root = std::filesystem::current_path()) {
  auto k = load(settings.src_paths, root);
  if (!k) return std::unexpected(std::move(k.error()));
  Rendered r;
  r.ideator = k->render();
  if (settings.pass_to_coder) r.coder = r.ideator;
  return r;
}

}  // namespace speedrunner::knowledge
