// A coder of your own in the library's Runner: "ReplaceLine" needs no model.
// Its hypothesis is three lines: a file, a line of it, and the line to put in
// its place. Offline. Usage: custom_coder SOURCE_ROOT RUN_DIR
#include <speedrunner/ideate/dummy.hpp>
#include <speedrunner/runner.hpp>
#include <speedrunner/search/bon.hpp>
#include <speedrunner/workspace/atomic_file.hpp>

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace sr = speedrunner;

struct ReplaceLine {
  static constexpr std::string_view config_name = "replace_line";

  sr::Result<sr::code::CodeOutcome> implement(const sr::code::CodeRequest& request) const {
    std::istringstream lines(request.hypothesis.text);
    std::string file, from, to;
    if (!std::getline(lines, file) || !std::getline(lines, from) || !std::getline(lines, to))
      return sr::fail("replace_line needs a hypothesis of three lines", "write FILE, then OLD LINE, then NEW LINE");
    if (std::find(request.files.begin(), request.files.end(), file) == request.files.end())
      return sr::fail(file + " is not one of the task's editable files", "name an entry file of the task");
    auto text = sr::workspace::read_file(request.version_dir / file);
    if (!text) return std::unexpected(text.error());
    const auto at = ("\n" + *text).find("\n" + from + "\n");  // a whole line, first match
    if (at == std::string::npos) return sr::fail(file + " has no line `" + from + "`", "quote a line of the file");
    text->replace(at, from.size(), to);
    // The runner keeps the version as the coder leaves it: write atomically.
    if (auto w = sr::workspace::write_file_atomic(request.version_dir / file, *text); !w)
      return std::unexpected(w.error());
    sr::code::CodeOutcome out;
    out.changed_files = {file};
    out.summary = "replaced one line of " + file;
    return out;
  }
};
static_assert(sr::code::Coder<ReplaceLine>);

int main(int argc, char** argv) {
  if (argc != 3) return std::fprintf(stderr, "usage: custom_coder SOURCE_ROOT RUN_DIR\n"), 2;
  sr::Task task;
  task.template_dir = std::filesystem::path(argv[1]) / "workspace_templates" / "collatz";
  task.files = {"collatz.cpp"};
  // The dummy ideator hands these hints to the coder as the hypothesis.
  task.knowledge = "collatz.cpp\n"
                   "  for (std::uint64_t i = 1; i < limit; ++i) {\n"
                   "  for (std::uint64_t i = (limit / 2) | 1; i < limit; i += 2) {";
  task.launch_command = "./run.sh";
  task.metrics = {.metrics = {{"start_value"}, {"max_steps"}}, .selection = "max_steps"};
  sr::Runner<sr::search::BoN, sr::ideate::Dummy, ReplaceLine> runner(
      sr::search::BoN{}, sr::ideate::Dummy{}, ReplaceLine{}, sr::exec::Local{}, task, {.n_iterations = 1});
  auto summary = runner.start(argv[2]);
  if (!summary) return std::fprintf(stderr, "%s\n", summary.error().message().c_str()), 1;
  for (const auto& n : runner.journal().nodes) std::printf("%s: %s\n", n.name().c_str(), n.outcome.c_str());
  // v_1 walks only odd start values in the upper half, so it finds a longer chain within the budget.
  return summary->best && *summary->best != 0 ? 0 : 1;
}
