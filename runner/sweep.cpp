// `speedrun sweep SWEEP_DIR [GRID...] [OPTIONS] [OVERRIDE...]`: the paper's grid
// (records x hint levels x scaffolds x models x seeds) as one folder of ordinary
// run folders. SWEEP_DIR/sweep.json is the manifest (the grid, each cell's
// overrides, how cells are launched); SWEEP_DIR/cells/ID is cell ID's run
// folder; SWEEP_DIR/state/ID.exit holds its exit status once it ended (.pid or
// .job while it runs); SWEEP_DIR/logs/ID.log its output. Every state is in
// files, so a killed sweep resumes by running the same command again.
#include "child.hpp"
#include "commands.hpp"

#include <speedrunner/config/compose.hpp>
#include <speedrunner/config/json.hpp>
#include <speedrunner/config/settings.hpp>
#include <speedrunner/knowledge/knowledge.hpp>
#include <speedrunner/metrics/metrics.hpp>
#include <speedrunner/metrics/run_scores.hpp>
#include <speedrunner/runner/stop.hpp>
#include <speedrunner/workspace/atomic_file.hpp>
#include <speedrunner/workspace/journal.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace speedrun {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace sr = speedrunner;
namespace cfg = speedrunner::config;
using sr::ExitCode;
using sr::Result;

constexpr std::string_view manifest_format = "speedrun-sweep/1";

constexpr char usage_text[] =
    "usage: speedrun sweep SWEEP_DIR [GRID] [OPTIONS] [OVERRIDE...]\n"
    "  Runs every cell of a grid as an ordinary run folder SWEEP_DIR/cells/ID; run it again to resume.\n"
    "grid (a new sweep; comma-separated values; an axis left out takes the config's default):\n"
    "  --records 1,2          task=nanogpt_speedrun/record_R and the hints for R -> R+1\n"
    "  --levels none,1,1+2    hint levels: none (the dummy ideator's no-hint condition), 0-3, or joined with +\n"
    "  --scaffolds flat,tree  science_runner=scaffold/NAME: flat, tree, forest, aide, multi-aide\n"
    "  --models o3_mini,...   model=NAME\n"
    "  --seeds 0,1            seed=S\n"
    "  --grid FILE            the grid as JSON: {\"records\": [1], \"levels\": [\"1\"], ..., \"overrides\": [...]}\n"
    "  --knowledge-dir DIR    where record_R/level_L_*.txt are (default data/nanogpt_speedrun_knowledge_in_levels)\n"
    "  --config-dir DIR       passed to every cell\n"
    "  OVERRIDE...            key=value for every cell (after the grid's own)\n"
    "options (kept in the manifest; give them again to change them):\n"
    "  --parallel N           cells running at once on this machine (default 1)\n"
    "  --slurm                submit each cell as a Slurm batch job instead (sbatch, squeue)\n"
    "  --sbatch LINE          an #SBATCH line for each cell's job, e.g. --sbatch '--gpus-per-node=8' (repeatable)\n"
    "  --budget-usd X         stop when the cells' model cost reaches X (running cells are stopped, resumably)\n"
    "  --poll S               seconds between checks of running cells (default 0.2, Slurm 10)\n"
    "  --templates DIR        record templates for the FSR column (default workspace_templates/nanogpt_speedrun)\n"
    "each invocation:\n"
    "  --retry-failed         run the failed cells again (resumed from their journal where they have one)\n"
    "  --plan                 write the manifest and the table, start nothing\n"
    "  --status               print the per-cell table and exit\n"
    "Score it with `speedrun report SWEEP_DIR`.";

int usage_error(const std::string& what) {
  std::fprintf(stderr, "speedrun sweep: %s\n  fix: see `speedrun sweep --help`\n", what.c_str());
  return int(ExitCode::usage);
}
int fail_with(const sr::Error& e) {
  std::fprintf(stderr, "speedrun sweep: %s\n", e.message().c_str());
  return int(e.code);
}

std::vector<std::string> split_commas(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    auto c = s.find(',');
    std::string item(s.substr(0, c));
    if (!item.empty()) out.push_back(item);
    if (c == std::string_view::npos) break;
    s.remove_prefix(c + 1);
  }
  return out;
}

// The grid's axes; an empty axis is left to the config.
struct Grid {
  std::vector<int> records;
  std::vector<std::string> levels, scaffolds, models;
  std::vector<std::uint64_t> seeds;
  std::vector<std::string> overrides;
  [[nodiscard]] bool empty() const {
    return records.empty() && levels.empty() && scaffolds.empty() && models.empty() && seeds.empty();
  }
};

struct Cell {
  std::string id;
  std::optional<int> record;
  std::optional<std::string> level, scaffold, model;
  std::optional<std::uint64_t> seed;
  std::vector<std::string> overrides;  // the cell's command line, without workspace.root
};

struct Launch {
  int parallel = 1;
  bool slurm = false;
  std::vector<std::string> sbatch;
  std::optional<double> budget_usd;
  std::optional<double> poll_s;
  std::string templates;
};

struct Manifest {
  std::string cwd;
  std::vector<std::string> config_dirs;
  std::string knowledge_dir;
  Grid grid;
  Launch launch;
  std::vector<Cell> cells;
};

// ---- the grid

constexpr std::array<std::string_view, 5> scaffold_names{"flat", "tree", "forest", "aide", "multi-aide"};

Result<void> check_grid(const Grid& g) {
  for (const auto& l : g.levels)
    if (auto bad = bad_level(l)) return sr::fail(*bad, "write --levels none,0,1,2,3 or combinations such as 1+2");
  for (const auto& s : g.scaffolds)
    if (std::find(scaffold_names.begin(), scaffold_names.end(), s) == scaffold_names.end())
      return sr::fail("scaffold '" + s + "' is not one of the paper's", "choose from flat, tree, forest, aide, multi-aide");
  bool hints = false;
  for (const auto& l : g.levels) hints = hints || l != "none";
  if (hints && g.records.empty())
    return sr::fail("hint levels other than none need --records: the hints are for record R -> R+1",
                    "add --records 1,2,...");
  for (int r : g.records)
    if (r < 1) return sr::fail("record " + std::to_string(r) + ": records count from 1", "write --records 1,2,...");
  return {};
}

std::string cell_id(const Cell& c) {
  std::string id;
  auto add = [&](const std::string& part) { id += (id.empty() ? "" : "-") + part; };
  if (c.record) add("r" + std::to_string(*c.record));
  if (c.level) add("L" + *c.level);
  if (c.scaffold) add(*c.scaffold);
  if (c.model) add(*c.model);
  if (c.seed) add("s" + std::to_string(*c.seed));
  return id.empty() ? "cell" : id;
}

std::vector<Cell> expand(const Grid& g, const fs::path& knowledge_dir) {
  std::vector<Cell> cells;
  auto axis = [](const auto& v) {
    using T = typename std::decay_t<decltype(v)>::value_type;
    std::vector<std::optional<T>> out(v.begin(), v.end());
    if (out.empty()) out.push_back(std::nullopt);
    return out;
  };
  for (const auto& record : axis(g.records))
    for (const auto& level : axis(g.levels))
      for (const auto& scaffold : axis(g.scaffolds))
        for (const auto& model : axis(g.models))
          for (const auto& seed : axis(g.seeds)) {
            Cell c{{}, record, level, scaffold, model, seed, {}};
            if (record) c.overrides.push_back("task=nanogpt_speedrun/record_" + std::to_string(*record));
            if (level) {
              // the paper's hint conditions use the dummy ideator: hints pass through, none means no idea
              c.overrides.push_back("ideator=dummy");
              std::string list;
              for (const auto& glob : hint_globs(knowledge_dir, record.value_or(0), *level))
                list += (list.empty() ? "" : ",") + glob;
              c.overrides.push_back("knowledge_src_paths=[" + list + "]");
            }
            if (scaffold)
              c.overrides.push_back("science_runner=scaffold/" + std::string(*scaffold == "multi-aide" ? "multi_aide" : *scaffold));
            if (model) c.overrides.push_back("model=" + *model);
            if (seed) c.overrides.push_back("seed=" + std::to_string(*seed));
            c.overrides.insert(c.overrides.end(), g.overrides.begin(), g.overrides.end());
            c.id = cell_id(c);
            cells.push_back(std::move(c));
          }
  return cells;
}

// ---- the manifest on disk

json::array strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

json::value to_json(const Manifest& m) {
  json::object o;
  o["format"] = manifest_format;
  o["cwd"] = m.cwd;
  o["config_dirs"] = strings(m.config_dirs);
  o["knowledge_dir"] = m.knowledge_dir;
  json::object grid;
  json::array records, seeds;
  for (int r : m.grid.records) records.emplace_back(r);
  for (auto s : m.grid.seeds) seeds.emplace_back(s);
  grid["records"] = records;
  grid["levels"] = strings(m.grid.levels);
  grid["scaffolds"] = strings(m.grid.scaffolds);
  grid["models"] = strings(m.grid.models);
  grid["seeds"] = seeds;
  grid["overrides"] = strings(m.grid.overrides);
  o["grid"] = grid;
  json::object launch;
  launch["parallel"] = m.launch.parallel;
  launch["launcher"] = m.launch.slurm ? "slurm" : "local";
  launch["sbatch"] = strings(m.launch.sbatch);
  launch["budget_usd"] = m.launch.budget_usd ? json::value(*m.launch.budget_usd) : json::value(nullptr);
  launch["poll_s"] = m.launch.poll_s ? json::value(*m.launch.poll_s) : json::value(nullptr);
  launch["templates"] = m.launch.templates;
  o["launch"] = launch;
  json::array cells;
  for (const auto& c : m.cells) {
    json::object x;
    x["id"] = c.id;
    x["record"] = c.record ? json::value(*c.record) : json::value(nullptr);
    x["level"] = c.level ? json::value(*c.level) : json::value(nullptr);
    x["scaffold"] = c.scaffold ? json::value(*c.scaffold) : json::value(nullptr);
    x["model"] = c.model ? json::value(*c.model) : json::value(nullptr);
    x["seed"] = c.seed ? json::value(*c.seed) : json::value(nullptr);
    x["overrides"] = strings(c.overrides);
    cells.push_back(std::move(x));
  }
  o["cells"] = std::move(cells);
  return o;
}

Result<std::vector<std::string>> read_strings(const json::object& o, std::string_view key, const std::string& where) {
  std::vector<std::string> out;
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return out;
  if (!v->is_array()) return sr::fail(where + ": " + std::string(key) + ": expected a list of strings", "");
  for (const auto& x : v->as_array()) {
    if (x.is_string()) out.emplace_back(x.as_string());
    else if (x.is_int64() || x.is_uint64() || x.is_double()) out.push_back(json::serialize(x));
    else return sr::fail(where + ": " + std::string(key) + ": expected a list of strings", "");
  }
  return out;
}

// The grid part of a manifest or of a --grid file.
Result<Grid> grid_from(const json::object& o, const std::string& where) {
  Grid g;
  auto fix = std::string("write {\"records\": [1, 2], \"levels\": [\"none\", \"1\"], \"scaffolds\": [\"aide\"], "
                         "\"models\": [\"o3_mini\"], \"seeds\": [0], \"overrides\": [\"budget.usd=5\"]}");
  for (const auto& kv : o)
    if (kv.key() != "records" && kv.key() != "levels" && kv.key() != "scaffolds" && kv.key() != "models" &&
        kv.key() != "seeds" && kv.key() != "overrides")
      return sr::fail(where + ": unknown key '" + std::string(kv.key()) + "'", fix);
  for (std::string_view key : {"records", "seeds"}) {
    auto v = read_strings(o, key, where);
    if (!v) return std::unexpected(v.error());
    for (const auto& s : *v) {
      char* end = nullptr;
      const long long n = std::strtoll(s.c_str(), &end, 10);
      if (end == s.c_str() || *end != '\0' || n < 0)
        return sr::fail(where + ": " + std::string(key) + ": '" + s + "' is not a whole number >= 0", fix);
      if (key == "records") g.records.push_back(static_cast<int>(n));
      else g.seeds.push_back(static_cast<std::uint64_t>(n));
    }
  }
  for (auto [key, dst] : {std::pair{"levels", &g.levels}, std::pair{"scaffolds", &g.scaffolds},
                          std::pair{"models", &g.models}, std::pair{"overrides", &g.overrides}}) {
    auto v = read_strings(o, key, where);
    if (!v) return std::unexpected(v.error());
    *dst = *v;
  }
  return g;
}

Result<Manifest> load_manifest(const fs::path& dir) {
  const fs::path file = dir / "sweep.json";
  auto v = cfg::read_json_file(file);
  if (!v) return std::unexpected(v.error());
  const std::string where = file.string();
  if (!v->is_object() || !v->as_object().contains("format") || !v->at("format").is_string() ||
      v->at("format").as_string() != manifest_format)
    return sr::fail(where + ": not a sweep manifest (" + std::string(manifest_format) + ")",
                    "give the folder `speedrun sweep` made");
  const auto& o = v->as_object();
  Manifest m;
  auto str = [&](std::string_view k) -> std::string {
    const auto* x = o.if_contains(k);
    return x && x->is_string() ? std::string(x->as_string()) : std::string{};
  };
  m.cwd = str("cwd");
  m.knowledge_dir = str("knowledge_dir");
  auto dirs = read_strings(o, "config_dirs", where);
  if (!dirs) return std::unexpected(dirs.error());
  m.config_dirs = *dirs;
  if (const auto* g = o.if_contains("grid"); g && g->is_object()) {
    auto grid = grid_from(g->as_object(), where + ": grid");
    if (!grid) return std::unexpected(grid.error());
    m.grid = *grid;
  }
  if (const auto* l = o.if_contains("launch"); l && l->is_object()) {
    const auto& lo = l->as_object();
    if (const auto* p = lo.if_contains("parallel"); p && p->is_int64()) m.launch.parallel = static_cast<int>(p->as_int64());
    if (const auto* p = lo.if_contains("launcher"); p && p->is_string()) m.launch.slurm = p->as_string() == "slurm";
    auto sb = read_strings(lo, "sbatch", where);
    if (!sb) return std::unexpected(sb.error());
    m.launch.sbatch = *sb;
    auto number = [](const json::value* x) -> std::optional<double> {
      if (x && x->is_double()) return x->as_double();
      if (x && x->is_int64()) return static_cast<double>(x->as_int64());
      return std::nullopt;
    };
    m.launch.budget_usd = number(lo.if_contains("budget_usd"));
    m.launch.poll_s = number(lo.if_contains("poll_s"));
    if (const auto* t = lo.if_contains("templates"); t && t->is_string()) m.launch.templates = std::string(t->as_string());
  }
  const auto* cells = o.if_contains("cells");
  if (cells == nullptr || !cells->is_array()) return sr::fail(where + ": has no cells", "plan the sweep again");
  for (const auto& x : cells->as_array()) {
    if (!x.is_object() || !x.as_object().contains("id") || !x.at("id").is_string())
      return sr::fail(where + ": a cell without an id", "plan the sweep again");
    Cell c;
    c.id = std::string(x.at("id").as_string());
    auto ov = read_strings(x.as_object(), "overrides", where);
    if (!ov) return std::unexpected(ov.error());
    c.overrides = *ov;
    const auto& xo = x.as_object();
    if (const auto* r = xo.if_contains("record"); r && r->is_int64()) c.record = static_cast<int>(r->as_int64());
    if (const auto* r = xo.if_contains("level"); r && r->is_string()) c.level = std::string(r->as_string());
    if (const auto* r = xo.if_contains("scaffold"); r && r->is_string()) c.scaffold = std::string(r->as_string());
    if (const auto* r = xo.if_contains("model"); r && r->is_string()) c.model = std::string(r->as_string());
    if (const auto* r = xo.if_contains("seed"); r && (r->is_int64() || r->is_uint64()))
      c.seed = r->is_int64() ? static_cast<std::uint64_t>(r->as_int64()) : r->as_uint64();
    m.cells.push_back(std::move(c));
  }
  return m;
}

// ---- cell states, all read from files

enum class State { pending, running, done, no_valid, budget, stopped, failed };
constexpr std::array<std::string_view, 7> state_names{"pending", "running", "done", "no valid node",
                                                      "budget", "stopped", "failed"};

struct Paths {
  fs::path root;
  [[nodiscard]] fs::path cell(const std::string& id) const { return root / "cells" / id; }
  [[nodiscard]] fs::path exit(const std::string& id) const { return root / "state" / (id + ".exit"); }
  [[nodiscard]] fs::path pid(const std::string& id) const { return root / "state" / (id + ".pid"); }
  [[nodiscard]] fs::path lock(const std::string& id) const { return root / "state" / (id + ".lock"); }
  [[nodiscard]] fs::path job(const std::string& id) const { return root / "state" / (id + ".job"); }
  [[nodiscard]] fs::path script(const std::string& id) const { return root / "state" / (id + ".sbatch"); }
  [[nodiscard]] fs::path log(const std::string& id) const { return root / "logs" / (id + ".log"); }
};

// A finished cell's exit status, read with its journal: a run that ended
// without a valid node (exit 1, every node finished) is a result, not a failure.
State state_of_exit(int rc, const fs::path& cell_dir) {
  if (rc == 0) return State::done;
  if (rc == int(ExitCode::budget)) return State::budget;
  if (rc == int(ExitCode::interrupted)) return State::stopped;
  if (rc == int(ExitCode::failure)) {
    auto j = sr::workspace::Journal::load(cell_dir / "journal.json");
    if (j && j->n_nodes() > 0 && j->unfinished().empty()) return State::no_valid;
  }
  return State::failed;
}

// The Slurm jobs of `ids` that squeue still lists.
std::set<std::string> slurm_alive(const std::vector<std::string>& jobs) {
  std::set<std::string> out;
  if (jobs.empty()) return out;
  std::string list;
  for (const auto& j : jobs) list += (list.empty() ? "" : ",") + j;
  std::FILE* p = ::popen(("squeue -h -o %i -j " + list + " 2>/dev/null").c_str(), "r");
  if (p == nullptr) return out;
  char line[256];
  while (std::fgets(line, sizeof line, p)) {
    std::string s(line);
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    if (!s.empty()) out.insert(s);
  }
  ::pclose(p);
  return out;
}

struct CellStatus {
  State state = State::pending;
  pid_t pid = -1;      // the local wrapper
  bool child = false;  // started by this process (reaped with waitpid)
  std::string job;     // the Slurm job
  double usd = 0;
  std::optional<double> fsr;
  std::optional<double> best;  // the best valid node's selection metric
};

// One pass over the state folder: each cell's state from its exit, pid or job file.
std::vector<CellStatus> scan(const Manifest& m, const Paths& paths) {
  std::vector<CellStatus> out(m.cells.size());
  std::set<std::string> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(paths.root / "state", ec)) files.insert(e.path().filename().string());
  std::vector<std::string> jobs;
  for (std::size_t i = 0; i < m.cells.size(); ++i) {
    const auto& id = m.cells[i].id;
    auto& s = out[i];
    if (files.contains(id + ".exit")) {
      if (auto rc = read_exit(paths.exit(id))) s.state = state_of_exit(*rc, paths.cell(id));
      else s.state = State::failed;
      continue;
    }
    if (files.contains(id + ".lock") && cell_locked(paths.lock(id))) {
      // started by a sweep that was killed: still running, waited for
      s.state = State::running;
      if (auto pid = read_number(paths.pid(id)); pid && wrapper_alive(static_cast<pid_t>(*pid), id))
        s.pid = static_cast<pid_t>(*pid);
      continue;
    }
    if (files.contains(id + ".job"))
      if (auto t = sr::workspace::read_file(paths.job(id))) {
        std::string job = *t;
        while (!job.empty() && (job.back() == '\n' || job.back() == ' ')) job.pop_back();
        s.job = job;
        jobs.push_back(job);
        s.state = State::running;  // confirmed below
        continue;
      }
    // never started, or stopped without a word (the sweep and the cell were killed): resumable
    s.state = fs::exists(paths.cell(id) / "journal.json", ec) ? State::stopped : State::pending;
  }
  if (!jobs.empty()) {
    const auto alive = slurm_alive(jobs);
    for (std::size_t i = 0; i < out.size(); ++i)
      if (!out[i].job.empty() && out[i].state == State::running && !alive.contains(out[i].job)) {
        // the job left the queue without writing its status: killed (time limit, scancel, node failure)
        out[i].state = fs::exists(paths.cell(m.cells[i].id) / "journal.json", ec) ? State::stopped : State::pending;
        out[i].job.clear();
      }
  }
  return out;
}

// The cost and scores of a cell from its run folder (cheap: one journal).
void read_results(CellStatus& s, const fs::path& cell_dir, const fs::path& templates) {
  auto j = sr::workspace::Journal::load(cell_dir / "journal.json");
  if (!j) return;
  s.usd = j->spent_usd();
  if (auto b = j->best_valid()) s.best = j->score(j->at(*b));
  if (s.state != State::running && !templates.empty())
    if (auto score = sr::metrics::score_run(cell_dir, templates)) s.fsr = score->fsr;
}

// ---- the table

std::string summary_line(const Manifest& m, const std::vector<CellStatus>& st) {
  std::array<int, state_names.size()> count{};
  double usd = 0;
  std::optional<double> best_fsr;
  std::string best_cell;
  for (std::size_t i = 0; i < st.size(); ++i) {
    ++count[static_cast<std::size_t>(st[i].state)];
    usd += st[i].usd;
    if (st[i].fsr && (!best_fsr || *st[i].fsr > *best_fsr)) {
      best_fsr = st[i].fsr;
      best_cell = m.cells[i].id;
    }
  }
  std::string line = std::to_string(st.size()) + " cells:";
  for (std::size_t k = 0; k < count.size(); ++k)
    if (count[k] > 0 || k <= static_cast<std::size_t>(State::done))
      line += " " + std::string(state_names[k]) + " " + std::to_string(count[k]) + ",";
  line.pop_back();
  line += " | $" + sr::metrics::format_number(usd) + " spent | best FSR ";
  line += best_fsr ? sr::metrics::format_number(*best_fsr) + " (" + best_cell + ")" : std::string("-");
  return line;
}

void print_table(const Manifest& m, const std::vector<CellStatus>& st) {
  std::printf("%-40s %-14s %10s %12s %8s\n", "cell", "state", "cost $", "best", "FSR");
  for (std::size_t i = 0; i < st.size(); ++i) {
    const auto& s = st[i];
    std::printf("%-40s %-14s %10s %12s %8s\n", m.cells[i].id.c_str(),
                std::string(state_names[static_cast<std::size_t>(s.state)]).c_str(),
                sr::metrics::format_number(s.usd).c_str(),
                s.best ? sr::metrics::format_number(*s.best).c_str() : "-",
                s.fsr ? sr::metrics::format_number(*s.fsr).c_str() : "-");
  }
}

// ---- starting cells

std::vector<std::string> cell_args(const Manifest& m, const Cell& c, const Paths& paths) {
  std::vector<std::string> args;
  for (const auto& d : m.config_dirs) {
    args.push_back("--config-dir");
    args.push_back(d);
  }
  args.insert(args.end(), c.overrides.begin(), c.overrides.end());
  args.push_back("workspace.root=" + paths.cell(c.id).string());
  return args;
}

// A stopped or failed cell continues from its journal; one without starts afresh.
std::vector<std::string> start_args(const Manifest& m, const Cell& c, const Paths& paths) {
  std::error_code ec;
  if (fs::exists(paths.cell(c.id) / "journal.json", ec)) {
    std::vector<std::string> args{"resume", paths.cell(c.id).string()};
    for (const auto& d : m.config_dirs) {
      args.push_back("--config-dir");
      args.push_back(d);
    }
    return args;
  }
  // a start that failed before its journal leaves a folder a new run may not reuse
  fs::remove_all(paths.cell(c.id), ec);
  return cell_args(m, c, paths);
}

Result<void> start_cell(const Manifest& m, const Cell& c, const Paths& paths, CellStatus& s) {
  std::error_code ec;
  fs::remove(paths.exit(c.id), ec);
  const auto args = start_args(m, c, paths);
  const std::string exe = self_exe();
  if (!m.launch.slurm) {
    const pid_t pid = spawn_cell(exe, args, m.cwd, paths.log(c.id), paths.exit(c.id), paths.lock(c.id));
    if (pid < 0) return sr::fail("cell " + c.id + ": cannot start a process", "check the system's process limit",
                                 ExitCode::failure);
    if (auto w = sr::workspace::write_file_atomic(paths.pid(c.id), std::to_string(pid) + "\n"); !w)
      return std::unexpected(w.error());
    s = CellStatus{.state = State::running, .pid = pid, .child = true};
    return {};
  }
  std::string script = "#!/bin/sh\n#SBATCH --job-name=sweep-" + c.id + "\n#SBATCH --output=" + paths.log(c.id).string() +
                       "\n";
  for (const auto& line : m.launch.sbatch) script += "#SBATCH " + line + "\n";
  script += "cd " + shell_quote(m.cwd) + " || exit 1\n" + shell_quote(exe);
  for (const auto& a : args) script += " " + shell_quote(a);
  const std::string exit_file = paths.exit(c.id).string();
  script += "\nrc=$?\nprintf '%s\\n' \"$rc\" >" + shell_quote(exit_file + ".tmp") + " && mv -f " +
            shell_quote(exit_file + ".tmp") + " " + shell_quote(exit_file) + "\n";
  if (auto w = sr::workspace::write_file_atomic(paths.script(c.id), script); !w) return std::unexpected(w.error());
  std::FILE* p = ::popen(("sbatch --parsable " + shell_quote(paths.script(c.id).string()) + " 2>&1").c_str(), "r");
  if (p == nullptr) return sr::fail("cell " + c.id + ": cannot run sbatch", "is Slurm installed here?", ExitCode::failure);
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  const int rc = ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  const std::string job = out.substr(0, out.find(';'));  // --parsable: "ID" or "ID;cluster"
  if (rc != 0 || job.empty() || job.find_first_not_of("0123456789_") != std::string::npos)
    return sr::fail("cell " + c.id + ": sbatch refused " + paths.script(c.id).string() + ": " + out,
                    "fix the #SBATCH lines (--sbatch) or the cluster's limits, then run the sweep again",
                    ExitCode::failure);
  if (auto w = sr::workspace::write_file_atomic(paths.job(c.id), job + "\n"); !w) return std::unexpected(w.error());
  s = CellStatus{.state = State::running, .job = job};
  return {};
}

void stop_cell(const Manifest& m, CellStatus& s) {
  if (s.pid > 0) ::kill(s.pid, SIGTERM);
  if (!s.job.empty() && m.launch.slurm)
    if (std::system(("scancel --signal=TERM --full " + s.job + " >/dev/null 2>&1").c_str()) != 0) {
      // a job that already left the queue: its status file says how it ended
    }
}

// Whether a running cell ended; its exit file says how.
bool ended(CellStatus& s, const std::string& id, const Paths& paths) {
  if (s.child && s.pid > 0) {
    int status = 0;
    if (::waitpid(s.pid, &status, WNOHANG) == 0) return false;
    return true;
  }
  std::error_code ec;
  if (fs::exists(paths.exit(id), ec)) return true;
  return !cell_locked(paths.lock(id));
}

// ---- the command

struct Options {
  fs::path dir;
  Grid grid;
  bool grid_given = false;
  std::optional<std::string> grid_file;
  std::optional<std::string> knowledge_dir;
  std::vector<std::string> config_dirs;
  std::optional<int> parallel;
  std::optional<bool> slurm;
  std::vector<std::string> sbatch;
  std::optional<double> budget_usd, poll_s;
  std::optional<std::string> templates;
  bool retry_failed = false, plan_only = false, status_only = false;
};

Result<Options> parse(std::span<const std::string_view> args) {
  Options o;
  auto number = [](std::string_view flag, const std::string& v) -> Result<double> {
    char* end = nullptr;
    const double x = std::strtod(v.c_str(), &end);
    if (end == v.c_str() || *end != '\0' || !(x >= 0))
      return sr::fail(std::string(flag) + " needs a number >= 0, got '" + v + "'", "see `speedrun sweep --help`");
    return x;
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    auto value = [&]() -> Result<std::string> {
      if (i + 1 >= args.size()) return sr::fail(std::string(a) + " needs a value", "see `speedrun sweep --help`");
      return std::string(args[++i]);
    };
    if (a == "--retry-failed") o.retry_failed = true;
    else if (a == "--plan") o.plan_only = true;
    else if (a == "--status") o.status_only = true;
    else if (a == "--slurm") o.slurm = true;
    else if (a == "--local") o.slurm = false;
    else if (a.starts_with("--")) {
      auto v = value();
      if (!v) return std::unexpected(v.error());
      if (a == "--records" || a == "--seeds") {
        for (const auto& s : split_commas(*v)) {
          char* end = nullptr;
          const long long n = std::strtoll(s.c_str(), &end, 10);
          if (end == s.c_str() || *end != '\0' || n < 0)
            return sr::fail(std::string(a) + ": '" + s + "' is not a whole number >= 0", "write " + std::string(a) + " 1,2");
          if (a == "--records") o.grid.records.push_back(static_cast<int>(n));
          else o.grid.seeds.push_back(static_cast<std::uint64_t>(n));
        }
        o.grid_given = true;
      } else if (a == "--levels") {
        o.grid.levels = split_commas(*v);
        o.grid_given = true;
      } else if (a == "--scaffolds") {
        o.grid.scaffolds = split_commas(*v);
        o.grid_given = true;
      } else if (a == "--models") {
        o.grid.models = split_commas(*v);
        o.grid_given = true;
      } else if (a == "--grid") {
        o.grid_file = *v;
        o.grid_given = true;
      } else if (a == "--knowledge-dir") {
        o.knowledge_dir = *v;
      } else if (a == "--config-dir") {
        o.config_dirs.push_back(fs::absolute(*v).string());
      } else if (a == "--parallel") {
        auto n = number(a, *v);
        if (!n) return std::unexpected(n.error());
        if (*n < 1) return sr::fail("--parallel needs at least 1", "write --parallel 4");
        o.parallel = static_cast<int>(*n);
      } else if (a == "--sbatch") {
        o.sbatch.push_back(*v);
      } else if (a == "--budget-usd" || a == "--poll") {
        auto n = number(a, *v);
        if (!n) return std::unexpected(n.error());
        (a == "--poll" ? o.poll_s : o.budget_usd) = *n;
      } else if (a == "--templates") {
        o.templates = fs::absolute(*v).string();
      } else {
        return sr::fail("unknown option " + std::string(a), "see `speedrun sweep --help`");
      }
    } else if (o.dir.empty() && a.find('=') == std::string_view::npos) {
      o.dir = std::string(a);
    } else if (a.find('=') != std::string_view::npos || a.starts_with('~')) {
      o.grid.overrides.emplace_back(a);
      o.grid_given = true;
    } else {
      return sr::fail("unexpected argument '" + std::string(a) + "'", "see `speedrun sweep --help`");
    }
  }
  if (o.dir.empty()) return sr::fail("which sweep? no SWEEP_DIR given", "speedrun sweep SWEEP_DIR --records 1 ...");
  return o;
}

// A new sweep's manifest: the grid expanded, every cell's config composed once
// per distinct cell (seeds aside) and its hint files found, so a typo fails now.
Result<Manifest> plan(const Options& o) {
  Manifest m;
  m.cwd = fs::current_path().string();
  m.config_dirs = o.config_dirs;
  m.grid = o.grid;
  if (o.grid_file) {
    auto v = cfg::read_json_file(*o.grid_file);
    if (!v) return std::unexpected(v.error());
    if (!v->is_object()) return sr::fail(*o.grid_file + ": expected a JSON object", "see `speedrun sweep --help`");
    auto g = grid_from(v->as_object(), *o.grid_file);
    if (!g) return std::unexpected(g.error());
    auto overrides = m.grid.overrides;
    m.grid = *g;
    m.grid.overrides.insert(m.grid.overrides.end(), overrides.begin(), overrides.end());
  }
  if (auto ok = check_grid(m.grid); !ok) return std::unexpected(ok.error());
  m.knowledge_dir = fs::absolute(o.knowledge_dir ? fs::path(*o.knowledge_dir) : default_knowledge_dir()).string();
  m.cells = expand(m.grid, m.knowledge_dir);
  std::set<std::string> ids;
  for (const auto& c : m.cells)
    if (!ids.insert(c.id).second)
      return sr::fail("two cells are named " + c.id, "give each axis distinct values");

  std::vector<fs::path> search;
  for (const auto& d : m.config_dirs) search.emplace_back(d);
  search.push_back(cfg::builtin_config_dir());
  std::set<std::vector<std::string>> checked;
  for (const auto& c : m.cells) {
    auto key = c.overrides;
    std::erase_if(key, [](const std::string& s) { return s.starts_with("seed="); });
    if (!checked.insert(key).second) continue;
    auto mapped = cfg::map_original(c.overrides);
    if (!mapped) return std::unexpected(std::move(mapped.error()).context("cell " + c.id));
    auto composed = cfg::compose(search, mapped->overrides);
    if (!composed) return std::unexpected(std::move(composed.error()).context("cell " + c.id));
    if (auto ok = cfg::check_settings(*composed); !ok) return std::unexpected(std::move(ok.error()).context("cell " + c.id));
    if (c.record && c.level)
      for (const auto& glob : hint_globs(m.knowledge_dir, *c.record, *c.level))
        if (auto files = sr::knowledge::detail::expand(glob, m.cwd); !files || files->empty())
          return sr::fail("cell " + c.id + ": no hint files match " + glob,
                          "give --knowledge-dir the folder that holds record_R/level_L_*.txt, or drop that level");
  }
  return m;
}

void apply_launch(Manifest& m, const Options& o) {
  if (o.parallel) m.launch.parallel = *o.parallel;
  if (o.slurm) m.launch.slurm = *o.slurm;
  if (!o.sbatch.empty()) m.launch.sbatch = o.sbatch;
  if (o.budget_usd) m.launch.budget_usd = *o.budget_usd;
  if (o.poll_s) m.launch.poll_s = *o.poll_s;
  if (o.templates) m.launch.templates = *o.templates;
  if (m.launch.templates.empty()) m.launch.templates = fs::absolute(default_templates()).string();
}

}  // namespace

int sweep_command(std::span<const std::string_view> args) {
  for (auto a : args)
    if (a == "--help" || a == "-h") {
      std::puts(usage_text);
      return 0;
    }
  auto o = parse(args);
  if (!o) return usage_error(o.error().message());
  const Paths paths{fs::absolute(o->dir)};
  std::error_code ec;
  const bool exists = fs::exists(paths.root / "sweep.json", ec);

  Manifest m;
  if (exists) {
    auto loaded = load_manifest(paths.root);
    if (!loaded) return fail_with(loaded.error());
    m = std::move(*loaded);
    if (o->grid_given) {
      // the same grid again is a resume; another grid needs another folder
      auto fresh = plan(*o);
      if (!fresh) return fail_with(fresh.error());
      std::vector<std::string> a, b;
      for (const auto& c : m.cells) a.push_back(c.id + json::serialize(strings(c.overrides)));
      for (const auto& c : fresh->cells) b.push_back(c.id + json::serialize(strings(c.overrides)));
      if (a != b)
        return fail_with(sr::Error{paths.root.string() + " holds a sweep of another grid (" +
                                       std::to_string(m.cells.size()) + " cells)",
                                   "resume it with `speedrun sweep " + paths.root.string() +
                                       "` alone, or give the new grid another folder"});
    }
    if (m.cwd.empty() || !fs::is_directory(m.cwd, ec)) m.cwd = fs::current_path().string();
  } else {
    if (o->status_only) return fail_with(sr::Error{"no sweep in " + paths.root.string(), "plan one with a grid"});
    if (!o->grid_given)
      return usage_error("no sweep in " + paths.root.string() + " and no grid given (--records, --levels, ...)");
    auto planned = plan(*o);
    if (!planned) return fail_with(planned.error());
    m = std::move(*planned);
  }
  apply_launch(m, *o);
  for (const char* sub : {"cells", "state", "logs"}) fs::create_directories(paths.root / sub, ec);
  if (ec) return fail_with(sr::Error{paths.root.string() + ": cannot create (" + ec.message() + ")", "check permissions"});
  if (auto w = sr::workspace::write_file_atomic(paths.root / "sweep.json", cfg::to_pretty(to_json(m))); !w)
    return fail_with(w.error());

  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  const fs::path templates = m.launch.templates;
  auto status = scan(m, paths);
  for (std::size_t i = 0; i < status.size(); ++i)
    if (status[i].state != State::pending) read_results(status[i], paths.cell(m.cells[i].id), templates);

  if (o->status_only) {
    print_table(m, status);
    std::printf("%s\n", summary_line(m, status).c_str());
    return 0;
  }
  std::printf("sweep %s: %zu cells, %s, %d at a time\n", paths.root.c_str(), m.cells.size(),
              m.launch.slurm ? "Slurm jobs" : "local", m.launch.parallel);
  if (o->plan_only) {
    std::printf("planned in %.3f s; start it with `speedrun sweep %s`\n", elapsed(), paths.root.c_str());
    std::printf("%s\n", summary_line(m, status).c_str());
    return 0;
  }

  // the queue: cells not started, stopped ones (resumed), failed ones on request
  std::vector<std::size_t> queue;
  for (std::size_t i = 0; i < status.size(); ++i) {
    const State s = status[i].state;
    if (s == State::pending || s == State::stopped || (s == State::failed && o->retry_failed)) queue.push_back(i);
  }
  std::reverse(queue.begin(), queue.end());  // pop_back takes them in manifest order
  sr::install_stop_handlers();
  const auto poll = std::chrono::milliseconds(
      static_cast<long>(1000 * m.launch.poll_s.value_or(m.launch.slurm ? 10.0 : 0.2)));
  std::string last_line;
  std::optional<std::string> stopping;
  int code = 0;
  auto running_count = [&] {
    return static_cast<int>(
        std::count_if(status.begin(), status.end(), [](const CellStatus& s) { return s.state == State::running; }));
  };
  auto spent = [&] {
    double usd = 0;
    for (const auto& s : status) usd += s.usd;
    return usd;
  };
  // the live table: one line (cells by state, cost, best FSR) whenever it changes
  auto show = [&] {
    std::string line = summary_line(m, status);
    if (line != last_line) std::printf("[%7.1fs] %s\n", elapsed(), line.c_str());
    last_line = line;
    std::fflush(stdout);
  };
  show();
  auto last_cost_read = std::chrono::steady_clock::now();
  while (true) {
    if (int sig = sr::stop_requested(); sig && !stopping) {
      stopping = "interrupted by signal " + std::to_string(sig);
      code = int(ExitCode::interrupted);
      for (auto& s : status)
        if (s.state == State::running) stop_cell(m, s);
    }
    // cells that ended
    std::vector<std::string> jobs;
    for (const auto& s : status)
      if (s.state == State::running && !s.job.empty()) jobs.push_back(s.job);
    const auto alive = m.launch.slurm && !jobs.empty() ? slurm_alive(jobs) : std::set<std::string>{};
    bool changed = false;
    for (std::size_t i = 0; i < status.size(); ++i) {
      auto& s = status[i];
      if (s.state != State::running) continue;
      const auto& id = m.cells[i].id;
      const bool over = !m.launch.slurm || s.job.empty() ? ended(s, id, paths)
                                                         : fs::exists(paths.exit(id), ec) || !alive.contains(s.job);
      if (!over) continue;
      const auto rc = read_exit(paths.exit(id));
      s.state = rc ? state_of_exit(*rc, paths.cell(id)) : (fs::exists(paths.cell(id) / "journal.json", ec) ? State::stopped : State::failed);
      fs::remove(paths.pid(id), ec);
      fs::remove(paths.job(id), ec);
      read_results(s, paths.cell(id), templates);
      std::printf("[%7.1fs] %s: %s%s\n", elapsed(), id.c_str(), std::string(state_names[static_cast<std::size_t>(s.state)]).c_str(),
                  s.state == State::failed ? (" (log: " + paths.log(id).string() + ")").c_str() : "");
      s.pid = -1;
      s.child = false;
      s.job.clear();
      changed = true;
    }
    // the running cells' cost, every few seconds
    if (std::chrono::steady_clock::now() - last_cost_read > std::chrono::seconds(2)) {
      for (std::size_t i = 0; i < status.size(); ++i)
        if (status[i].state == State::running) read_results(status[i], paths.cell(m.cells[i].id), templates);
      last_cost_read = std::chrono::steady_clock::now();
      changed = true;
    }
    if (!stopping && m.launch.budget_usd && spent() >= *m.launch.budget_usd) {
      stopping = "money budget of $" + sr::metrics::format_number(*m.launch.budget_usd) + " spent ($" +
                 sr::metrics::format_number(spent()) + ")";
      code = int(ExitCode::budget);
      for (auto& s : status)
        if (s.state == State::running) stop_cell(m, s);
    }
    // cells to start
    while (!stopping && !queue.empty() && running_count() < m.launch.parallel) {
      const std::size_t i = queue.back();
      queue.pop_back();
      if (auto started = start_cell(m, m.cells[i], paths, status[i]); !started) {
        std::fprintf(stderr, "speedrun sweep: %s\n", started.error().message().c_str());
        stopping = "a cell could not be started";
        code = int(started.error().code);
        break;
      }
      changed = true;
    }
    if (changed) show();
    if (running_count() == 0 && (stopping || queue.empty())) break;
    std::this_thread::sleep_for(poll);
  }
  show();
  int failed = 0;
  for (const auto& s : status) failed += s.state == State::failed ? 1 : 0;
  if (stopping) std::printf("stopped: %s; resume with `speedrun sweep %s`\n", stopping->c_str(), paths.root.c_str());
  else std::printf("finished; score it with `speedrun report %s`\n", paths.root.c_str());
  if (failed > 0 && !stopping)
    std::printf("%d cell(s) failed (their logs are in %s); run them again with `speedrun sweep %s --retry-failed`\n",
                failed, (paths.root / "logs").c_str(), paths.root.c_str());
  if (code != 0) return code;
  return failed > 0 ? int(ExitCode::failure) : 0;
}

// The run folders of a sweep (cells that have a journal, in manifest order), for `report`.
std::vector<fs::path> sweep_runs(const fs::path& dir) {
  std::vector<fs::path> out;
  auto m = load_manifest(dir);
  if (!m) return out;
  std::error_code ec;
  for (const auto& c : m->cells)
    if (fs::exists(dir / "cells" / c.id / "journal.json", ec)) out.push_back(dir / "cells" / c.id);
  return out;
}

}  // namespace speedrun
