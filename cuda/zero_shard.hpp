// ZeRO-1's split of the flat parameter buffer over data-parallel ranks: equal,
// aligned shards (NCCL's reduce-scatter and all-gather need equal counts) and
// the pieces of each tensor that fall inside one rank's shard, each knowing
// whether it gets weight decay. Plain C++20 host code, unit-tested on the CPU.
#pragma once

#include "gpt2_config.hpp"

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace speedrunner::cuda {

// A tensor of the flat buffer: elements [offset, offset + size).
struct TensorExtent {
  std::size_t offset = 0, size = 0;
  bool decay = false;  // weight decay applies (2-D tensors)
};

// The part of tensor `tensor` inside a shard: elements [begin, end) of the flat buffer.
struct ShardSegment {
  int tensor = 0;
  std::size_t begin = 0, end = 0;
  bool decay = false;

  [[nodiscard]] std::size_t size() const { return end - begin; }
  friend bool operator==(const ShardSegment&, const ShardSegment&) = default;
};

// Rank `rank`'s shard of a buffer split `world` ways. padded_total = world * size()
// elements; the tail past the real buffer and the gaps between tensors belong to
// no segment, so nothing there is ever updated.
struct ShardPlan {
  int world = 1, rank = 0;
  std::size_t padded_total = 0;
  std::size_t begin = 0, end = 0;      // this rank's elements of the flat buffer
  std::vector<ShardSegment> segments;  // tensor ∩ shard, in buffer order, none empty

  [[nodiscard]] std::size_t size() const { return end - begin; }
  [[nodiscard]] bool sharded() const { return world > 1; }
};

// Shards of `alignment` elements' multiples: with alignment 128 every shard
// starts where a ParamLayout tensor may (256 bytes in bf16). `tensors` lie in
// [0, total) in increasing offset order without overlap; breaking that, or
// world < 1, rank outside [0, world) or alignment 0, is a programming error.
[[nodiscard]] inline ShardPlan plan_shard(const std::vector<TensorExtent>& tensors,
                                          std::size_t total, int world, int rank,
                                          std::size_t alignment) {
  if (world < 1 || rank < 0 || rank >= world || alignment == 0)
    throw std::invalid_argument("plan_shard: rank " + std::to_string(rank) + " of world " +
                                std::to_string(world) + " with alignment " +
                                std::to_string(alignment) + " is not a shard");
  std::size_t previous_end = 0;
  for (const TensorExtent& t : tensors) {
    if (t.offset < previous_end || t.offset + t.size > total)
      throw std::invalid_argument("plan_shard: tensors must be ordered, disjoint and inside total");
    previous_end = t.offset + t.size;
  }
  ShardPlan plan;
  plan.world = world;
  plan.rank = rank;
  const std::size_t chunk = alignment * std::size_t(world);
  const std::size_t shard = (total + chunk - 1) / chunk * alignment;
  plan.padded_total = shard * std::size_t(world);
  plan.begin = shard * std::size_t(rank);
  plan.end = plan.begin + shard;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const std::size_t b = std::max(tensors[i].offset, plan.begin),
                      e = std::min(tensors[i].offset + tensors[i].size, plan.end);
    if (b < e) plan.segments.push_back({int(i), b, e, tensors[i].decay});
  }
  return plan;
}

// The GPT-2 buffer's plan: one tensor per Param, decay on the matrices.
[[nodiscard]] inline ShardPlan plan_shard(const ParamLayout& layout, int world, int rank) {
  std::vector<TensorExtent> tensors(num_params);
  for (int p = 0; p < num_params; ++p)
    tensors[p] = {layout.offset[p], layout.size[p], param_is_matrix(p)};
  return plan_shard(tensors, layout.total, world, rank, ParamLayout::alignment);
}

}  // namespace speedrunner::cuda
