// Composition of the JSON config tree, Hydra-style: default.json's defaults
// list picks one option per group (task=collatz reads task/collatz.json into
// the key `task`), command-line overrides apply on top, then interpolations
// resolve. The result records the picks under `choices`.
#pragma once

#include <speedrunner/config/interpolate.hpp>
#include <speedrunner/config/json.hpp>
#include <speedrunner/config/original.hpp>
#include <speedrunner/config/overrides.hpp>
#include <speedrunner/config/suggest.hpp>
#include <speedrunner/core/error.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace speedrunner::config {

namespace fs = std::filesystem;

// The composed tree's record of which option each group got ({"task": "collatz", ...}).
inline constexpr std::string_view choices_key = "choices";

// The config tree shipped with speedrunner: $SPEEDRUNNER_CONFIG_DIR, else
// ./config when it holds default.json (running from the source tree), else the
// source tree the executable was built from (SPEEDRUNNER_CONFIG_DIR_DEFAULT).
[[nodiscard]] inline fs::path builtin_config_dir() {
  if (const char* env = std::getenv("SPEEDRUNNER_CONFIG_DIR"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  if (fs::is_regular_file("config/default.json", ec)) return "config";
#ifdef SPEEDRUNNER_CONFIG_DIR_DEFAULT
  return SPEEDRUNNER_CONFIG_DIR_DEFAULT;
#else
  return "config";
#endif
}

// The options of a group across the search path: "model/o3_mini.json" is
// option "o3_mini", "task/nanogpt_speedrun/record_1.json" is
// "nanogpt_speedrun/record_1", and "secrets/default.template.json" stands for
// "default" when there is no default.json.
[[nodiscard]] inline std::vector<std::string> group_options(std::span<const fs::path> search_path,
                                                            std::string_view group) {
  std::set<std::string> names;
  for (const auto& dir : search_path) {
    std::error_code ec;
    fs::path root = dir / group;
    if (!fs::is_directory(root, ec)) continue;
    for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      std::string rel = it->path().lexically_relative(root).generic_string();
      if (!rel.ends_with(".json")) continue;
      rel.resize(rel.size() - 5);
      if (rel.ends_with(".template")) rel.resize(rel.size() - 9);
      names.insert(rel);
    }
  }
  return {names.begin(), names.end()};
}

// Folders directly under the search path's directories: the config groups.
[[nodiscard]] inline std::vector<std::string> config_groups(std::span<const fs::path> search_path) {
  std::set<std::string> names;
  for (const auto& dir : search_path) {
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
      if (it->is_directory(ec) && !it->path().filename().string().starts_with("."))
        names.insert(it->path().filename().string());
  }
  return {names.begin(), names.end()};
}

namespace detail {

inline std::string search_path_text(std::span<const fs::path> search_path) {
  std::string s;
  for (const auto& d : search_path) s += (s.empty() ? "" : ", ") + d.string();
  return s.empty() ? std::string("(empty)") : s;
}

inline Result<void> check_option_name(std::string_view group, std::string_view option) {
  bool ok = !option.empty();
  std::size_t start = 0;
  while (ok && start <= option.size()) {
    std::size_t slash = option.find('/', start);
    std::string_view seg = option.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    ok = !seg.empty() && seg != "." && seg != "..";
    for (char c : seg)
      ok = ok && (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == '.');
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (!ok)
    return fail("'" + std::string(option) + "' is not a valid option name for group " + std::string(group),
                "option names are file names under config/" + std::string(group) +
                    "/ without .json, folders joined by '/'");
  return {};
}

inline std::optional<fs::path> find_option_file(std::span<const fs::path> search_path, std::string_view group,
                                                 std::string_view option) {
  std::error_code ec;
  for (const auto& dir : search_path) {
    fs::path f = dir / group / (std::string(option) + ".json");
    if (fs::is_regular_file(f, ec)) return f;
  }
  // a template stands in for a git-ignored file the user has not made (secrets)
  for (const auto& dir : search_path) {
    fs::path f = dir / group / (std::string(option) + ".template.json");
    if (fs::is_regular_file(f, ec)) return f;
  }
  return std::nullopt;
}

// A group option's content with its `extends` chain merged in (base first).
inline Result<json::object> load_option(std::span<const fs::path> search_path, const std::string& group,
                                        const std::string& option, std::vector<std::string>& chain) {
  if (auto ok = check_option_name(group, option); !ok) return std::unexpected(ok.error());
  if (std::find(chain.begin(), chain.end(), option) != chain.end()) {
    std::string s;
    for (const auto& c : chain) s += group + "/" + c + " -> ";
    return fail("config " + group + ": 'extends' cycle: " + s + group + "/" + option,
                "remove one of these 'extends'");
  }
  auto file = find_option_file(search_path, group, option);
  if (!file) {
    auto choices = group_options(search_path, group);
    std::string via = chain.empty() ? std::string() : " (extended by " + group + "/" + chain.back() + ")";
    return fail("no config " + group + "=" + option + via + did_you_mean(option, choices) +
                    "; choices: " + list_choices(choices),
                "pick one of the choices, or add " + group + "/" + option +
                    ".json to the config tree or to a --config-dir (searched: " + search_path_text(search_path) + ")");
  }
  auto parsed = read_json_file(*file);
  if (!parsed) return std::unexpected(std::move(parsed.error()));
  if (!parsed->is_object())
    return fail(file->string() + ": expected a JSON object at the top, got " + std::string(kind_name(*parsed)),
                "wrap the settings in { }");
  json::object self = std::move(parsed->as_object());
  json::object out;
  if (auto it = self.find("extends"); it != self.end()) {
    std::vector<std::string> bases;
    if (it->value().is_string()) {
      bases.emplace_back(it->value().as_string());
    } else if (it->value().is_array()) {
      for (const auto& b : it->value().as_array()) {
        if (!b.is_string())
          return fail(file->string() + ": extends: expected option names (strings), got " + brief(b),
                      "write \"extends\": \"nanogpt_speedrun/default\"");
        bases.emplace_back(b.as_string());
      }
    } else {
      return fail(file->string() + ": extends: expected an option name or a list of them, got " +
                      brief(it->value()),
                  "write \"extends\": \"nanogpt_speedrun/default\"");
    }
    erase_key(self, "extends");
    chain.push_back(option);
    for (const auto& b : bases) {
      auto base = load_option(search_path, group, b, chain);
      if (!base) return base;
      merge_into(out, *base);
    }
    chain.pop_back();
  }
  merge_into(out, self);
  return out;
}

struct DefaultsEntry {
  std::string group;  // empty for _self_
  std::optional<std::string> option;
};

inline Result<std::vector<DefaultsEntry>> read_defaults(const json::object& primary, const fs::path& file) {
  std::vector<DefaultsEntry> out;
  auto it = primary.find("defaults");
  if (it == primary.end()) return out;
  const std::string fix = "write \"defaults\": [\"_self_\", {\"task\": \"collatz\"}, {\"model\": \"replay\"}, ...]";
  if (!it->value().is_array())
    return fail(file.string() + ": defaults: expected a list, got " + brief(it->value()), fix);
  const auto& list = it->value().as_array();
  bool self_seen = false;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto& e = list[i];
    std::string where = file.string() + ": defaults[" + std::to_string(i) + "]";
    if (e.is_string() && e.as_string() == "_self_") {
      if (self_seen) return fail(where + ": _self_ appears twice", fix);
      self_seen = true;
      out.push_back({});
      continue;
    }
    if (!e.is_object() || e.as_object().size() != 1)
      return fail(where + ": expected {\"group\": \"option\"} or \"_self_\", got " + brief(e), fix);
    const auto& kv = *e.as_object().begin();
    DefaultsEntry d{std::string(kv.key()), std::nullopt};
    if (kv.value().is_string()) d.option = std::string(kv.value().as_string());
    else if (!kv.value().is_null())
      return fail(where + ": the option of group " + d.group + " must be a string or null, got " +
                      brief(kv.value()), fix);
    for (const auto& prev : out)
      if (prev.group == d.group) return fail(where + ": group " + d.group + " appears twice", fix);
    out.push_back(std::move(d));
  }
  if (!self_seen) out.push_back({});  // Hydra's rule: the primary's own keys last
  return out;
}

}  // namespace detail

// Composes the config from the search path (first directory holding a file
// wins; user --config-dir directories go before the built-in tree) and
// command-line overrides, then resolves interpolations.
[[nodiscard]] inline Result<json::object> compose(std::span<const fs::path> search_path,
                                                  std::span<const std::string> overrides,
                                                  const ResolveOptions& resolve = {},
                                                  std::string_view primary_name = "default") {
  // 1. the primary config
  std::optional<fs::path> primary_file;
  std::error_code ec;
  for (const auto& dir : search_path) {
    fs::path f = dir / (std::string(primary_name) + ".json");
    if (fs::is_regular_file(f, ec)) {
      primary_file = f;
      break;
    }
  }
  if (!primary_file)
    return fail("no " + std::string(primary_name) + ".json in the config search path (" +
                    detail::search_path_text(search_path) + ")",
                "run from the speedrunner source tree, pass --config-dir DIR, or set SPEEDRUNNER_CONFIG_DIR");
  auto primary_value = read_json_file(*primary_file);
  if (!primary_value) return std::unexpected(std::move(primary_value.error()));
  if (!primary_value->is_object())
    return fail(primary_file->string() + ": expected a JSON object at the top", "wrap the settings in { }");
  json::object primary = std::move(primary_value->as_object());
  auto defaults = detail::read_defaults(primary, *primary_file);
  if (!defaults) return std::unexpected(std::move(defaults.error()));
  erase_key(primary, "defaults");

  // 2. overrides: group picks change the defaults list, the rest wait for the tree
  const auto groups_on_disk = config_groups(search_path);
  auto in_defaults = [&](std::string_view g) {
    return std::find_if(defaults->begin(), defaults->end(), [&](const auto& d) { return d.group == g; });
  };
  std::vector<Override> key_overrides;
  for (const auto& arg : overrides) {
    auto o = parse_override(arg);
    if (!o) return std::unexpected(std::move(o.error()));
    bool plain = o->key.find('.') == std::string::npos;
    auto entry = in_defaults(o->key);
    bool listed = entry != defaults->end() && !entry->group.empty();
    bool on_disk = std::binary_search(groups_on_disk.begin(), groups_on_disk.end(), o->key);
    if (!plain || !(listed || on_disk)) {
      if (o->key == choices_key || o->key.starts_with(std::string(choices_key) + "."))
        return fail("override '" + o->source + "': `choices` records the group picks and is not set directly",
                    "pick a group option with GROUP=OPTION, e.g. task=collatz");
      key_overrides.push_back(std::move(*o));
      continue;
    }
    if (o->kind == OverrideKind::remove || (o->kind == OverrideKind::set && detail::trim(o->value) == "null")) {
      if (!listed) return fail("override '" + o->source + "': group " + o->key + " is not in the defaults list",
                               "nothing to remove");
      entry->option.reset();
      continue;
    }
    auto value = detail::trim(o->value);
    if (value.size() >= 2 && (value.front() == '\'' || value.front() == '"') && value.back() == value.front())
      value = value.substr(1, value.size() - 2);
    if (!listed) {
      if (o->kind == OverrideKind::set)
        return fail("override '" + o->source + "': group " + o->key + " is not in the defaults list",
                    "add it with +" + o->key + "=" + std::string(value));
      defaults->push_back({o->key, std::string(value)});
    } else {
      if (o->kind == OverrideKind::add)
        return fail("override '" + o->source + "': group " + o->key + " is already in the defaults list",
                    "change it with " + o->key + "=" + std::string(value));
      entry->option = std::string(value);
    }
  }

  // 3. compose in defaults-list order
  json::object tree;
  json::object choices;
  for (const auto& d : *defaults) {
    if (d.group.empty()) {
      merge_into(tree, primary);
      continue;
    }
    if (!d.option) continue;
    std::vector<std::string> chain;
    auto content = detail::load_option(search_path, d.group, *d.option, chain);
    if (!content) return std::unexpected(std::move(content.error()));
    if (auto g = content->find("_global_"); g != content->end()) {
      if (!g->value().is_object())
        return fail("config " + d.group + "/" + *d.option + ": _global_: expected an object of top-level keys",
                    "write \"_global_\": {\"n_iterations\": 1}");
      json::object global = std::move(g->value().as_object());
      erase_key(*content, "_global_");
      merge_into(tree, global);
    }
    json::object wrapped;
    wrapped[d.group] = std::move(*content);
    merge_into(tree, wrapped);
    choices[d.group] = *d.option;
  }
  tree[choices_key] = std::move(choices);

  // 4. key overrides, in command-line order
  for (const auto& o : key_overrides) {
    auto r = apply_override(tree, o);
    if (!r) {
      // a bare unknown word may have been meant as a group
      if (o.key.find('.') == std::string::npos && !tree.contains(o.key)) {
        std::vector<std::string> names = groups_on_disk;
        for (const auto& kv : tree) names.emplace_back(kv.key());
        return fail("override '" + o.source + "': '" + o.key + "' is neither a key nor a config group" +
                        did_you_mean(o.key, names) + "; groups: " + list_choices(groups_on_disk),
                    "fix the name, or add a new key with +" + o.key + "=VALUE");
      }
      return std::unexpected(std::move(r.error()));
    }
  }

  // 5. interpolation
  json::value root(std::move(tree));
  if (auto r = resolve_interpolations(root, resolve); !r) return std::unexpected(std::move(r.error()));
  return std::move(root.as_object());
}

// The command line of a config-reading command: --config-dir DIR (repeatable)
// and overrides.
struct CommandLine {
  std::vector<fs::path> config_dirs;   // user directories, searched before the built-in tree
  std::vector<std::string> overrides;  // as typed, the original benchmark's names read as ours
  std::string original_note;           // what was read as ours (config/original.hpp); print it once
};

[[nodiscard]] inline Result<CommandLine> parse_command_line(std::span<const std::string_view> args) {
  CommandLine cl;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    std::optional<std::string_view> dir;
    if (a == "--config-dir" || a == "-cd") {
      if (i + 1 >= args.size()) return fail(std::string(a) + " needs a directory", "write --config-dir DIR");
      dir = args[++i];
    } else if (a.starts_with("--config-dir=")) {
      dir = a.substr(13);
    } else if (a.starts_with("--")) {
      return fail("unknown option '" + std::string(a) + "'", "see `speedrun --help`");
    } else {
      cl.overrides.emplace_back(a);
      continue;
    }
    std::error_code ec;
    if (dir->empty() || !fs::is_directory(*dir, ec))
      return fail("--config-dir " + std::string(*dir) + ": not a directory",
                  "pass a directory holding your own config groups (e.g. my_configs/model/my_model.json)");
    cl.config_dirs.emplace_back(*dir);
  }
  auto mapped = map_original(cl.overrides);
  if (!mapped) return std::unexpected(std::move(mapped.error()));
  cl.overrides = std::move(mapped->overrides);
  cl.original_note = std::move(mapped->note);
  return cl;
}

// The search path for a command line: its --config-dir directories, then `builtin`.
[[nodiscard]] inline std::vector<fs::path> search_path_for(const CommandLine& cl,
                                                           const fs::path& builtin = builtin_config_dir()) {
  std::vector<fs::path> dirs = cl.config_dirs;
  dirs.push_back(builtin);
  return dirs;
}

// compose() for a parsed command line against the built-in tree.
[[nodiscard]] inline Result<json::object> load(const CommandLine& cl, const ResolveOptions& resolve = {}) {
  auto dirs = search_path_for(cl);
  return compose(dirs, cl.overrides, resolve);
}

}  // namespace speedrunner::config
