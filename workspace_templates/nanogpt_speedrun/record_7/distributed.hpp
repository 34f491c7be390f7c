// Data parallelism, one process per GPU: who am I (our launcher's variables or
// Slurm's), NCCL set up through a unique id passed in a shared file, gradient
// all-reduce, and the local launcher behind `--nproc N`.
#pragma once

#include <speedrunner/core/error.hpp>

#include <cstddef>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <string>

namespace speedrunner::cuda {

struct Distributed {
  int rank = 0, world = 1, local_rank = 0;
  void* comm = nullptr;  // ncclComm_t when world > 1

  [[nodiscard]] bool is_main() const { return rank == 0; }
};

// Reads SPEEDRUN_RANK/SPEEDRUN_WORLD_SIZE/SPEEDRUN_LOCAL_RANK (set by
// launch_local) or SLURM_PROCID/SLURM_NTASKS/SLURM_LOCALID (srun); selects the
// GPU local_rank and, with several ranks, joins the NCCL communicator. Rank 0
// writes the NCCL id to `id_file` (SPEEDRUN_NCCL_ID_FILE overrides it; under
// Slurm the default is nccl_id_<job>_<step> in the working folder, which must
// be shared) and the others wait for it.
[[nodiscard]] Result<Distributed> init_distributed(std::string id_file);
void finalize_distributed(Distributed& dist);

// In-place mean over ranks (no-op on one rank).
void all_reduce_mean(const Distributed& dist, float* data, std::size_t n, cudaStream_t stream);
// In-place sum over ranks in bf16 (no-op on one rank): Muon's exchange of updates.
void all_reduce_sum(const Distributed& dist, __nv_bfloat16* data, std::size_t n, cudaStream_t stream);

// Starts `nproc` copies of this program (argv without --nproc) as ranks
// 0..nproc-1 on this machine, waits, and returns the first failing exit code
// (stopping the others) or 0.
int launch_local(int nproc, int argc, char** argv);

}  // namespace speedrunner::cuda
