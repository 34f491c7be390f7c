// One edit a model asked for, in any edit format, and the EditFormat concept
// that formats (SearchReplace, WholeFile, UnifiedDiff) model.
#pragma once

#include <speedrunner/core/error.hpp>

#include <concepts>
#include <string>
#include <string_view>
#include <vector>

namespace speedrunner::code {

// An edit of one file, relative to the version directory. Texts are LF-only
// and every line ends in '\n'; CRLF files are matched and written back as CRLF.
struct Edit {
  enum class Kind {
    search_replace,  // replace the first match of `search` with `replace`; empty search creates
    whole_file,      // the file's new content is `replace`
  };
  std::string path;
  std::string search;
  std::string replace;
  Kind kind = Kind::search_replace;
  friend bool operator==(const Edit&, const Edit&) = default;
};

// An edit format parses a model's answer into edits and carries the prompt
// text that teaches the model to write them.
//   F::name            short name used in config and transcripts ("diff", "whole", "udiff")
//   f.prompt()         the format's rules and an example, for the system prompt
//   f.parse(answer)    the edits, or an error that names the bad block and the fix
//   f.render(edit)     the edit written in this format (examples, round trips)
template <class F>
concept EditFormat = requires(const F& format, std::string_view answer, const Edit& edit) {
  { F::name } -> std::convertible_to<std::string_view>;
  { format.prompt() } -> std::convertible_to<std::string_view>;
  { format.parse(answer) } -> std::same_as<Result<std::vector<Edit>>>;
  { format.render(edit) } -> std::same_as<std::string>;
};

namespace detail {
// One sentence per missing member, instead of a substitution failure.
template <class F>
constexpr bool check_edit_format() {
  static_assert(requires { { F::name } -> std::convertible_to<std::string_view>; },
                "an edit format needs `static constexpr std::string_view name`");
  static_assert(requires(const F& f) { { f.prompt() } -> std::convertible_to<std::string_view>; },
                "an edit format needs `prompt() const` returning its prompt text");
  static_assert(requires(const F& f, std::string_view a) {
                  { f.parse(a) } -> std::same_as<Result<std::vector<Edit>>>;
                },
                "an edit format needs `parse(std::string_view) const -> Result<std::vector<Edit>>`");
  static_assert(requires(const F& f, const Edit& e) { { f.render(e) } -> std::same_as<std::string>; },
                "an edit format needs `render(const Edit&) const -> std::string`");
  return true;
}
}  // namespace detail

}  // namespace speedrunner::code
