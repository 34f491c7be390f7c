// `speedrun --cfg [--config-dir DIR] [OVERRIDE...]`: composes the config as a
// run would, checks it, and prints it with secrets as "***". Exit 0, or 2
// with the error and its fix.
#include "commands.hpp"

#include <speedrunner/config/compose.hpp>
#include <speedrunner/config/secrets.hpp>
#include <speedrunner/config/settings.hpp>

#include <cstdio>
#include <string>

namespace speedrun {

int print_config(std::span<const std::string_view> args) {
  namespace cfg = speedrunner::config;
  auto report = [](const speedrunner::Error& e) {
    std::fprintf(stderr, "speedrun --cfg: %s\n", e.message().c_str());
    return int(speedrunner::ExitCode::usage);
  };
  auto cl = cfg::parse_command_line(args);
  if (!cl) return report(cl.error());
  if (!cl->original_note.empty()) std::fprintf(stderr, "speedrun --cfg: %s\n", cl->original_note.c_str());
  auto config = cfg::load(*cl);
  if (!config) return report(config.error());
  if (auto ok = cfg::check_settings(*config); !ok) return report(ok.error());
  std::string text = cfg::to_pretty(cfg::json::value(cfg::redacted(*config)));
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

}  // namespace speedrun
