// `speedrun context [OVERRIDE...]`: what the coder's model is shown of the
// task's template (entry files in full, the others listed), each file's size
// in tokens, and whether the first prompt fits the coder model's window. The
// same check refuses to start a run whose first prompt cannot fit.
#include "commands.hpp"
#include "job.hpp"

#include <speedrunner/code/aider_coder.hpp>
#include <speedrunner/code/search_replace.hpp>
#include <speedrunner/code/unified_diff.hpp>
#include <speedrunner/code/whole_file.hpp>
#include <speedrunner/config/compose.hpp>

#include <algorithm>
#include <cstdio>

namespace speedrun {

namespace sr = speedrunner;
namespace code = speedrunner::code;

namespace {

std::string_view format_prompt(std::string_view edit_format) {
  if (edit_format == code::WholeFile::name) return code::WholeFile{}.prompt();
  if (edit_format == code::UnifiedDiff::name) return code::UnifiedDiff{}.prompt();
  return code::SearchReplace{}.prompt();
}

}  // namespace

sr::Result<CoderContext> coder_context(const JobSettings& s) {
  const auto& dir = s.task.template_dir;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    return sr::fail("task.template_dir: " + dir.string() + " is not a folder",
                    "run from the source tree, or set task.template_dir");
  code::CodeRequest request;
  request.version_dir = dir;
  request.files = s.task.files;
  request.read_only = s.task.read_only;
  request.task_description = s.task.description;
  request.instructions = s.task.code_instructions;
  request.hypothesis = {"(the node's hypothesis)", {}};
  if (s.task.knowledge_for_coder) request.knowledge = s.task.knowledge;
  request.package_constraints = s.task.package_constraints;
  code::AiderOptions options;
  options.context = context_limit(s.coder_model ? *s.coder_model : s.model);

  CoderContext out;
  out.limit = options.context;
  const std::string system = std::string(code::coder_system_prompt) + std::string(format_prompt(s.edit_format));
  const std::string prompt = code::coder_prompt(request, options);
  out.prompt_bytes = system.size() + prompt.size();
  out.prompt_tokens = code::estimate_tokens(system) + code::estimate_tokens(prompt) + 8;

  auto add = [&](const std::string& path, std::string shown) {
    auto text = code::read_file_text(dir / path, path);
    CoderContext::File f{path, std::move(shown), 0, 0, {}};
    if (text && text->exists) {
      f.bytes = text->bytes.size();
      f.tokens = code::estimate_tokens(text->bytes);
      if (f.shown == "listed") f.about = code::first_comment_line(text->bytes);
    }
    out.all_files_tokens += f.tokens;
    out.files.push_back(std::move(f));
  };
  for (const auto& f : s.task.files) add(f, "full");
  for (const auto& f : s.task.read_only)
    if (std::filesystem::is_regular_file(dir / f, ec)) add(f, "read-only");
  for (const auto& f : code::other_files(dir, s.task.files, s.task.read_only)) add(f, "listed");
  return out;
}

sr::Result<void> check_coder_context(const JobSettings& s) {
  if (s.coder != "aider") return {};
  auto c = coder_context(s);
  if (!c) return std::unexpected(c.error());
  if (c->fits()) return {};
  return sr::fail("the coder's first prompt on " + s.task.template_dir.string() + ": " +
                      c->limit.over("it", c->prompt_tokens),
                  "show fewer files in full (task.entry_files; the others are listed and read on request) or give "
                  "the coder a model with a larger window (coder.model=...); `speedrun context` lists each file's size");
}

int context_command(std::span<const std::string_view> args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::puts("usage: speedrun context [--config-dir DIR] [OVERRIDE...]\n"
              "  what the coder's model is shown of the task's template: the entry files in full, the\n"
              "  read-only files, the other files as a list (path and first comment line, read on request);\n"
              "  each file's size in bytes and in tokens (estimated, see docs/coders.md), the first prompt's\n"
              "  size and whether it fits the coder model's context window (coder.model, else model).\n"
              "  Exit 0 when it fits (or the window is unknown), 1 when it does not, 2 for a config error.\n"
              "  e.g. speedrun context task=nanogpt_speedrun/record_5 model=o3_mini");
    return 0;
  }
  namespace cfg = speedrunner::config;
  auto report = [](const sr::Error& e) {
    std::fprintf(stderr, "speedrun context: %s\n", e.message().c_str());
    return int(e.code);
  };
  auto cl = cfg::parse_command_line(args);
  if (!cl) return report(cl.error());
  if (!cl->original_note.empty()) std::fprintf(stderr, "speedrun context: %s\n", cl->original_note.c_str());
  auto c = cfg::load(*cl);
  if (!c) return report(c.error());
  auto job = job_from_config(*c, {});
  if (!job) return report(job.error());
  if (job->coder != "aider") {
    std::printf("coder=%s sends no prompt to a model; nothing to measure\n", job->coder.c_str());
    return 0;
  }
  auto ctx = coder_context(*job);
  if (!ctx) return report(ctx.error());
  using code::thousands;
  std::printf("task %s, template %s, coder model %s\n", job->task.name.c_str(), job->task.template_dir.c_str(),
              ctx->limit.model.c_str());
  std::size_t width = 4;
  for (const auto& f : ctx->files) width = std::max(width, f.path.size());
  std::printf("  %-9s  %-*s  %8s  %7s  %s\n", "shown", int(width), "file", "bytes", "tokens", "first comment line");
  for (const auto& f : ctx->files)
    std::printf("  %-9s  %-*s  %8s  %7s  %s\n", f.shown.c_str(), int(width), f.path.c_str(), thousands(f.bytes).c_str(),
                thousands(f.tokens).c_str(), f.about.c_str());
  std::size_t full = 0, listed = 0;
  for (const auto& f : ctx->files) (f.shown == "listed" ? listed : full) += 1;
  std::printf("files: %zu shown in full, %zu listed; all %zu in full would be about %s tokens\n", full, listed,
              ctx->files.size(), thousands(ctx->all_files_tokens).c_str());
  std::printf("first prompt: %s bytes, about %s tokens (estimated)", thousands(ctx->prompt_bytes).c_str(),
              thousands(ctx->prompt_tokens).c_str());
  if (ctx->limit.window == 0) {
    std::printf("; the model's context window is unknown (context_window in its config), not checked\n");
    return 0;
  }
  if (ctx->limit.answer > 0) std::printf(" + %s kept for the answer", thousands(ctx->limit.answer).c_str());
  std::printf(", in a window of %s tokens: %s\n", thousands(ctx->limit.window).c_str(),
              ctx->fits() ? "fits" : "does NOT fit");
  return ctx->fits() ? 0 : int(sr::ExitCode::failure);
}

}  // namespace speedrun
