// `speedrun view RUN_DIR|SWEEP_DIR... [--out FILE] [--templates DIR] [--resamples N] [--seed S]`:
// writes the viewer page (one self-contained HTML file) and each figure as an
// SVG file beside it; and the page of a run in progress, which the runner
// rewrites after every node (write_run_view).
#include "commands.hpp"

#include <speedrunner/core/error.hpp>
#include <speedrunner/view/page.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace speedrun {
namespace {

namespace fs = std::filesystem;
namespace sr = speedrunner;
using sr::ExitCode;

constexpr std::string_view usage_line =
    "speedrun view RUN_DIR|SWEEP_DIR... [--out FILE] [--templates DIR] [--resamples N] [--seed S]";

int usage_error(const std::string& what) {
  std::fprintf(stderr, "speedrun view: %s\n  fix: %.*s\n", what.c_str(), int(usage_line.size()), usage_line.data());
  return int(ExitCode::usage);
}

}  // namespace

bool write_run_view(const fs::path& run_dir, bool live) {
  sr::view::PageOptions options;
  options.templates = default_templates();
  options.live = live;
  auto page = sr::view::page_for({run_dir}, options);
  if (!page) return false;
  return sr::view::write_page(run_dir / "view.html", *page).has_value();
}

int view_command(std::span<const std::string_view> args) {
  std::vector<fs::path> paths;
  fs::path out, templates;
  sr::view::PageOptions options;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (a == "--help" || a == "-h") {
      std::printf("usage: %.*s\n", int(usage_line.size()), usage_line.data());
      std::puts("  Writes one self-contained HTML page (inline SVG, CSS and script; nothing fetched) and each of its\n"
                "  figures as figures/NAME.svg beside it. Per run: the search tree (click a node for its hypothesis,\n"
                "  diff against its parent, metrics, validity, log head and tail, cost and timings) and the nodes'\n"
                "  validation curves. Across runs: FSR per record and condition (scaffold / model / hints), IQM,\n"
                "  median, mean and optimality gap with stratified-bootstrap 95% intervals (the numbers `speedrun\n"
                "  report` prints), node types among the first k nodes, the cumulative speedup per stage against the\n"
                "  human records, and each record's baseline with its spread. A SWEEP_DIR is any folder whose\n"
                "  subfolders (any depth) are run folders. A run's own page, RUN_DIR/view.html, is rewritten by the\n"
                "  runner after every node.\n"
                "  --out FILE        the page (default: RUN_DIR/view.html for one folder, ./view.html for several)\n"
                "  --templates DIR   record templates with results.json (default workspace_templates/nanogpt_speedrun)\n"
                "  --resamples N     bootstrap resamples (default 50000, rliable's)\n"
                "  --seed S          seed of the bootstrap's generator (default 0)");
      return 0;
    }
    if (a == "--out" || a == "--templates" || a == "--resamples" || a == "--seed") {
      if (i + 1 >= args.size()) return usage_error(std::string(a) + " needs a value");
      const std::string value(args[++i]);
      if (a == "--out") {
        out = value;
      } else if (a == "--templates") {
        templates = value;
      } else {
        char* end = nullptr;
        const long long v = std::strtoll(value.c_str(), &end, 10);
        const long long least = a == "--seed" ? 0 : 1;
        if (end == value.c_str() || *end != '\0' || v < least || (a == "--resamples" && v > 10'000'000))
          return usage_error(std::string(a) + " needs a whole number >= " + std::to_string(least) + ", got '" + value + "'");
        if (a == "--seed") options.seed = static_cast<std::uint64_t>(v);
        else options.resamples = static_cast<int>(v);
      }
      continue;
    }
    if (a.starts_with("--")) return usage_error("unknown option " + std::string(a));
    paths.emplace_back(std::string(a));
  }
  if (paths.empty()) return usage_error("no run or sweep folder given");
  for (const auto& p : paths)
    if (!fs::is_directory(p)) return usage_error(p.string() + " is not a folder (give run or sweep folders)");
  options.templates = templates.empty() ? default_templates() : templates;
  if (out.empty()) out = paths.size() == 1 ? paths.front() / "view.html" : fs::path("view.html");
  auto page = sr::view::page_for(paths, options);
  if (!page) {
    std::fprintf(stderr, "speedrun view: %s\n", page.error().message().c_str());
    return int(page.error().code);
  }
  if (auto w = sr::view::write_page(out, *page); !w) {
    std::fprintf(stderr, "speedrun view: %s\n", w.error().message().c_str());
    return int(w.error().code);
  }
  const fs::path figures = out.parent_path().empty() ? fs::path("figures") : out.parent_path() / "figures";
  std::printf("wrote %s (open it in a browser) and %zu figure(s) in %s\n", out.c_str(), page->figures.size(),
              figures.c_str());
  return 0;
}

}  // namespace speedrun
