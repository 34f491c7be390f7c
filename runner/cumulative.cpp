// `speedrun cumulative DIR --from R --to R2 [OPTIONS] [OVERRIDE...]`: the paper's
// cumulative experiment. Stage R runs the agent on record R's task with the hints
// for R -> R+1; the next stage starts from the best valid node's code of this one
// (not from the human record) with the hints for R+1 -> R+2, and so on. Each stage
// is an ordinary run folder DIR/stage_R; DIR/cumulative.json keeps the settings,
// DIR/state/stage_R.exit marks a stage that ended, so running the command again
// resumes the chain where it stopped.
#include "child.hpp"
#include "commands.hpp"

#include <speedrunner/config/json.hpp>
#include <speedrunner/knowledge/knowledge.hpp>
#include <speedrunner/metrics/metrics.hpp>
#include <speedrunner/metrics/run_scores.hpp>
#include <speedrunner/runner/stop.hpp>
#include <speedrunner/workspace/atomic_file.hpp>
#include <speedrunner/workspace/journal.hpp>
#include <speedrunner/workspace/workspace.hpp>

#include <boost/json.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <set>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <vector>

namespace speedrun {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace sr = speedrunner;
using sr::ExitCode;

constexpr std::string_view format = "speedrun-cumulative/1";

constexpr char usage_text[] =
    "usage: speedrun cumulative DIR --from R --to R2 [OPTIONS] [OVERRIDE...]\n"
    "  Chains records R -> R2: stage R runs the agent on record R with the hints for R -> R+1; each later\n"
    "  stage starts from the best valid node's code of the stage before, with the next record's hints.\n"
    "  Each stage is a run folder DIR/stage_R; run the command again (DIR alone) to resume the chain.\n"
    "  --from R, --to R2        the first record and the record the chain should reach (R < R2)\n"
    "  --level L                hint level for every stage: none, 0-3 or joined with + (default 1)\n"
    "  --continue-from-human    a stage without a valid node continues from the next human record's\n"
    "                           template instead of ending the chain\n"
    "  --knowledge-dir DIR      where record_R/level_L_*.txt are (default data/nanogpt_speedrun_knowledge_in_levels)\n"
    "  --templates DIR          record templates with results.json, for the human times\n"
    "  --config-dir DIR         passed to every stage\n"
    "  OVERRIDE...              key=value for every stage (model=o3_mini science_runner=scaffold/aide ...)";

struct Settings {
  int from = 0, to = 0;
  std::string level = "1";
  bool continue_from_human = false;
  std::string knowledge_dir, templates, cwd;
  std::vector<std::string> config_dirs, overrides;
};

int usage_error(const std::string& what) {
  std::fprintf(stderr, "speedrun cumulative: %s\n  fix: see `speedrun cumulative --help`\n", what.c_str());
  return int(ExitCode::usage);
}

json::value to_json(const Settings& s) {
  json::array dirs, overrides;
  for (const auto& d : s.config_dirs) dirs.emplace_back(d);
  for (const auto& o : s.overrides) overrides.emplace_back(o);
  return json::object{{"format", format},
                      {"from", s.from},
                      {"to", s.to},
                      {"level", s.level},
                      {"continue_from_human", s.continue_from_human},
                      {"knowledge_dir", s.knowledge_dir},
                      {"templates", s.templates},
                      {"cwd", s.cwd},
                      {"config_dirs", dirs},
                      {"overrides", overrides}};
}

sr::Result<Settings> from_json(const json::value& v, const std::string& where) {
  auto bad = [&] { return sr::fail(where + ": not a cumulative experiment's settings", "give the folder `speedrun cumulative` made"); };
  if (!v.is_object()) return bad();
  const auto& o = v.as_object();
  const auto* f = o.if_contains("format");
  if (f == nullptr || !f->is_string() || f->as_string() != format) return bad();
  Settings s;
  try {
    s.from = static_cast<int>(o.at("from").as_int64());
    s.to = static_cast<int>(o.at("to").as_int64());
    s.level = std::string(o.at("level").as_string());
    s.continue_from_human = o.at("continue_from_human").as_bool();
    s.knowledge_dir = std::string(o.at("knowledge_dir").as_string());
    s.templates = std::string(o.at("templates").as_string());
    s.cwd = std::string(o.at("cwd").as_string());
    for (const auto& d : o.at("config_dirs").as_array()) s.config_dirs.emplace_back(d.as_string());
    for (const auto& x : o.at("overrides").as_array()) s.overrides.emplace_back(x.as_string());
  } catch (const std::exception&) {
    return bad();
  }
  return s;
}

// The code of a version, without what running it left (logs, meta, results, build outputs).
sr::Result<void> copy_code(const fs::path& from, const fs::path& to) {
  namespace ws = sr::workspace;
  const std::set<std::string> skip{std::string(ws::meta_file), std::string(ws::results_file),
                                   std::string(ws::stdout_file), std::string(ws::stderr_file), "coder.md",
                                   "coder_history.jsonl", "build"};
  std::error_code ec;
  fs::remove_all(to, ec);
  fs::create_directories(to, ec);
  for (auto it = fs::recursive_directory_iterator(from, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const auto rel = fs::relative(it->path(), from);
    if (skip.contains(rel.begin()->string())) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_directory()) fs::create_directories(to / rel, ec);
    else if (it->is_regular_file() || it->is_symlink()) fs::copy(it->path(), to / rel, fs::copy_options::copy_symlinks, ec);
    if (ec) break;
  }
  if (ec) return sr::fail("copying " + from.string() + " to " + to.string() + ": " + ec.message(), "check the disk");
  return {};
}

// Runs (or resumes) one stage through the cell wrapper, so a killed chain finds
// a stage still running and waits for it instead of starting it twice.
int run_stage(const Settings& s, const fs::path& dir, int record, const std::optional<fs::path>& start) {
  const std::string id = "stage_" + std::to_string(record);
  const fs::path run = dir / id, exit_file = dir / "state" / (id + ".exit"), pid_file = dir / "state" / (id + ".pid");
  const fs::path log = dir / "logs" / (id + ".log"), lock = dir / "state" / (id + ".lock");
  std::error_code ec;
  if (auto rc = read_exit(exit_file)) return *rc;
  pid_t pid = -1;
  bool child = false;
  if (cell_locked(lock)) {
    pid = static_cast<pid_t>(read_number(pid_file).value_or(-1));
    std::printf("stage %d: still running from before; waiting for it\n", record);
  } else {
    std::vector<std::string> args;
    const bool resume = fs::exists(run / "journal.json", ec);
    if (resume) args = {"resume", run.string()};
    for (const auto& d : s.config_dirs) {
      args.push_back("--config-dir");
      args.push_back(d);
    }
    if (!resume) {
      fs::remove_all(run, ec);
      args.push_back("task=nanogpt_speedrun/record_" + std::to_string(record));
      args.push_back("ideator=dummy");
      std::string list;
      for (const auto& g : hint_globs(s.knowledge_dir, record, s.level)) list += (list.empty() ? "" : ",") + g;
      args.push_back("knowledge_src_paths=[" + list + "]");
      args.insert(args.end(), s.overrides.begin(), s.overrides.end());
      if (start) args.push_back("task.template_dir=" + start->string());
      args.push_back("workspace.root=" + run.string());
    }
    std::printf("stage %d: %s record %d with the level-%s hints for %d -> %d, from %s (log: %s)\n", record,
                resume ? "resuming" : "running", record, s.level.c_str(), record, record + 1,
                start ? start->c_str() : ("record " + std::to_string(record) + "'s template").c_str(), log.c_str());
    std::fflush(stdout);
    pid = spawn_cell(self_exe(), args, s.cwd, log, exit_file, lock);
    if (pid < 0) return int(ExitCode::failure);
    child = true;
    (void)sr::workspace::write_file_atomic(pid_file, std::to_string(pid) + "\n");
  }
  bool forwarded = false;
  while (true) {
    if (sr::stop_requested() && !forwarded) {
      if (pid > 0) ::kill(pid, SIGTERM);
      forwarded = true;
    }
    if (child) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) != 0) break;
    } else if (fs::exists(exit_file, ec) || !cell_locked(lock)) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  fs::remove(pid_file, ec);
  return read_exit(exit_file).value_or(int(ExitCode::interrupted));
}

}  // namespace

int cumulative_command(std::span<const std::string_view> args) {
  Settings s;
  fs::path dir;
  bool given = false;
  std::optional<std::string> knowledge, templates;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (a == "--help" || a == "-h") {
      std::puts(usage_text);
      return 0;
    }
    if (a == "--continue-from-human") {
      s.continue_from_human = true;
      given = true;
    } else if (a.starts_with("--")) {
      if (i + 1 >= args.size()) return usage_error(std::string(a) + " needs a value");
      const std::string v(args[++i]);
      if (a == "--from" || a == "--to") {
        char* end = nullptr;
        const long n = std::strtol(v.c_str(), &end, 10);
        if (end == v.c_str() || *end != '\0' || n < 1) return usage_error(std::string(a) + " needs a record number >= 1, got '" + v + "'");
        (a == "--from" ? s.from : s.to) = static_cast<int>(n);
      } else if (a == "--level") {
        if (auto bad = bad_level(v)) return usage_error(*bad);
        s.level = v;
      } else if (a == "--knowledge-dir") {
        knowledge = v;
      } else if (a == "--templates") {
        templates = v;
      } else if (a == "--config-dir") {
        s.config_dirs.push_back(fs::absolute(v).string());
      } else {
        return usage_error("unknown option " + std::string(a));
      }
      given = true;
    } else if (dir.empty() && a.find('=') == std::string_view::npos) {
      dir = std::string(a);
    } else {
      s.overrides.emplace_back(a);
      given = true;
    }
  }
  if (dir.empty()) return usage_error("which folder? no DIR given");
  dir = fs::absolute(dir);
  std::error_code ec;
  const fs::path settings_file = dir / "cumulative.json";
  if (fs::exists(settings_file, ec)) {
    auto v = sr::config::read_json_file(settings_file);
    if (!v) return usage_error(v.error().message());
    auto saved = from_json(*v, settings_file.string());
    if (!saved) return usage_error(saved.error().message());
    if (given) {
      // the same settings again are a resume; other settings need another folder
      Settings mine = s;
      mine.knowledge_dir = saved->knowledge_dir;
      mine.templates = saved->templates;
      mine.cwd = saved->cwd;
      if (knowledge) mine.knowledge_dir = fs::absolute(*knowledge).string();
      if (templates) mine.templates = fs::absolute(*templates).string();
      if (json::serialize(to_json(mine)) != json::serialize(to_json(*saved)))
        return usage_error(dir.string() + " holds a cumulative experiment with other settings; resume it with "
                           "`speedrun cumulative " + dir.string() + "` alone, or use another folder");
    }
    s = *saved;
  } else {
    if (s.from == 0 || s.to == 0) return usage_error("a new chain needs --from R and --to R2");
    if (s.to <= s.from) return usage_error("--to must be after --from (the chain runs records from..to-1)");
    s.cwd = fs::current_path().string();
    s.knowledge_dir = fs::absolute(knowledge ? fs::path(*knowledge) : default_knowledge_dir()).string();
    s.templates = fs::absolute(templates ? fs::path(*templates) : default_templates()).string();
    for (int r = s.from; r < s.to; ++r)
      for (const auto& g : hint_globs(s.knowledge_dir, r, s.level))
        if (auto files = sr::knowledge::detail::expand(g, s.cwd); !files || files->empty())
          return usage_error("no hint files match " + g + " (stage " + std::to_string(r) + ")");
    fs::create_directories(dir, ec);
    if (auto w = sr::workspace::write_file_atomic(settings_file, sr::config::to_pretty(to_json(s))); !w)
      return usage_error(w.error().message());
  }
  for (const char* sub : {"state", "logs", "starts"}) fs::create_directories(dir / sub, ec);
  sr::install_stop_handlers();

  std::optional<fs::path> start;  // the first stage starts from the record's own template
  std::printf("%-7s %-9s %-10s %12s %12s %12s %7s\n", "stage", "record", "best", "t_agent ms", "t_R ms", "t_R+1 ms", "FSR");
  std::vector<std::string> rows;
  int code = 0;
  for (int r = s.from; r < s.to; ++r) {
    const int rc = run_stage(s, dir, r, start);
    const fs::path run = dir / ("stage_" + std::to_string(r));
    if (rc == int(ExitCode::interrupted) || rc == int(ExitCode::budget)) {
      std::printf("stage %d stopped (exit %d); resume with `speedrun cumulative %s`\n", r, rc, dir.c_str());
      return rc;
    }
    auto j = sr::workspace::Journal::load(run / "journal.json");
    if (!j) {
      std::fprintf(stderr, "speedrun cumulative: stage %d failed (exit %d) before its journal; see %s\n", r, rc,
                   (dir / "logs" / ("stage_" + std::to_string(r) + ".log")).c_str());
      return rc != 0 ? rc : int(ExitCode::failure);
    }
    // the best valid node, v_0 included; a stage none of whose own nodes is valid has no result
    bool found = false;
    for (const auto& n : j->nodes) found = found || (n.parent && n.valid && !n.buggy());
    const auto best = found ? j->best_valid() : std::nullopt;
    char line[256];
    if (best) {
      const double t = j->score(j->at(*best)).value_or(0);
      auto score = sr::metrics::score_run(run, s.templates);
      if (score)
        std::snprintf(line, sizeof line, "%-7d %3d->%-5d %-10s %12.0f %12.0f %12.0f %7.3f", r, r, r + 1,
                      sr::workspace::version_name(*best).c_str(), t, score->baseline.record_ms, score->baseline.next_ms,
                      score->fsr);
      else
        std::snprintf(line, sizeof line, "%-7d %3d->%-5d %-10s %12.0f %12s %12s %7s  (no human times: %s)", r, r,
                      r + 1, sr::workspace::version_name(*best).c_str(), t, "-", "-", "-",
                      score.error().what.substr(0, 120).c_str());
    } else {
      std::snprintf(line, sizeof line, "%-7d %3d->%-5d %-10s %12s %12s %12s %7s", r, r, r + 1, "none valid", "-", "-",
                    "-", "-");
    }
    std::printf("%s\n", line);
    std::fflush(stdout);
    if (!best) {
      if (!s.continue_from_human) {
        std::printf("stage %d has no valid node: the chain ends here (--continue-from-human goes on from record %d's "
                    "template)\n", r, r + 1);
        code = int(ExitCode::failure);
        break;
      }
      start.reset();  // the next stage starts from the human record's template
      continue;
    }
    const fs::path next_start = dir / "starts" / ("stage_" + std::to_string(r + 1));
    if (r + 1 < s.to) {
      const fs::path copied = dir / "state" / ("start_" + std::to_string(r + 1) + ".copied");
      if (!fs::exists(copied, ec)) {
        if (auto c = copy_code(run / sr::workspace::version_name(*best), next_start); !c) {
          std::fprintf(stderr, "speedrun cumulative: %s\n", c.error().message().c_str());
          return int(c.error().code);
        }
        (void)sr::workspace::write_file_atomic(copied, sr::workspace::version_name(*best) + "\n");
      }
      start = next_start;
    }
  }
  return code;
}

}  // namespace speedrun
