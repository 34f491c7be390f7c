// The coder's transcript in a version directory: coder_history.jsonl (one JSON
// object per event) and coder.md (the same exchange for people to read).
#pragma once

#include <speedrunner/code/apply.hpp>
#include <speedrunner/code/version_files.hpp>
#include <speedrunner/core/error.hpp>
#include <speedrunner/llm/model.hpp>

#include <boost/json.hpp>

#include <filesystem>
#include <string>
#include <string_view>

namespace speedrunner::code::detail {

inline std::string_view to_string(BlockStatus s) {
  switch (s) {
    case BlockStatus::applied: return "applied";
    case BlockStatus::already_applied: return "already applied";
    case BlockStatus::failed: return "failed";
  }
  return "failed";
}

class Transcript {
 public:
  Transcript(std::filesystem::path version_dir, std::string_view format)
      : dir_(std::move(version_dir)), format_(format) {}

  void system(const std::string& text) {
    event(0, "system", {{"content", text}});
    md_ += "# Coder (" + format_ + " format)\n\n## System prompt\n\n" + text + "\n";
  }
  void prompt(int round, const std::string& text) {
    event(round, "user", {{"content", text}});
    md_ += "\n## Round " + std::to_string(round) + "\n\n### " + (round == 1 ? "Request" : "Reflection") + "\n\n" +
           text + "\n";
  }
  void answer(int round, const llm::Response& r) {
    event(round, "assistant",
          {{"content", r.text},
           {"model", r.model},
           {"input_tokens", r.usage.input_tokens},
           {"output_tokens", r.usage.output_tokens},
           {"cached_tokens", r.usage.cached_tokens},
           {"latency_ms", r.latency.count()},
           {"cost_usd", r.cost_usd}});
    md_ += "\n### Answer (" + std::to_string(r.usage.output_tokens) + " tokens)\n\n" + r.text + "\n";
  }
  void applied(int round, const ApplyReport& report) {
    boost::json::array blocks;
    md_ += "\n### Applied\n\n";
    for (const auto& b : report.blocks) {
      boost::json::object o{{"index", b.index + 1}, {"path", b.edit.path}, {"status", to_string(b.status)}};
      if (b.how) o["how"] = std::string(code::to_string(*b.how));
      if (!b.reason.empty()) o["reason"] = b.reason;
      if (!b.note.empty()) o["note"] = b.note;
      blocks.push_back(std::move(o));
      md_ += "- block " + std::to_string(b.index + 1) + ", " + b.edit.path + ": " + std::string(to_string(b.status)) +
             (b.how ? " (" + std::string(code::to_string(*b.how)) + ")" : "") +
             (b.reason.empty() ? "" : ": " + b.reason) + (b.note.empty() ? "" : " [note: " + b.note + "]") + "\n";
    }
    boost::json::array changed;
    for (const auto& f : report.changed_files) changed.push_back(boost::json::string(f));
    event(round, "apply", {{"blocks", std::move(blocks)}, {"changed_files", std::move(changed)}});
  }
  void note(int round, const std::string& text) {
    event(round, "note", {{"content", text}});
    md_ += "\n> " + text + "\n";
  }

  // Appends this exchange to both files, all or nothing.
  [[nodiscard]] Result<void> flush() {
    std::vector<FileWrite> writes;
    for (auto [name, add] : {std::pair{std::string_view("coder_history.jsonl"), &jsonl_},
                             std::pair{std::string_view("coder.md"), &md_}}) {
      auto path = dir_ / name;
      auto old = read_file_text(path, name);
      if (!old) return std::unexpected(old.error());
      std::string before = old->exists ? old->bytes : std::string();
      if (!before.empty() && name == "coder.md") before += "\n---\n\n";
      writes.push_back({path, before + *add, old->exists ? std::optional(old->bytes) : std::nullopt, std::string(name)});
    }
    auto done = write_all_or_nothing(writes);
    if (!done) return std::unexpected(std::move(done.error()).context("coder transcript"));
    jsonl_.clear();
    md_.clear();
    return {};
  }

 private:
  void event(int round, std::string_view kind, boost::json::object fields) {
    fields["round"] = round;
    fields["event"] = kind;
    fields["format"] = format_;
    jsonl_ += boost::json::serialize(fields) + "\n";
  }

  std::filesystem::path dir_;
  std::string format_;
  std::string jsonl_, md_;
};

}  // namespace speedrunner::code::detail
