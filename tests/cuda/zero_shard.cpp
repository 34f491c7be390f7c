// Tests of cuda/zero_shard.hpp: ZeRO-1 shards tile the padded buffer, each
// shard's segments hold exactly the tensor elements inside it, and weight decay
// follows the tensor a segment came from.
#include "catch.hpp"

#include "zero_shard.hpp"

#include <cstddef>
#include <stdexcept>
#include <vector>

using namespace speedrunner::cuda;

namespace {

std::vector<TensorExtent> layout_tensors(const ParamLayout& layout) {
  std::vector<TensorExtent> tensors(num_params);
  for (int p = 0; p < num_params; ++p)
    tensors[p] = {layout.offset[p], layout.size[p], param_is_matrix(p)};
  return tensors;
}

// Every element of the padded buffer: the tensor it belongs to, or -1 (a gap or the tail).
std::vector<int> owners(const std::vector<TensorExtent>& tensors, std::size_t padded_total) {
  std::vector<int> owner(padded_total, -1);
  for (std::size_t t = 0; t < tensors.size(); ++t)
    for (std::size_t i = tensors[t].offset; i < tensors[t].offset + tensors[t].size; ++i)
      owner[i] = int(t);
  return owner;
}

}  // namespace

TEST_CASE("ZeRO-1 shards tile the padded buffer in equal aligned pieces without overlap",
          "[cuda][zero]") {
  for (const GPT2Config& config : {tiny_config, record1_config}) {
    const ParamLayout layout(config);
    for (int world = 1; world <= 8; ++world) {
      INFO("world " << world << ", buffer " << layout.total);
      std::size_t next = 0;
      for (int rank = 0; rank < world; ++rank) {
        const ShardPlan plan = plan_shard(layout, world, rank);
        CHECK(plan.world == world);
        CHECK(plan.rank == rank);
        CHECK(plan.sharded() == (world > 1));
        CHECK(plan.begin == next);
        CHECK(plan.size() % ParamLayout::alignment == 0);
        CHECK(plan.padded_total == plan.size() * std::size_t(world));
        CHECK(plan.padded_total >= layout.total);
        CHECK(plan.padded_total - layout.total < ParamLayout::alignment * std::size_t(world));
        next = plan.end;
      }
      CHECK(next == plan_shard(layout, world, 0).padded_total);
    }
  }
}

TEST_CASE("Each shard's segments hold exactly the tensor elements inside it, once over all ranks",
          "[cuda][zero]") {
  const ParamLayout layout(tiny_config);
  const auto tensors = layout_tensors(layout);
  for (int world : {1, 2, 3, 4, 5, 7, 8}) {
    INFO("world " << world);
    const std::size_t padded = plan_shard(layout, world, 0).padded_total;
    const std::vector<int> owner = owners(tensors, padded);
    std::vector<int> covered(padded, 0);
    for (int rank = 0; rank < world; ++rank) {
      const ShardPlan plan = plan_shard(layout, world, rank);
      std::size_t previous_end = plan.begin;
      for (const ShardSegment& s : plan.segments) {
        CHECK(s.begin >= previous_end);  // in buffer order, disjoint
        CHECK(s.begin < s.end);
        CHECK(s.end <= plan.end);
        previous_end = s.end;
        for (std::size_t i = s.begin; i < s.end; ++i) {
          ++covered[i];
          CHECK(owner[i] == s.tensor);
        }
      }
    }
    // tensor elements covered once, gaps and the padded tail never
    bool exact = true;
    for (std::size_t i = 0; i < padded; ++i) exact = exact && covered[i] == (owner[i] >= 0 ? 1 : 0);
    CHECK(exact);
  }
  // the 124M buffer by sizes (too large to walk element by element)
  const ParamLayout big(record1_config);
  for (int world : {2, 4, 8}) {
    std::vector<std::size_t> per_tensor(num_params, 0);
    for (int rank = 0; rank < world; ++rank)
      for (const ShardSegment& s : plan_shard(big, world, rank).segments)
        per_tensor[s.tensor] += s.size();
    for (int p = 0; p < num_params; ++p) CHECK(per_tensor[p] == big.size[p]);
  }
}

TEST_CASE("Shard segments get weight decay exactly when their tensor is a matrix", "[cuda][zero]") {
  const ParamLayout layout(record1_config);
  int decayed = 0, plain = 0;
  for (int world : {1, 2, 3, 4, 8})
    for (int rank = 0; rank < world; ++rank)
      for (const ShardSegment& s : plan_shard(layout, world, rank).segments) {
        INFO(param_names[s.tensor] << " in shard " << rank << " of " << world);
        CHECK(s.decay == param_is_matrix(s.tensor));
        (s.decay ? decayed : plain) += 1;
      }
  CHECK(decayed > 0);
  CHECK(plain > 0);
}

TEST_CASE("One rank's shard is the whole buffer with every tensor whole", "[cuda][zero]") {
  const ParamLayout layout(tiny_config);
  const ShardPlan plan = plan_shard(layout, 1, 0);
  CHECK(plan.begin == 0);
  CHECK(plan.end == layout.total);  // ParamLayout's total is already 128-aligned
  REQUIRE(plan.segments.size() == std::size_t(num_params));
  for (int p = 0; p < num_params; ++p) {
    CHECK(plan.segments[p].tensor == p);
    CHECK(plan.segments[p].begin == layout.offset[p]);
    CHECK(plan.segments[p].size() == layout.size[p]);
  }
}

TEST_CASE("Small tensors stay whole in one shard and a large one is cut where shards meet",
          "[cuda][zero]") {
  // 10 and 4 elements, then 100 spanning both shards; 132 elements pad to 2 x 80
  const std::vector<TensorExtent> tensors{{0, 10, true}, {16, 4, false}, {32, 100, true}};
  const ShardPlan r0 = plan_shard(tensors, 132, 2, 0, 16), r1 = plan_shard(tensors, 132, 2, 1, 16);
  CHECK(r0.padded_total == 160);
  CHECK(r0.begin == 0);
  CHECK(r0.end == 80);
  CHECK(r0.segments ==
        std::vector<ShardSegment>{{0, 0, 10, true}, {1, 16, 20, false}, {2, 32, 80, true}});
  CHECK(r1.begin == 80);
  CHECK(r1.end == 160);
  CHECK(r1.segments == std::vector<ShardSegment>{{2, 80, 132, true}});
}

TEST_CASE(
    "A tensor spanning three shards is split three ways when the world does not divide the "
    "buffer",
    "[cuda][zero]") {
  // 108 elements over 3 ranks at alignment 8: shards of 40, 12 elements of padding
  const std::vector<TensorExtent> tensors{{0, 8, false}, {8, 100, true}};
  const ShardPlan r0 = plan_shard(tensors, 108, 3, 0, 8), r1 = plan_shard(tensors, 108, 3, 1, 8),
                  r2 = plan_shard(tensors, 108, 3, 2, 8);
  CHECK(r0.padded_total == 120);
  CHECK(r0.segments == std::vector<ShardSegment>{{0, 0, 8, false}, {1, 8, 40, true}});
  CHECK(r1.segments == std::vector<ShardSegment>{{1, 40, 80, true}});
  CHECK(r2.begin == 80);
  CHECK(r2.end == 120);
  CHECK(r2.segments == std::vector<ShardSegment>{{1, 80, 108, true}});
}

TEST_CASE("A rank whose shard is all padding has no segments", "[cuda][zero]") {
  const std::vector<TensorExtent> tensors{{0, 10, true}};
  const ShardPlan last = plan_shard(tensors, 10, 4, 3, 4);
  CHECK(last.padded_total == 16);
  CHECK(last.begin == 12);
  CHECK(last.segments.empty());
  CHECK(plan_shard(tensors, 10, 4, 2, 4).segments == std::vector<ShardSegment>{{0, 8, 10, true}});
}

TEST_CASE("Impossible shard requests are programming errors", "[cuda][zero]") {
  const std::vector<TensorExtent> tensors{{0, 10, true}, {8, 4, false}};  // overlapping
  CHECK_THROWS_AS(plan_shard(tensors, 12, 2, 0, 4), std::invalid_argument);
  const std::vector<TensorExtent> fine{{0, 10, true}};
  CHECK_THROWS_AS(plan_shard(fine, 8, 1, 0, 4), std::invalid_argument);  // past the buffer
  CHECK_THROWS_AS(plan_shard(fine, 10, 0, 0, 4), std::invalid_argument);
  CHECK_THROWS_AS(plan_shard(fine, 10, 2, 2, 4), std::invalid_argument);
  CHECK_THROWS_AS(plan_shard(fine, 10, 2, -1, 4), std::invalid_argument);
  CHECK_THROWS_AS(plan_shard(fine, 10, 2, 0, 0), std::invalid_argument);
}
