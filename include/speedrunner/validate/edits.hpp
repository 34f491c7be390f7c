// Edits as a Validator: a coder's edit format (SEARCH/REPLACE blocks by
// default) parsed from the answer, optionally limited to the editable files.
// The parsing is the coder's (code/search_replace.hpp); this adapts it so
// Agent::act can retry a malformed answer with the parser's reason.
#pragma once

#include <speedrunner/code/edit.hpp>
#include <speedrunner/code/search_replace.hpp>
#include <speedrunner/core/error.hpp>
#include <speedrunner/validate/detail/text.hpp>
#include <speedrunner/validate/validator.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace speedrunner::validate {

template <class Format>
struct Edits {
  static_assert(code::detail::check_edit_format<Format>());

  Format format{};
  std::vector<std::string> editable{};  // paths the answer may edit; empty: any

  using value_type = std::vector<code::Edit>;

  [[nodiscard]] Result<value_type> operator()(std::string_view answer) const {
    auto edits = format.parse(answer);
    if (!edits) {
      const Error& e = edits.error();
      return reject(e.fix.empty() ? e.what : e.what + "; " + e.fix);
    }
    if (edits->empty()) return reject("the answer holds no edit; describe each change in the " +
                                      std::string(Format::name) + " format");
    std::vector<std::string> outside;
    for (std::size_t i = 0; i < edits->size(); ++i) {
      auto& path = (*edits)[i].path;
      if (path.empty()) {  // a whole file without a path line is for the only editable file
        if (editable.size() != 1)
          return reject("edit " + std::to_string(i + 1) + " names no file; put the file's path alone on the line "
                        "before its opening fence");
        path = editable.front();
      }
      bool allowed = editable.empty();
      for (const auto& f : editable) allowed = allowed || f == path;
      if (!allowed) outside.push_back("edit " + std::to_string(i + 1) + " changes " + path);
    }
    if (!outside.empty())
      return reject(detail::join(outside, ", ") + ", which is not an editable file (editable: " +
                    detail::join(editable, ", ") + "); edit only those files, with their paths as shown");
    return edits;
  }
};

// SEARCH/REPLACE blocks (Aider's "diff" format).
using SearchReplaceBlocks = Edits<code::SearchReplace>;

}  // namespace speedrunner::validate
