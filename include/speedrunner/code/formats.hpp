// All edit formats in one include, and the `speedrunner::edit` names the
// design uses for them (`edit::SearchReplace`, `edit::WholeFile`, `edit::UnifiedDiff`).
#pragma once

#include <speedrunner/code/search_replace.hpp>
#include <speedrunner/code/unified_diff.hpp>
#include <speedrunner/code/whole_file.hpp>

namespace speedrunner::edit {
using code::SearchReplace;
using code::UnifiedDiff;
using code::WholeFile;
}  // namespace speedrunner::edit
