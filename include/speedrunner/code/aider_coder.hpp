// AiderCoder: a language model edits a version's files in an edit format,
// with reflections on failed blocks, and leaves a transcript beside the code
// (coder_history.jsonl for programs, coder.md for people).
#pragma once

#include <speedrunner/code/apply.hpp>
#include <speedrunner/code/coder.hpp>
#include <speedrunner/code/context.hpp>
#include <speedrunner/code/detail/transcript.hpp>
#include <speedrunner/code/edit.hpp>
#include <speedrunner/code/search_replace.hpp>
#include <speedrunner/code/version_files.hpp>
#include <speedrunner/core/error.hpp>
#include <speedrunner/llm/model.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace speedrunner::code {

inline constexpr std::string_view coder_system_prompt =
    R"(You are an expert research engineer. You change a training codebase to test one hypothesis, so that the next run measures exactly that idea. Make the smallest complete change that implements it; keep the code runnable, keep what the task evaluates intact, and do not leave placeholders.

)";

inline constexpr std::string_view coder_history_file = "coder_history.jsonl";
inline constexpr std::string_view coder_readable_file = "coder.md";

struct AiderOptions {
  int max_reflections = 5;            // extra rounds after the first answer, for failed blocks
  MatchOptions match;
  llm::Params params;
  std::size_t max_shown_bytes = 256 * 1024;  // larger files are named but not shown
  int max_reads = 3;                  // answers that ask to read listed files (rounds on top of reflections)
  std::size_t max_read_files = 8;     // files one such answer may ask for
  std::size_t max_listed = 200;       // other files named in the prompt; more are counted
  ContextLimit context;               // the model's window; a prompt over it is refused
};

namespace detail {

inline std::string fence_language(std::string_view path) {
  auto dot = path.rfind('.');
  std::string_view ext = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
  if (ext == "py") return "python";
  if (ext == "cu" || ext == "cuh") return "cuda";
  if (ext == "cpp" || ext == "hpp" || ext == "cc" || ext == "h" || ext == "cxx") return "cpp";
  if (ext == "c") return "c";
  if (ext == "sh") return "bash";
  if (ext == "json" || ext == "toml" || ext == "yaml" || ext == "md") return std::string(ext == "md" ? "markdown" : ext);
  return {};
}

// One file as the model sees it: its path, then its content in a fence long
// enough not to be closed by the content.
inline std::string show_file(const std::filesystem::path& root, const std::string& relative, std::size_t max_bytes) {
  // Absolute read-only files (the task's abs_read_only_fnames) are shown as they are.
  auto where = std::filesystem::path(relative).is_absolute()
                   ? Result<ResolvedPath>(ResolvedPath{relative, relative})
                   : resolve_inside(root, relative);
  if (!where) return relative + ": not shown (" + where.error().what + ")\n";
  std::error_code ec;
  if (std::filesystem::is_directory(where->absolute, ec)) return relative + "/: a folder\n";
  auto text = read_file_text(where->absolute, relative);
  if (!text) return relative + ": not shown (" + text.error().what + ")\n";
  if (!text->exists) return relative + ": does not exist yet\n";
  if (looks_binary(text->bytes)) return relative + ": a binary file, not shown\n";
  if (text->bytes.size() > max_bytes)
    return relative + ": too large to show (" + std::to_string(text->bytes.size()) + " bytes)\n";
  std::string body = to_lf(text->bytes);
  std::size_t ticks = 2;
  for (const auto& l : split_lines(body)) {
    std::size_t n = 0;
    while (n < l.size() && l[n] == '`') ++n;
    ticks = std::max(ticks, n);
  }
  const std::string fence(ticks + 1, '`');
  if (!body.empty() && body.back() != '\n') body += '\n';
  return relative + "\n" + fence + fence_language(relative) + "\n" + body + fence + "\n";
}

// The version's other files, one line each with its first comment line, and
// how to read them: the entry files are shown in full, these only on request.
inline std::string list_other_files(const CodeRequest& request, const AiderOptions& options) {
  const auto others = other_files(request.version_dir, request.files, request.read_only);
  if (others.empty()) return {};
  std::string out = "# Other files of this version (not shown)\n\n";
  for (std::size_t k = 0; k < others.size() && k < options.max_listed; ++k) {
    out += "- " + others[k];
    auto text = read_file_text(request.version_dir / others[k], others[k]);
    if (text && text->exists && looks_binary(text->bytes)) out += " (binary)";
    else if (text && text->exists) {
      out += " (" + std::to_string(std::count(text->bytes.begin(), text->bytes.end(), '\n')) + " lines)";
      if (auto what = first_comment_line(text->bytes); !what.empty()) out += ": " + what;
    }
    out += "\n";
  }
  if (others.size() > options.max_listed)
    out += "- ... and " + std::to_string(others.size() - options.max_listed) + " more files\n";
  if (options.max_reads > 0)
    out += "\nTo read some of them before editing, answer with only lines of the form `READ path`, one per file "
           "(at most " + std::to_string(options.max_read_files) + " files an answer, " +
           std::to_string(options.max_reads) + " such answers in all); their contents come back and you then send "
           "your edits. Any of them may be edited once you have read it.\n";
  return out + "\n";
}

// The answer to `READ path` lines: each file as the prompt shows files, or why not.
inline std::string read_reply(const CodeRequest& request, const std::vector<std::string>& paths,
                              const AiderOptions& options, bool had_edits) {
  std::string out = "The files you asked for:\n\n";
  for (std::size_t k = 0; k < paths.size() && k < options.max_read_files; ++k) {
    auto where = resolve_inside(request.version_dir, paths[k]);
    std::error_code ec;
    if (!where) out += paths[k] + ": not shown (" + where.error().what + ")\n\n";
    else if (!std::filesystem::exists(where->absolute, ec))
      out += paths[k] + ": no such file in this version (the listing above names its files)\n\n";
    else out += show_file(request.version_dir, where->relative, options.max_shown_bytes) + "\n";
  }
  if (paths.size() > options.max_read_files) {
    out += "Not shown (at most " + std::to_string(options.max_read_files) + " files an answer):";
    for (std::size_t k = options.max_read_files; k < paths.size(); ++k) out += " " + paths[k];
    out += "\n\n";
  }
  if (had_edits) out += "The edit blocks of your answer were not applied: an answer that asks to read files is only that. ";
  return out + "Now send your edits, in the edit format described in the instructions.\n";
}

// The prompt's size as the model will count it, about: every message plus a few
// tokens of framing each.
inline std::size_t conversation_tokens(const llm::Request& r) {
  std::size_t n = estimate_tokens(r.system) + 4;
  for (const auto& m : r.messages) n += estimate_tokens(m.content) + 4;
  return n;
}

}  // namespace detail

// The first user message: task, code instructions, hypothesis, hints, failed
// attempts nearby, constraints, then the files.
[[nodiscard]] inline std::string coder_prompt(const CodeRequest& request, const AiderOptions& options = {}) {
  const std::size_t max_shown_bytes = options.max_shown_bytes;
  std::string out;
  if (!request.task_description.empty()) out += "# Task\n\n" + request.task_description + "\n\n";
  if (!request.instructions.empty())
    out += (request.task_description.empty() ? "# Task\n\n" : "# Instructions for the code\n\n") +
           request.instructions + "\n\n";
  out += "# Hypothesis to implement\n\n" + request.hypothesis.summary + "\n";
  if (!request.hypothesis.text.empty() && request.hypothesis.text != request.hypothesis.summary)
    out += "\n" + request.hypothesis.text + "\n";
  if (!request.knowledge.empty()) out += "\n# Knowledge that may help\n\n" + request.knowledge + "\n";
  if (!request.bug_history.empty()) {
    out += "\n# Earlier attempts from this code that failed (do not repeat their mistakes)\n\n";
    for (const auto& a : request.bug_history)
      out += "- " + a.version + ": " + a.hypothesis + "\n  error: " + a.error + "\n";
  }
  if (!request.package_constraints.empty())
    out += "\n# Package constraints\n\n" + request.package_constraints + "\n";
  out += "\n# Files you may edit\n\n";
  for (const auto& f : request.files) out += detail::show_file(request.version_dir, f, max_shown_bytes) + "\n";
  if (!request.read_only.empty()) {
    out += "# Read-only files (for reference; never edit them)\n\n";
    for (const auto& f : request.read_only) out += detail::show_file(request.version_dir, f, max_shown_bytes) + "\n";
  }
  out += detail::list_other_files(request, options);
  if (!request.editable.empty()) {
    out += "You may also edit, or create, files matching:";
    for (const auto& p : request.editable) out += " " + p;
    out += "\n";
  }
  out += "Implement the hypothesis by editing the files above, in the edit format described in the instructions.\n";
  return out;
}

// A Coder that asks `Model` for edits in `Format` and applies them, sending
// back a reflection for failed blocks, up to `max_reflections` times.
// The model is held by reference and must outlive the coder.
template <class Model, class Format = SearchReplace>
class AiderCoder {
  static_assert(llm::LanguageModel<Model>,
                "AiderCoder's Model needs `complete(const llm::Request&) -> Result<llm::Response>`");
  static_assert(detail::check_edit_format<Format>());

 public:
  explicit AiderCoder(Model& model, Format format = {}, AiderOptions options = {})
      : model_(&model), format_(std::move(format)), options_(std::move(options)) {}

  [[nodiscard]] const AiderOptions& options() const { return options_; }

  [[nodiscard]] Result<CodeOutcome> implement(const CodeRequest& request) {
    std::error_code ec;
    if (!std::filesystem::is_directory(request.version_dir, ec))
      return fail("coder: the version directory " + request.version_dir.string() + " does not exist",
                  "create the version (copy its parent) before asking the coder", ExitCode::failure);
    ApplyOptions apply;
    apply.match = options_.match;
    apply.entry_files = request.files;
    apply.only_entry_files = true;
    apply.editable = request.editable;
    for (const auto& ro : request.read_only) apply.read_only.push_back({ro});
    apply.read_only.push_back({std::string(coder_history_file), "it is the coder's transcript"});
    apply.read_only.push_back({std::string(coder_readable_file), "it is the coder's transcript"});

    llm::Request exchange;
    exchange.system = std::string(coder_system_prompt) + std::string(format_.prompt());
    exchange.params = options_.params;
    exchange.messages.push_back({llm::Role::user, coder_prompt(request, options_)});

    detail::Transcript log(request.version_dir, Format::name);
    log.system(exchange.system);
    CodeOutcome outcome;
    // A prompt the model cannot take is refused before it is sent, with both sizes.
    if (const auto tokens = detail::conversation_tokens(exchange); !options_.context.fits(tokens)) {
      auto e = Error{"coder: " + options_.context.over("the prompt for " + request.version_dir.filename().string(), tokens),
                     "show fewer files in full (task.entry_files; the others are listed and read on request), or "
                     "give the coder a model with a larger window (coder.model); `speedrun context` shows each "
                     "file's size",
                     ExitCode::failure};
      log.note(0, e.what);
      (void)log.flush();
      return std::unexpected(std::move(e));
    }
    std::string last_problem;
    std::size_t applied_blocks = 0;
    int reads = 0;  // answers that asked to read files; each adds a round
    int max_rounds = 1 + std::max(0, options_.max_reflections);
    for (int round = 1; round <= max_rounds; ++round) {
      log.prompt(round, exchange.messages.back().content);
      auto answer = model_->complete(exchange);
      if (!answer) {
        log.note(round, "model error: " + answer.error().message());
        (void)log.flush();
        return std::unexpected(std::move(answer.error()).context("coder: round " + std::to_string(round)));
      }
      outcome.rounds = round;
      outcome.usage += answer->usage;
      outcome.cost_usd += answer->cost_usd;
      log.answer(round, *answer);
      exchange.messages.push_back({llm::Role::assistant, answer->text});

      std::string feedback;
      auto edits = format_.parse(answer->text);
      if (auto wanted = read_requests(answer->text); !wanted.empty()) {
        if (reads < options_.max_reads) {
          ++reads;
          ++max_rounds;
          std::string shown = detail::read_reply(request, wanted, options_, edits.has_value());
          exchange.messages.push_back({llm::Role::user, shown});
          if (const auto tokens = detail::conversation_tokens(exchange); !options_.context.fits(tokens))
            exchange.messages.back().content =
                "The files you asked for were not shown: with them " + options_.context.over("this conversation", tokens) +
                ". Send your edits with what you have, or ask for fewer or smaller files.\n";
          continue;
        }
        feedback = "You asked to read files, but the " + std::to_string(options_.max_reads) +
                   " answers that may do so are used. Send your edits now, in the edit format described in the "
                   "instructions.\n";
        last_problem = "asked to read files after the last read";
        log.note(round, feedback);
      } else if (!edits) {
        feedback = "Your answer could not be used: " + edits.error().message() + "\n";
        if (answer->finish == llm::FinishReason::length)
          feedback += "It was cut off at the token limit: send fewer, smaller blocks.\n";
        last_problem = edits.error().what;
        log.note(round, feedback);
      } else {
        auto report = apply_edits(request.version_dir, *edits, apply);
        if (!report) {
          log.note(round, "write failed: " + report.error().message());
          (void)log.flush();
          return std::unexpected(std::move(report.error()).context("coder: round " + std::to_string(round)));
        }
        log.applied(round, *report);
        applied_blocks += report->count(BlockStatus::applied);
        for (const auto& f : report->changed_files)
          if (std::find(outcome.changed_files.begin(), outcome.changed_files.end(), f) == outcome.changed_files.end())
            outcome.changed_files.push_back(f);
        if (report->ok()) {
          outcome.summary = "applied " + std::to_string(applied_blocks) + " edit block" +
                            (applied_blocks == 1 ? "" : "s") + " in " + std::to_string(round) + " round" +
                            (round == 1 ? "" : "s") + "; changed: " + joined(outcome.changed_files);
          if (outcome.changed_files.empty()) outcome.summary = "the edits were already in place; no file changed";
          log.note(round, outcome.summary);
          if (auto w = log.flush(); !w) return std::unexpected(w.error());
          return outcome;
        }
        feedback = reflection(*report, format_);
        for (const auto& b : report->blocks)
          if (b.status == BlockStatus::failed) {
            last_problem = "block " + std::to_string(b.index + 1) + ": " + b.reason;
            break;
          }
      }
      if (round < max_rounds) {
        exchange.messages.push_back({llm::Role::user, feedback});
        if (const auto tokens = detail::conversation_tokens(exchange); !options_.context.fits(tokens)) {
          last_problem = options_.context.over("the conversation", tokens);
          break;
        }
      }
    }
    outcome.summary = "gave up after " + std::to_string(outcome.rounds) + " rounds (" +
                      std::to_string(options_.max_reflections) + " reflections); last problem: " + last_problem +
                      (outcome.changed_files.empty() ? "; no file was changed"
                                                     : "; changed anyway: " + joined(outcome.changed_files));
    log.note(outcome.rounds, outcome.summary);
    if (auto w = log.flush(); !w) return std::unexpected(w.error());
    return outcome;
  }

 private:
  static std::string joined(const std::vector<std::string>& names) {
    std::string s;
    for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
    return s;
  }

  Model* model_;
  Format format_;
  AiderOptions options_;
};

// AiderCoder as a Runner policy: the edit format is chosen now, the model
// when the runner has one (`code::Aider<edit::SearchReplace>::coder<Model>`).
template <class Format = SearchReplace>
struct Aider {
  using format = Format;
  template <class Model>
  using coder = AiderCoder<Model, Format>;
};

}  // namespace speedrunner::code
