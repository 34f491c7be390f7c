// Interpolation in config strings: ${a.b} (another key; a string that is only
// the reference takes that value's type), ${env:VAR} / ${env:VAR,default},
// ${now:%Y%m%d_%H%M%S} and ${path:REL} (absolute against the working
// directory). References nest (${task.tracks.${task.track}}); \${
// writes a literal "${". Cycles and missing keys are errors showing the chain.
#pragma once

#include <speedrunner/config/json.hpp>
#include <speedrunner/config/suggest.hpp>
#include <speedrunner/core/error.hpp>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace speedrunner::config {

struct ResolveOptions {
  // One instant for the whole config, so every ${now:...} in a run agrees.
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
  // Environment lookup; empty means the process environment (tests inject one).
  std::function<std::optional<std::string>(const std::string&)> getenv;
  // What ${path:REL} is made absolute against; empty means the working directory.
  std::filesystem::path cwd;
};

namespace detail {

class Interpolator {
 public:
  Interpolator(json::value& root, const ResolveOptions& opt) : root_(root), opt_(opt) {}

  Result<void> resolve_subtree(const std::vector<std::string>& path) {
    const std::string id = path_id(path);
    if (done_.contains(id)) return {};
    json::value* v = at(path);
    if (v == nullptr) return {};
    if (v->is_string()) {
      if (v->as_string().find("${") != json::string::npos ||
          v->as_string().find("\\${") != json::string::npos) {
        if (auto r = resolve_string(path); !r) return r;
      }
    } else if (v->is_object()) {
      std::vector<std::string> keys;
      for (const auto& kv : v->as_object()) keys.emplace_back(kv.key());
      for (const auto& k : keys) {
        auto child = path;
        child.push_back(k);
        if (auto r = resolve_subtree(child); !r) return r;
      }
    } else if (v->is_array()) {
      std::size_t n = v->as_array().size();
      for (std::size_t i = 0; i < n; ++i) {
        auto child = path;
        child.push_back(std::to_string(i));
        if (auto r = resolve_subtree(child); !r) return r;
      }
    }
    done_.insert(id);
    return {};
  }

 private:
  json::value& root_;
  const ResolveOptions& opt_;
  std::vector<std::vector<std::string>> stack_;  // strings being resolved, outermost first
  std::set<std::string> done_;
  int nesting_ = 0;  // ${ inside ${ ...

  static std::string path_id(const std::vector<std::string>& p) {
    std::string s;
    for (const auto& seg : p) {
      s += seg;
      s += '\x1f';
    }
    return s;
  }
  static std::string dotted(const std::vector<std::string>& p) {
    std::string s;
    for (const auto& seg : p) s = join_path(s, seg);
    return s.empty() ? std::string("(root)") : s;
  }

  json::value* at(const std::vector<std::string>& path) {
    json::value* v = &root_;
    for (const auto& seg : path) {
      if (auto* o = v->if_object()) {
        auto it = o->find(seg);
        if (it == o->end()) return nullptr;
        v = &it->value();
      } else if (auto* a = v->if_array()) {
        std::size_t i = 0;
        auto [p, ec] = std::from_chars(seg.data(), seg.data() + seg.size(), i);
        if (ec != std::errc{} || p != seg.data() + seg.size() || i >= a->size()) return nullptr;
        v = &(*a)[i];
      } else {
        return nullptr;
      }
    }
    return v;
  }

  std::string chain_note() const {
    if (stack_.size() < 2) return {};
    std::string s = " (while resolving ";
    const std::size_t n = stack_.size();
    for (std::size_t i = 0; i < n; ++i) {
      if (n > 8 && i == 3) {  // a long chain: its ends say enough
        s += " -> ...";
        i = n - 4;
        continue;
      }
      if (i) s += " -> ";
      s += dotted(stack_[i]);
    }
    return s + ")";
  }

  std::unexpected<Error> error(std::string what, std::string fix) const {
    std::string where = stack_.empty() ? std::string("config") : dotted(stack_.back());
    return fail(where + ": " + what + chain_note(), std::move(fix));
  }

  Result<void> resolve_string(const std::vector<std::string>& path) {
    for (std::size_t i = 0; i < stack_.size(); ++i) {
      if (stack_[i] == path) {
        std::string chain;
        for (std::size_t j = i; j < stack_.size(); ++j) chain += dotted(stack_[j]) + " -> ";
        chain += dotted(path);
        return fail("interpolation cycle: " + chain,
                    "break the cycle: one of these keys must hold a value, not a reference");
      }
    }
    if (stack_.size() >= 200)
      return error("references nest more than 200 deep", "shorten the chain of ${...} references");
    stack_.push_back(path);
    std::string text(at(path)->as_string());
    auto r = expand(text);
    if (!r) return std::unexpected(std::move(r.error()));
    stack_.pop_back();
    *at(path) = std::move(*r);
    done_.insert(path_id(path));
    return {};
  }

  // Finds the '}' closing the "${" at `open`, honouring nested ${...}.
  static std::size_t closing(std::string_view s, std::size_t open) {
    int depth = 0;
    for (std::size_t i = open; i < s.size(); ++i) {
      if (s[i] == '$' && i + 1 < s.size() && s[i + 1] == '{') {
        ++depth;
        ++i;
      } else if (s[i] == '}') {
        if (--depth == 0) return i;
      }
    }
    return std::string_view::npos;
  }

  static Result<std::string> as_text(const json::value& v, std::string_view what) {
    if (v.is_string()) return std::string(v.as_string());
    if (v.is_structured())
      return fail(std::string(what) + " is " + std::string(kind_name(v)) +
                      ", which cannot be put inside a longer string",
                  "refer to it alone (\"${...}\") or to one of its keys");
    return json::serialize(v);
  }

  Result<json::value> expand(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size();) {
      if (text[i] == '\\' && text.substr(i + 1).starts_with("${")) {
        out += "${";
        i += 3;
        continue;
      }
      if (text.substr(i).starts_with("${")) {
        std::size_t end = closing(text, i);
        if (end == std::string_view::npos)
          return error("'${' is not closed in \"" + std::string(text) + "\"",
                       "add the closing '}', or write \\${ for a literal ${");
        auto v = evaluate(text.substr(i + 2, end - i - 2));
        if (!v) return v;
        if (i == 0 && end + 1 == text.size()) return v;  // the whole string: keep the type
        auto t = as_text(*v, "${" + std::string(text.substr(i + 2, end - i - 2)) + "}");
        if (!t) return error(t.error().what, t.error().fix);
        out += *t;
        i = end + 1;
        continue;
      }
      out += text[i++];
    }
    return json::value(json::string(out));
  }

  Result<json::value> evaluate(std::string_view inner_raw) {
    std::string inner(inner_raw);
    if (inner.find("${") != std::string::npos) {  // nested: expand the inside first
      if (++nesting_ > 32) return error("${...} nested more than 32 deep", "simplify the reference");
      auto v = expand(inner);
      --nesting_;
      if (!v) return v;
      auto t = as_text(*v, "${" + inner + "}");
      if (!t) return error(t.error().what, t.error().fix);
      inner = *t;
    }
    if (inner.empty()) return error("empty interpolation ${}", "write ${a.b}, ${env:VAR} or ${now:FORMAT}");
    std::size_t colon = inner.find(':');
    if (colon == std::string::npos) return lookup(inner);
    std::string resolver = inner.substr(0, colon);
    std::string arg = inner.substr(colon + 1);
    if (resolver == "env") return env(arg);
    if (resolver == "now") return now(arg);
    if (resolver == "path") return path(arg);
    return error("unknown resolver '" + resolver + "' in ${" + inner + "}" +
                     did_you_mean(resolver, {"env", "now", "path"}),
                 "resolvers are env (${env:VAR,default}), now (${now:%Y%m%d_%H%M%S}) and path (${path:data/x})");
  }

  // A path made absolute against the directory speedrun started in, so a
  // program launched inside a version folder still finds it (globs kept).
  Result<json::value> path(const std::string& arg) {
    if (arg.empty()) return error("${path:} needs a path", "write ${path:data/mini/mini_train_*.bin}");
    std::filesystem::path p(arg);
    if (p.is_relative()) {
      std::error_code ec;
      const auto base = opt_.cwd.empty() ? std::filesystem::current_path(ec) : opt_.cwd;
      if (ec) return error("${path:" + arg + "}: the working directory cannot be read: " + ec.message(),
                           "run speedrun from a directory that exists, or write an absolute path");
      p = base / p;
    }
    return json::value(json::string(p.lexically_normal().string()));
  }

  Result<json::value> env(const std::string& arg) {
    std::size_t comma = arg.find(',');
    std::string name = arg.substr(0, comma);
    bool valid = !name.empty() && std::isdigit(static_cast<unsigned char>(name[0])) == 0;
    for (char c : name) valid = valid && (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_');
    if (!valid)
      return error("'" + name + "' in ${env:" + arg + "} is not an environment variable name",
                   "write ${env:NAME} or ${env:NAME,default}");
    std::optional<std::string> value;
    if (opt_.getenv) {
      value = opt_.getenv(name);
    } else if (const char* p = std::getenv(name.c_str())) {
      value = std::string(p);
    }
    if (value) return json::value(json::string(*value));
    if (comma != std::string::npos) return json::value(json::string(arg.substr(comma + 1)));
    return error("environment variable " + name + " is not set (${env:" + arg + "})",
                 "export " + name + "=..., or give a default: ${env:" + name + ",default}");
  }

  Result<json::value> now(const std::string& format) {
    if (format.empty()) return error("${now:} needs a format", "write ${now:%Y%m%d_%H%M%S}");
    std::time_t t = std::chrono::system_clock::to_time_t(opt_.now);
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[256];
    std::size_t n = std::strftime(buf, sizeof buf, format.c_str(), &tm);
    if (n == 0) return error("${now:" + format + "} gives an empty or too long time", "use a strftime format such as %Y%m%d_%H%M%S");
    return json::value(json::string(std::string_view(buf, n)));
  }

  Result<json::value> lookup(const std::string& key) {
    std::vector<std::string> path = split_path(key);
    json::value* v = &root_;
    std::string walked;
    std::vector<std::string> prefix;
    for (const auto& seg : path) {
      if (seg.empty()) return error("${" + key + "} has an empty key segment", "write ${a.b}");
      // a step through a reference (task.data = "${task.tracks.mini}") needs it resolved first
      if (v->is_string() && !prefix.empty()) {
        if (auto r = resolve_subtree(prefix); !r) return std::unexpected(std::move(r.error()));
        v = at(prefix);
      }
      json::value* next = nullptr;
      if (auto* o = v->if_object()) {
        auto it = o->find(seg);
        if (it != o->end()) next = &it->value();
        if (next == nullptr) {
          std::vector<std::string> keys;
          for (const auto& kv : *o) keys.emplace_back(kv.key());
          return error("${" + key + "} refers to a missing key: " +
                           (walked.empty() ? std::string("the config") : walked) + " has no key '" + seg +
                           "'" + did_you_mean(seg, keys) + "; its keys: " + list_choices(keys),
                       "fix the reference, or add the key it names");
        }
      } else if (auto* a = v->if_array()) {
        std::size_t i = 0;
        auto [p, ec] = std::from_chars(seg.data(), seg.data() + seg.size(), i);
        if (ec == std::errc{} && p == seg.data() + seg.size() && i < a->size()) next = &(*a)[i];
        if (next == nullptr)
          return error("${" + key + "} refers to a missing key: " + walked + " is a list of " +
                           std::to_string(a->size()) + " and has no element '" + seg + "'",
                       "fix the reference");
      } else {
        return error("${" + key + "} refers to a missing key: " + walked + " is " +
                         std::string(kind_name(*v)) + ", not an object",
                     "fix the reference");
      }
      v = next;
      walked = join_path(walked, seg);
      prefix.push_back(seg);
    }
    if (auto r = resolve_subtree(path); !r) return std::unexpected(std::move(r.error()));
    return *at(path);
  }
};

}  // namespace detail

// Resolves every interpolation in the tree, in place. On error the tree is
// left partly resolved; callers discard it.
[[nodiscard]] inline Result<void> resolve_interpolations(json::value& root, const ResolveOptions& opt = {}) {
  detail::Interpolator in(root, opt);
  return in.resolve_subtree({});
}

}  // namespace speedrunner::config
