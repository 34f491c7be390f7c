// Text corpora as documents: expands sources (folders, files, globs with **),
// reads plain or gzip/dictzip-compressed files, splits formats that hold many
// documents (dictd dictionaries, fortune files), normalizes and deduplicates.
#pragma once

#include <speedrunner/core/error.hpp>
#include <speedrunner/data/detail/flat_maps.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fnmatch.h>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#if __has_include(<zlib.h>) && defined(SPEEDRUNNER_HAVE_ZLIB)
#include <zlib.h>
#endif

namespace speedrunner::data {

// One document of a corpus; `origin` says where it came from ("path" or
// "path#headword") for messages and manifests.
struct Document {
  std::string origin;
  std::string text;
};

namespace detail {

[[nodiscard]] inline bool has_glob(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

// Matches path segments against pattern segments; "**" spans any number of segments.
[[nodiscard]] inline bool glob_match(const std::vector<std::string>& pattern, std::size_t p,
                                     const std::vector<std::string>& path, std::size_t s) {
  if (p == pattern.size()) return s == path.size();
  if (pattern[p] == "**") {
    for (std::size_t k = s; k <= path.size(); ++k)
      if (glob_match(pattern, p + 1, path, k)) return true;
    return false;
  }
  return s < path.size() && ::fnmatch(pattern[p].c_str(), path[s].c_str(), FNM_PERIOD) == 0 &&
         glob_match(pattern, p + 1, path, s + 1);
}

[[nodiscard]] inline std::vector<std::string> segments(const std::filesystem::path& p) {
  std::vector<std::string> out;
  for (const auto& part : p) out.push_back(part.string());
  return out;
}

}  // namespace detail

// Every regular file a list of sources names: a file, a folder (all files below
// it), or a glob ("dir/**/*.rst.gz"). Sorted and without repeats, so the same
// sources always give the same order. A source that matches nothing is an error.
[[nodiscard]] inline Result<std::vector<std::filesystem::path>> expand_sources(const std::vector<std::string>& sources) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  for (const auto& source : sources) {
    const std::size_t before = files.size();
    std::error_code ec;
    if (!detail::has_glob(source)) {
      if (fs::is_regular_file(source, ec)) {
        files.emplace_back(source);
      } else if (fs::is_directory(source, ec)) {
        for (auto it = fs::recursive_directory_iterator(source, fs::directory_options::skip_permission_denied, ec);
             !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
          if (it->is_regular_file(ec)) files.push_back(it->path());
      }
    } else {
      // walk from the longest folder prefix without wildcards
      const fs::path pattern(source);
      fs::path base;
      std::vector<std::string> rest;
      bool wild = false;
      for (const auto& part : pattern) {
        if (!wild && !detail::has_glob(part.string())) base /= part;
        else wild = true, rest.push_back(part.string());
      }
      if (base.empty()) base = ".";
      if (fs::is_directory(base, ec)) {
        for (auto it = fs::recursive_directory_iterator(base, fs::directory_options::skip_permission_denied, ec);
             !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
          if (!it->is_regular_file(ec)) continue;
          if (detail::glob_match(rest, 0, detail::segments(it->path().lexically_relative(base)), 0))
            files.push_back(it->path());
        }
      }
    }
    if (ec) return fail(source + ": cannot list: " + ec.message(), "check the path and its permissions");
    if (files.size() == before)
      return fail(source + ": no files match this source", "check the path or glob (quote globs so the shell leaves them)");
  }
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  return files;
}

// A file's bytes, decompressed when it is gzip (.gz) or dictzip (.dz).
[[nodiscard]] inline Result<std::string> read_text_file(const std::filesystem::path& path) {
  const std::string name = path.string();
  const auto ext = path.extension();
  if (ext == ".gz" || ext == ".dz") {
    std::string out;
#if __has_include(<zlib.h>) && defined(SPEEDRUNNER_HAVE_ZLIB)
    gzFile gz = ::gzopen(name.c_str(), "rb");
    if (gz == nullptr) return fail(name + ": cannot open", "check the path and its permissions");
    char buf[1 << 16];
    int n;
    while ((n = ::gzread(gz, buf, sizeof buf)) > 0) out.append(buf, std::size_t(n));
    int err = 0;
    const std::string reason = n < 0 ? ::gzerror(gz, &err) : "";
    ::gzclose(gz);
    if (n < 0) return fail(name + ": not valid gzip data (" + reason + ")", "the file is damaged; reinstall its package");
#else
    std::string quoted = "'";
    for (char c : name) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    quoted += "'";
    std::FILE* pipe = ::popen(("gzip -dc -- " + quoted + " 2>/dev/null").c_str(), "r");
    if (pipe == nullptr) return fail(name + ": cannot run gzip to decompress it", "install gzip");
    char buf[1 << 16];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
    if (::pclose(pipe) != 0) return fail(name + ": not valid gzip data", "the file is damaged; reinstall its package");
#endif
    return out;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(name + ": cannot open", "check the path and its permissions");
  std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return fail(name + ": read error");
  return out;
}

// How a file holds documents.
enum class CorpusFormat { plain, dictd, fortune, binary };

// A dictd dictionary is NAME.dict[.dz] beside NAME.index; a fortune file has
// its strfile index FILE.dat beside it; anything else is one document.
[[nodiscard]] inline CorpusFormat corpus_format_of(const std::filesystem::path& path) {
  std::error_code ec;
  const std::string name = path.string();
  auto stem_without = [&](std::string_view suffix) { return name.substr(0, name.size() - suffix.size()); };
  if (name.ends_with(".dict.dz") && std::filesystem::exists(stem_without(".dict.dz") + ".index", ec))
    return CorpusFormat::dictd;
  if (name.ends_with(".dict") && std::filesystem::exists(stem_without(".dict") + ".index", ec))
    return CorpusFormat::dictd;
  if (path.extension() == ".dat" || path.extension() == ".index") {
    // the index of a fortune file or a dictionary, not text
    const std::string base = stem_without(path.extension().string());
    if (std::filesystem::exists(base, ec) || std::filesystem::exists(base + ".dict.dz", ec) ||
        std::filesystem::exists(base + ".dict", ec))
      return CorpusFormat::binary;
  }
  if (std::filesystem::exists(name + ".dat", ec)) return CorpusFormat::fortune;
  // FILE.u8 is the UTF-8 twin of a fortune file FILE (often a link to it)
  if (path.extension() == ".u8" && std::filesystem::exists(stem_without(".u8") + ".dat", ec))
    return CorpusFormat::fortune;
  return CorpusFormat::plain;
}

namespace detail {

// dictd's index numbers: base64 digits, most significant first.
[[nodiscard]] inline bool dictd_number(std::string_view digits, std::uint64_t& out) {
  static constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  out = 0;
  if (digits.empty() || digits.size() > 10) return false;
  for (char c : digits) {
    const auto v = alphabet.find(c);
    if (v == std::string_view::npos) return false;
    out = out * 64 + v;
  }
  return true;
}

}  // namespace detail

// Splits one file's text into documents by its format. Dictionary entries
// named by several headwords come once; the dictionary's own "00-database-*"
// entries (its metadata) are left out.
[[nodiscard]] inline Result<std::vector<Document>> split_documents(const std::filesystem::path& path,
                                                                   std::string_view text, CorpusFormat format) {
  std::vector<Document> docs;
  const std::string name = path.string();
  if (format == CorpusFormat::binary) return docs;
  if (format == CorpusFormat::plain) {
    docs.push_back({name, std::string(text)});
    return docs;
  }
  if (format == CorpusFormat::fortune) {
    // fortunes are separated by lines holding only "%"
    std::size_t start = 0, index = 0;
    auto flush = [&](std::size_t end) {
      if (end > start) docs.push_back({name + "#" + std::to_string(index++), std::string(text.substr(start, end - start))});
    };
    for (std::size_t pos = 0; pos <= text.size();) {
      std::size_t eol = text.find('\n', pos);
      if (eol == std::string_view::npos) eol = text.size();
      std::string_view line = text.substr(pos, eol - pos);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line == "%") {
        flush(pos);
        start = eol + 1;
      }
      pos = eol + 1;
    }
    flush(text.size());
    return docs;
  }
  // dictd
  std::string index_name = name;
  index_name.erase(index_name.size() - (name.ends_with(".dz") ? 8 : 5));
  index_name += ".index";
  auto index = read_text_file(index_name);
  if (!index) return std::unexpected(index.error());
  struct Entry {
    std::uint64_t offset, length;
    std::string headword;
  };
  std::vector<Entry> entries;
  std::size_t line_number = 0;
  for (std::size_t pos = 0; pos < index->size();) {
    std::size_t eol = index->find('\n', pos);
    if (eol == std::string::npos) eol = index->size();
    const std::string_view line(index->data() + pos, eol - pos);
    pos = eol + 1;
    ++line_number;
    if (line.empty()) continue;
    const auto tab1 = line.find('\t');
    const auto tab2 = tab1 == std::string_view::npos ? tab1 : line.find('\t', tab1 + 1);
    Entry e{0, 0, std::string(line.substr(0, tab1))};
    const auto tab3 = tab2 == std::string_view::npos ? tab2 : line.find('\t', tab2 + 1);
    if (tab2 == std::string_view::npos || !detail::dictd_number(line.substr(tab1 + 1, tab2 - tab1 - 1), e.offset) ||
        !detail::dictd_number(line.substr(tab2 + 1, tab3 == std::string_view::npos ? tab3 : tab3 - tab2 - 1), e.length))
      return fail(index_name + ":" + std::to_string(line_number) + ": not a dictd index line (headword, offset, length)",
                  "the dictionary's index is damaged; reinstall its package");
    if (e.offset + e.length > text.size())
      return fail(index_name + ":" + std::to_string(line_number) + ": entry '" + e.headword + "' points past the end of " + name,
                  "the .index does not belong to this .dict; reinstall the dictionary package");
    if (e.headword.starts_with("00-database-") || e.headword.starts_with("00database")) continue;
    entries.push_back(std::move(e));
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.offset != b.offset ? a.offset < b.offset : a.length < b.length;
  });
  for (std::size_t k = 0; k < entries.size(); ++k) {
    if (k > 0 && entries[k].offset == entries[k - 1].offset && entries[k].length == entries[k - 1].length) continue;
    docs.push_back({name + "#" + entries[k].headword, std::string(text.substr(entries[k].offset, entries[k].length))});
  }
  return docs;
}

// The form a document is stored and compared in: "\r\n" as "\n", no spaces or
// tabs at line ends, no blank lines at either end, one final newline. Returns
// an empty string for a document with nothing but whitespace.
[[nodiscard]] inline std::string normalize_document(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 1);
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.remove_suffix(1);
    if (!(out.empty() && line.empty())) {
      out += line;
      out += '\n';
    }
    pos = eol + 1;
  }
  while (out.size() >= 2 && out[out.size() - 1] == '\n' && out[out.size() - 2] == '\n') out.pop_back();
  if (out == "\n") out.clear();
  return out;
}

// A 128-bit content hash (two seeded 64-bit hashes): the identity used for
// deduplication and for the deterministic document order.
struct DocumentHash {
  std::uint64_t high = 0, low = 0;
  friend bool operator==(const DocumentHash&, const DocumentHash&) = default;
  friend auto operator<=>(const DocumentHash&, const DocumentHash&) = default;
};

[[nodiscard]] inline DocumentHash hash_document(std::string_view text) {
  const std::uint64_t a = detail::hash_bytes(text);
  std::string salted = "speedrunner-document:";
  // the second hash runs over a salted prefix plus the text: cheap and independent enough
  std::uint64_t b = detail::hash_bytes(salted);
  for (std::size_t pos = 0; pos < text.size(); pos += 4096)
    b = detail::mix64(b ^ detail::hash_bytes(text.substr(pos, 4096)) ^ (pos * 0x9E3779B97F4A7C15ULL));
  return {a, detail::mix64(b ^ text.size())};
}

// Whether bytes look like text: no NUL in the first 8 KiB (images, strfile
// indexes, compiled files have them).
[[nodiscard]] inline bool looks_like_text(std::string_view bytes) {
  return bytes.substr(0, 8192).find('\0') == std::string_view::npos;
}

}  // namespace speedrunner::data
