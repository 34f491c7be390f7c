// The resolved config of a run, saved as RUN_DIR/config.json (secrets
// redacted) and read back by `speedrun resume RUN_DIR [overrides]`, which may
// raise n_iterations or change budgets and keys but nothing that would make
// the finished nodes disagree with the rest of the run.
#pragma once

#include <speedrunner/config/compose.hpp>
#include <speedrunner/config/interpolate.hpp>
#include <speedrunner/config/json.hpp>
#include <speedrunner/config/overrides.hpp>
#include <speedrunner/config/secrets.hpp>
#include <speedrunner/core/error.hpp>

#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace speedrunner::config {

inline constexpr std::string_view saved_config_name = "config.json";

// Writes RUN_DIR/config.json with secrets redacted; a temporary file renamed
// into place, so a kill mid-write leaves the old file or the new, never half.
[[nodiscard]] inline Result<std::filesystem::path> save_resolved(const std::filesystem::path& run_dir,
                                                                 const json::object& config) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(run_dir, ec);
  if (ec) return fail(run_dir.string() + ": cannot create the run directory (" + ec.message() + ")",
                      "check the path and its permissions (workspace.root)");
  fs::path target = run_dir / saved_config_name;
  fs::path tmp = run_dir / (std::string(saved_config_name) + ".tmp." + std::to_string(::getpid()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << to_pretty(json::value(redacted(config)));
    out.flush();
    if (!out) {
      fs::remove(tmp, ec);
      return fail(tmp.string() + ": cannot be written", "check free disk space and permissions");
    }
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return fail(target.string() + ": cannot be replaced (" + ec.message() + ")", "check permissions");
  }
  return target;
}

// Keys a resume may change: more iterations, other budgets, other keys, the
// answer cache (replaying what a run recorded changes no node). Everything else (task, groups, search settings, seed, workspace) was used
// to make the nodes already in the journal.
[[nodiscard]] inline bool resume_may_change(std::string_view path) {
  if (path == "budget" || path.starts_with("budget.")) return true;
  if (path == "llm" || path.starts_with("llm.")) return true;
  if (path == "secrets" || path.starts_with("secrets.")) return true;
  for (const auto& seg : split_path(path))
    if (is_secret_key(seg)) return true;
  return false;
}

namespace detail {

inline void collect_changes(const json::value& before, const json::value& after, const std::string& path,
                            std::vector<std::string>& out) {
  if (before.is_object() && after.is_object()) {
    const auto& b = before.as_object();
    const auto& a = after.as_object();
    for (const auto& kv : b) {
      auto it = a.find(kv.key());
      if (it == a.end()) out.push_back(join_path(path, kv.key()));
      else collect_changes(kv.value(), it->value(), join_path(path, kv.key()), out);
    }
    for (const auto& kv : a)
      if (!b.contains(kv.key())) out.push_back(join_path(path, kv.key()));
    return;
  }
  bool same = before == after;
  if (!same && before.is_number() && after.is_number()) {
    json::error_code e1, e2;
    same = before.to_number<double>(e1) == after.to_number<double>(e2) && !e1 && !e2;
  }
  if (!same) out.push_back(path.empty() ? std::string("(root)") : path);
}

inline void find_redacted(const json::value& v, const std::string& path, std::vector<std::string>& out) {
  if (const auto* o = v.if_object()) {
    for (const auto& kv : *o) find_redacted(kv.value(), join_path(path, kv.key()), out);
  } else if (const auto* a = v.if_array()) {
    for (std::size_t i = 0; i < a->size(); ++i) find_redacted((*a)[i], join_path(path, std::to_string(i)), out);
  } else if (v.is_string() && v.as_string() == redacted_text) {
    out.push_back(path);
  }
}

}  // namespace detail

// Reads RUN_DIR/config.json back for `speedrun resume RUN_DIR [overrides]`:
// the secrets are read afresh (from the secrets group the run chose, through
// `search_path`, and the environment), the overrides apply on top, and any
// change other than resume_may_change() allows is refused, naming the key.
[[nodiscard]] inline Result<json::object> load_for_resume(const std::filesystem::path& run_dir,
                                                          std::span<const std::string> overrides,
                                                          std::span<const std::filesystem::path> search_path,
                                                          const ResolveOptions& resolve = {}) {
  const std::string where = "resume " + run_dir.string();
  const std::filesystem::path file = run_dir / saved_config_name;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec))
    return fail(where + ": no " + std::string(saved_config_name) + " in it",
                "pass the run directory a run created (it holds config.json and journal.json)");
  auto read = read_json_file(file);
  if (!read) return std::unexpected(std::move(read.error()));
  if (!read->is_object()) return fail(file.string() + ": expected a JSON object", "restore the run's config.json");
  json::object saved = std::move(read->as_object());

  // secrets: the saved file holds only "***"
  if (auto c = saved.find(choices_key); c != saved.end() && c->value().is_object()) {
    if (auto s = c->value().as_object().find("secrets"); s != c->value().as_object().end() && s->value().is_string()) {
      std::vector<std::string> chain;
      auto secrets = detail::load_option(search_path, "secrets", std::string(s->value().as_string()), chain);
      if (!secrets) return std::unexpected(std::move(secrets.error()).context(where));
      json::value holder(json::object{{"secrets", std::move(*secrets)}});
      if (auto r = resolve_interpolations(holder, resolve); !r)
        return std::unexpected(std::move(r.error()).context(where));
      saved["secrets"] = std::move(holder.as_object()["secrets"]);
    }
  }

  json::value updated(saved);
  std::vector<std::string> touched;
  for (const auto& arg : overrides) {
    auto o = parse_override(arg);
    if (!o) return std::unexpected(std::move(o.error()));
    const auto& choices = saved.contains(choices_key) && saved.at(choices_key).is_object()
                              ? saved.at(choices_key).as_object()
                              : json::object();
    if (o->key.find('.') == std::string::npos && choices.contains(o->key))
      return fail(where + ": override '" + o->source + "': the " + o->key + " of a run cannot change on resume (it is " +
                      brief(choices.at(o->key)) + ")",
                  "start a new run to use another " + o->key);
    if (auto r = apply_override(updated.as_object(), *o); !r) return std::unexpected(std::move(r.error()));
    touched.push_back(o->key);
  }
  {
    detail::Interpolator in(updated, resolve);
    for (const auto& key : touched)
      if (auto r = in.resolve_subtree(split_path(key)); !r) return std::unexpected(std::move(r.error()));
  }

  std::vector<std::string> changed;
  const json::value saved_value(saved);
  detail::collect_changes(saved_value, updated, "", changed);
  for (const auto& path : changed) {
    const json::value* before = find_path(saved_value, path);
    const json::value* after = find_path(updated, path);
    std::string was = before ? brief(*before) : std::string("absent");
    std::string now = after ? brief(*after) : std::string("absent");
    if (path == "n_iterations") {
      bool rises = before && after && before->is_number() && after->is_number() &&
                   after->to_number<double>() >= before->to_number<double>();
      if (!rises)
        return fail(where + ": n_iterations can only rise on resume (was " + was + ", asked " + now + ")",
                    "pass n_iterations=" + was + " or more; the journal already holds the earlier iterations");
      continue;
    }
    if (resume_may_change(path)) continue;
    return fail(where + ": " + path + " cannot change on resume (was " + was + ", asked " + now +
                    "): the run's finished nodes were made with the old value",
                "start a new run for other settings; a resume may raise n_iterations and change budget.*, llm.* and secrets");
  }

  std::vector<std::string> still_redacted;
  detail::find_redacted(updated, "", still_redacted);
  if (!still_redacted.empty())
    return fail(where + ": " + still_redacted.front() + " was redacted when the run was saved",
                "pass it again on the command line (" + still_redacted.front() +
                    "=...) or keep keys in config/secrets/default.json or environment variables");
  return std::move(updated.as_object());
}

}  // namespace speedrunner::config
