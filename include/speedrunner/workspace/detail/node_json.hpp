// JSON reading and writing of Node (meta.json, results.json, journal entries).
#pragma once

#include <speedrunner/workspace/node.hpp>

#include <boost/json/object.hpp>
#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <cmath>
#include <string>

namespace speedrunner::workspace {
namespace detail {

inline boost::json::object usage_json(const llm::Usage& u) {
  return {{"input_tokens", u.input_tokens}, {"output_tokens", u.output_tokens},
          {"cached_tokens", u.cached_tokens}};
}

// Reading helpers: a missing key keeps the default, a key of the wrong type is an error.
struct Reader {
  const boost::json::object& o;
  std::string where;
  std::string error;

  const boost::json::value* find(std::string_view key) {
    auto it = o.find(key);
    return it == o.end() || it->value().is_null() ? nullptr : &it->value();
  }
  void bad(std::string_view key, std::string_view expected) {
    if (error.empty()) error = where + ": key '" + std::string(key) + "' should be " + std::string(expected);
  }
  void get(std::string_view key, std::string& out) {
    if (auto* v = find(key)) {
      if (v->is_string()) out = std::string(v->get_string());
      else bad(key, "a string");
    }
  }
  void get(std::string_view key, double& out) {
    if (auto* v = find(key)) {
      if (v->is_number()) out = v->to_number<double>();
      else bad(key, "a number");
    }
  }
  template <class Int>
    requires std::is_integral_v<Int> && (!std::is_same_v<Int, bool>)
  void get(std::string_view key, Int& out) {
    if (auto* v = find(key)) {
      if (v->is_int64()) out = static_cast<Int>(v->get_int64());
      else if (v->is_uint64()) out = static_cast<Int>(v->get_uint64());
      else bad(key, "an integer");
    }
  }
  void get(std::string_view key, bool& out) {
    if (auto* v = find(key)) {
      if (v->is_bool()) out = v->get_bool();
      else bad(key, "true or false");
    }
  }
  template <class Enum, std::size_t N>
  void get_enum(std::string_view key, Enum& out, const std::string_view (&names)[N]) {
    std::string s;
    get(key, s);
    if (s.empty()) return;
    for (std::size_t i = 0; i < N; ++i)
      if (names[i] == s) { out = static_cast<Enum>(i); return; }
    bad(key, "a known name");
  }
};

}  // namespace detail

inline boost::json::object meta_json(const Node& n) {
  boost::json::array children;
  for (NodeId c : n.children) children.emplace_back(c);
  boost::json::object o{
      {"version", n.name()},
      {"id", n.id},
      {"parent", n.parent ? boost::json::value(*n.parent) : boost::json::value(nullptr)},
      {"children", std::move(children)},
      {"created", n.created},
      {"stage", stage_name(n.stage)},
      {"iteration", n.iteration},
      {"bug_depth", n.bug_depth},
      {"stable_ancestor", n.stable_ancestor},
      {"hypothesis", {{"summary", n.hypothesis.summary}, {"text", n.hypothesis.text}}},
      {"phase", to_string(n.phase)},
  };
  if (!n.job.empty()) o["job"] = n.job;
  return o;
}

inline boost::json::object results_json(const Node& n) {
  boost::json::object metrics;
  for (const auto& [k, v] : n.metrics)
    metrics[k] = std::isfinite(v) ? boost::json::value(v) : boost::json::value(nullptr);
  return {
      {"status", to_string(n.status)},
      {"metrics", std::move(metrics)},
      {"valid", n.valid},
      {"reason", n.reason},
      {"outcome", n.outcome},
      {"exit_code", n.exit_code ? boost::json::value(*n.exit_code) : boost::json::value(nullptr)},
      {"timed_out", n.timed_out},
      {"aborted", n.aborted},
      {"timings", {{"ideate_s", n.timings.ideate_s}, {"code_s", n.timings.code_s},
                   {"execute_s", n.timings.execute_s}, {"analyse_s", n.timings.analyse_s}}},
      {"cost", {{"usd", n.cost.usd}, {"usage", detail::usage_json(n.cost.usage)}}},
  };
}

inline boost::json::object node_json(const Node& n) {
  auto o = meta_json(n);
  o["results"] = results_json(n);
  return o;
}

inline Result<Node> node_from_json(const boost::json::value& v, std::string_view where) {
  if (!v.is_object()) return fail(std::string(where) + ": expected a JSON object for a node");
  Node n;
  detail::Reader r{v.get_object(), std::string(where), {}};
  r.get("id", n.id);
  if (auto* p = r.find("parent")) {
    if (p->is_int64()) n.parent = static_cast<NodeId>(p->get_int64());
    else r.bad("parent", "an integer or null");
  }
  if (auto* c = r.find("children")) {
    if (!c->is_array()) r.bad("children", "an array of integers");
    else
      for (const auto& e : c->get_array()) {
        if (e.is_int64()) n.children.push_back(static_cast<NodeId>(e.get_int64()));
        else r.bad("children", "an array of integers");
      }
  }
  r.get("created", n.created);
  constexpr std::string_view stages[] = {"draft", "improve", "debug"};
  constexpr std::string_view phases[] = {"planned", "ideated", "coded", "executed", "done"};
  constexpr std::string_view statuses[] = {"pending", "ok", "buggy"};
  r.get_enum("stage", n.stage, stages);
  r.get_enum("phase", n.phase, phases);
  r.get("iteration", n.iteration);
  r.get("bug_depth", n.bug_depth);
  r.get("stable_ancestor", n.stable_ancestor);
  r.get("job", n.job);
  if (auto* h = r.find("hypothesis"); h && h->is_object()) {
    detail::Reader hr{h->get_object(), r.where + ".hypothesis", {}};
    hr.get("summary", n.hypothesis.summary);
    hr.get("text", n.hypothesis.text);
    if (r.error.empty()) r.error = hr.error;
  }
  const boost::json::object* res = &v.get_object();
  if (auto* nested = r.find("results"); nested && nested->is_object()) res = &nested->get_object();
  detail::Reader rr{*res, r.where, {}};
  rr.get_enum("status", n.status, statuses);
  if (auto* m = rr.find("metrics"); m && m->is_object())
    for (const auto& [k, mv] : m->get_object())
      n.metrics[std::string(k)] = mv.is_number() ? mv.to_number<double>() : std::nan("");
  rr.get("valid", n.valid);
  rr.get("reason", n.reason);
  rr.get("outcome", n.outcome);
  if (auto* e = rr.find("exit_code")) {
    if (e->is_int64()) n.exit_code = static_cast<int>(e->get_int64());
  }
  rr.get("timed_out", n.timed_out);
  rr.get("aborted", n.aborted);
  if (auto* t = rr.find("timings"); t && t->is_object()) {
    detail::Reader tr{t->get_object(), r.where + ".timings", {}};
    tr.get("ideate_s", n.timings.ideate_s);
    tr.get("code_s", n.timings.code_s);
    tr.get("execute_s", n.timings.execute_s);
    tr.get("analyse_s", n.timings.analyse_s);
  }
  if (auto* c = rr.find("cost"); c && c->is_object()) {
    detail::Reader cr{c->get_object(), r.where + ".cost", {}};
    cr.get("usd", n.cost.usd);
    if (auto* u = cr.find("usage"); u && u->is_object()) {
      detail::Reader ur{u->get_object(), r.where + ".cost.usage", {}};
      ur.get("input_tokens", n.cost.usage.input_tokens);
      ur.get("output_tokens", n.cost.usage.output_tokens);
      ur.get("cached_tokens", n.cost.usage.cached_tokens);
    }
  }
  for (auto* e : {&r.error, &rr.error})
    if (!e->empty())
      return fail(*e, "repair or delete that file; a run directory's journal.json is rewritten "
                      "from memory after each node");
  return n;
}

}  // namespace speedrunner::workspace
