// The mini track's corpus: prose-heavy Debian documentation packages, as
// sources for build_shards. `scripts/setup --mini-corpus` installs them;
// `speedrun data mini` builds the shards.
#pragma once

#include <speedrunner/core/error.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace speedrunner::data {

struct MiniSource {
  std::string_view package;  // the Debian package that ships the files
  std::string_view pattern;  // a glob over its files
};

// Fixed list, so every machine with these packages builds the same corpus.
inline constexpr std::array<MiniSource, 15> mini_sources{{
    {"linux-doc-6.1", "/usr/share/doc/linux-doc-6.1/Documentation/**/*.rst.gz"},
    {"linux-doc-6.1", "/usr/share/doc/linux-doc-6.1/Documentation/**/*.txt.gz"},
    {"python3.11-doc", "/usr/share/doc/python3.11/html/_sources/**/*.rst.txt"},
    {"dict-gcide", "/usr/share/dictd/gcide.dict.dz"},
    {"dict-wn", "/usr/share/dictd/wn.dict.dz"},
    {"dict-foldoc", "/usr/share/dictd/foldoc.dict.dz"},
    {"dict-jargon", "/usr/share/dictd/jargon.dict.dz"},
    {"dict-devil", "/usr/share/dictd/devil.dict.dz"},
    {"fortunes", "/usr/share/games/fortunes/*"},
    {"fortunes-min", "/usr/share/games/fortunes/fortunes"},
    {"perl-doc", "/usr/share/perl/5.36.0/pod/*.pod"},
    {"git-doc", "/usr/share/doc/git-doc/*.txt"},
    {"vim-runtime", "/usr/share/vim/vim90/doc/*.txt"},
    {"gnu-standards", "/usr/share/doc/gnu-standards/*.text.gz"},
    {"debian-reference-en", "/usr/share/doc/debian-reference-en/*.md.gz"},
}};

inline constexpr std::uint64_t mini_min_tokens = 40'000'000;
// An eighth of a mini-track step (32,768 tokens): Vim's 650K-token patch log
// once filled steps 179-199 of every run and made the validation loss jump.
inline constexpr std::uint64_t mini_max_document_tokens = 4096;

// The packages, each once, in list order (what `scripts/setup --mini-corpus` installs).
[[nodiscard]] inline std::vector<std::string> mini_packages() {
  std::vector<std::string> out;
  for (const auto& s : mini_sources)
    if (std::find(out.begin(), out.end(), s.package) == out.end()) out.emplace_back(s.package);
  return out;
}

// The glob list for build_shards, or an error naming every missing package.
[[nodiscard]] inline Result<std::vector<std::string>> mini_source_patterns() {
  std::vector<std::string> patterns, missing;
  for (const auto& s : mini_sources) {
    patterns.emplace_back(s.pattern);
    // the folder before the first wildcard must exist
    std::string_view p = s.pattern;
    const auto wild = p.find_first_of("*?[");
    const std::string base(wild == std::string_view::npos ? p : p.substr(0, p.rfind('/', wild)));
    std::error_code ec;
    if (!std::filesystem::exists(base, ec) &&
        std::find(missing.begin(), missing.end(), s.package) == missing.end())
      missing.emplace_back(s.package);
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : " ") + m;
    return fail("the mini corpus needs Debian packages that are not installed: " + list,
                "run scripts/setup --mini-corpus (or apt-get install " + list + ")");
  }
  return patterns;
}

}  // namespace speedrunner::data
