// Umbrella header: the whole public library. Prefer the area headers in
// translation units that need one piece; this one is for quick programs.
#pragma once

#include <speedrunner/agent/agent.hpp>
#include <speedrunner/agent/analysis.hpp>
#include <speedrunner/agent/prompt.hpp>
#include <speedrunner/code/aider_coder.hpp>
#include <speedrunner/code/apply.hpp>
#include <speedrunner/code/coder.hpp>
#include <speedrunner/code/formats.hpp>
#include <speedrunner/code/patch_coder.hpp>
#include <speedrunner/core/error.hpp>
#include <speedrunner/data/shard.hpp>
#include <speedrunner/exec/local.hpp>
#include <speedrunner/ideate/dummy.hpp>
#include <speedrunner/ideate/ideator.hpp>
#include <speedrunner/ideate/llm.hpp>
#include <speedrunner/knowledge/knowledge.hpp>
#include <speedrunner/llm/model.hpp>
#include <speedrunner/metrics/early_abort.hpp>
#include <speedrunner/runner.hpp>
#include <speedrunner/search/aide.hpp>
#include <speedrunner/search/bon.hpp>
#include <speedrunner/validate/choice.hpp>
#include <speedrunner/validate/code_block.hpp>
#include <speedrunner/validate/edits.hpp>
#include <speedrunner/validate/json.hpp>
#include <speedrunner/validate/json_as.hpp>
#include <speedrunner/validate/validator.hpp>
#include <speedrunner/version.hpp>
#include <speedrunner/workspace/workspace.hpp>
