// Umbrella header: the whole public library. Prefer the area headers in
// translation units that need one piece; this one is for quick programs.
#pragma once

#include <speedrunner/code/aider_coder.hpp>
#include <speedrunner/code/apply.hpp>
#include <speedrunner/code/coder.hpp>
#include <speedrunner/code/formats.hpp>
#include <speedrunner/code/patch_coder.hpp>
#include <speedrunner/core/error.hpp>
#include <speedrunner/data/shard.hpp>
#include <speedrunner/ideate/ideator.hpp>
#include <speedrunner/llm/model.hpp>
#include <speedrunner/version.hpp>
