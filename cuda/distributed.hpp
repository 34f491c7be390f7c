// Data parallelism, one process per GPU: who am I (our launcher's variables or
// Slurm's), NCCL set up through a unique id passed in a shared file, gradient
// all-reduce (or ZeRO-1's reduce-scatter and all-gather), and the local
// launcher behind `--nproc N`.
#pragma once

#include <speedrunner/core/error.hpp>

#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <cstddef>
#include <string>

namespace speedrunner::cuda {

struct Distributed {
  int rank = 0, world = 1, local_rank = 0;
  void* comm = nullptr;  // ncclComm_t when world > 1

  [[nodiscard]] bool is_main() const { return rank == 0; }
};

// Who this process is: SPEEDRUN_RANK/SPEEDRUN_WORLD_SIZE/SPEEDRUN_LOCAL_RANK
// (set by launch_local) or SLURM_PROCID/SLURM_NTASKS/SLURM_LOCALID (srun), else
// a single rank. Touches no GPU, so data can be checked first.
[[nodiscard]] Result<Distributed> detect_ranks();

// Selects the GPU local_rank and, with several ranks, joins the NCCL
// communicator. Rank 0 writes the NCCL id to `id_file` (SPEEDRUN_NCCL_ID_FILE
// overrides it; under Slurm the default is nccl_id_<job>_<step> in the working
// folder, which must be shared) and the others wait for it.
[[nodiscard]] Result<void> init_distributed(Distributed& dist, std::string id_file);
void finalize_distributed(Distributed& dist);

// In-place mean or sum over ranks (no-op on one rank).
void all_reduce_mean(const Distributed& dist, float* data, std::size_t n, cudaStream_t stream);
void all_reduce_sum(const Distributed& dist, float* data, std::size_t n, cudaStream_t stream);

// ZeRO-1 collectives, in place on a buffer of world * shard elements whose
// rank-r shard is [r * shard, (r + 1) * shard); no-ops on one rank.
// reduce_scatter_mean: this rank's shard becomes the mean over ranks (the rest
// of the buffer is left undefined). all_gather: every rank's shard lands in
// every rank's buffer.
void reduce_scatter_mean(const Distributed& dist, float* data, std::size_t shard,
                         cudaStream_t stream);
void all_gather(const Distributed& dist, __nv_bfloat16* data, std::size_t shard,
                cudaStream_t stream);
void all_gather(const Distributed& dist, float* data, std::size_t shard, cudaStream_t stream);

// Starts `nproc` copies of this program (argv without --nproc) as ranks
// 0..nproc-1 on this machine, waits, and returns the first failing exit code
// (stopping the others) or 0.
int launch_local(int nproc, int argc, char** argv);

}  // namespace speedrunner::cuda
