// NCCL bootstrap, all-reduce and the local launcher (see distributed.hpp).
#include "distributed.hpp"

#include "common.cuh"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>
#include <unistd.h>
#include <vector>
#include <sys/wait.h>

#ifdef SPEEDRUN_HAVE_NCCL
#include <nccl.h>
#define NCCL_CHECK(call)                                                                               \
  do {                                                                                                 \
    ncclResult_t status_ = (call);                                                                     \
    if (status_ != ncclSuccess)                                                                        \
      ::speedrunner::cuda::die("NCCL", ncclGetErrorString(status_), __FILE__, __LINE__);               \
  } while (0)
#endif

namespace speedrunner::cuda {

namespace {
int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}
}  // namespace

Result<Distributed> init_distributed(std::string id_file) {
  Distributed dist;
  if (std::getenv("SPEEDRUN_WORLD_SIZE") != nullptr) {
    dist.rank = env_int("SPEEDRUN_RANK", 0);
    dist.world = env_int("SPEEDRUN_WORLD_SIZE", 1);
    dist.local_rank = env_int("SPEEDRUN_LOCAL_RANK", dist.rank);
  } else if (std::getenv("SLURM_NTASKS") != nullptr) {
    dist.rank = env_int("SLURM_PROCID", 0);
    dist.world = env_int("SLURM_NTASKS", 1);
    dist.local_rank = env_int("SLURM_LOCALID", 0);
    if (id_file.empty())
      id_file = "nccl_id_" + std::string(std::getenv("SLURM_JOB_ID") ? std::getenv("SLURM_JOB_ID") : "0") + "_" +
                std::string(std::getenv("SLURM_STEP_ID") ? std::getenv("SLURM_STEP_ID") : "0");
  }
  if (const char* f = std::getenv("SPEEDRUN_NCCL_ID_FILE")) id_file = f;
  if (dist.world < 1 || dist.rank < 0 || dist.rank >= dist.world)
    return fail("rank " + std::to_string(dist.rank) + " of world size " + std::to_string(dist.world) +
                " is not a valid rank", "check SPEEDRUN_RANK/SPEEDRUN_WORLD_SIZE or the srun task count");
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    (void)cudaGetLastError();
    return fail("no CUDA device is visible", "run on a GPU machine (check nvidia-smi and CUDA_VISIBLE_DEVICES)");
  }
  if (dist.local_rank >= devices)
    return fail("local rank " + std::to_string(dist.local_rank) + " needs GPU " + std::to_string(dist.local_rank) +
                    " but only " + std::to_string(devices) + " are visible",
                "start at most one process per GPU (--nproc <= GPUs, or srun --ntasks-per-node <= GPUs)");
  CUDA_CHECK(cudaSetDevice(dist.local_rank));
  if (dist.world == 1) return dist;
#ifdef SPEEDRUN_HAVE_NCCL
  if (id_file.empty())
    return fail("several ranks but no file to share the NCCL id through",
                "pass --nccl-id-file PATH on a folder all ranks see, or start with --nproc N");
  setenv("NCCL_NVLS_ENABLE", "0", 0);  // multicast can take a shared host's GPUs down
  ncclUniqueId id;
  namespace fs = std::filesystem;
  if (dist.rank == 0) {
    NCCL_CHECK(ncclGetUniqueId(&id));
    const std::string tmp = id_file + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary);
      out.write(reinterpret_cast<const char*>(&id), sizeof(id));
      if (!out) return fail(tmp + ": cannot write the NCCL id", "pick a writable --nccl-id-file folder");
    }
    std::error_code ec;
    fs::rename(tmp, id_file, ec);
    if (ec) return fail(id_file + ": cannot publish the NCCL id: " + ec.message());
  } else {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (true) {
      std::ifstream in(id_file, std::ios::binary);
      if (in && in.read(reinterpret_cast<char*>(&id), sizeof(id))) break;
      if (std::chrono::steady_clock::now() > deadline)
        return fail(id_file + ": rank 0 did not publish the NCCL id within 120 s",
                    "check that rank 0 started and that all ranks see the same folder");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ncclComm_t comm;
  NCCL_CHECK(ncclCommInitRank(&comm, dist.world, id, dist.rank));
  dist.comm = comm;
  if (dist.rank == 0) {  // every rank has joined, so the id file has served
    std::error_code ec;
    fs::remove(id_file, ec);
  }
  return dist;
#else
  return fail("this trainer was built without NCCL, so it runs on one GPU only",
              "install NCCL (libnccl-dev) and rebuild, or run with one process");
#endif
}

void finalize_distributed(Distributed& dist) {
#ifdef SPEEDRUN_HAVE_NCCL
  if (dist.comm != nullptr) ncclCommDestroy(static_cast<ncclComm_t>(dist.comm));
#endif
  dist.comm = nullptr;
}

void all_reduce_mean(const Distributed& dist, float* data, std::size_t n, cudaStream_t stream) {
  if (dist.world == 1) return;
#ifdef SPEEDRUN_HAVE_NCCL
  NCCL_CHECK(ncclAllReduce(data, data, n, ncclFloat, ncclAvg, static_cast<ncclComm_t>(dist.comm), stream));
#else
  (void)data, (void)n, (void)stream;
#endif
}

void all_reduce_sum(const Distributed& dist, __nv_bfloat16* data, std::size_t n, cudaStream_t stream) {
  if (dist.world == 1) return;
#ifdef SPEEDRUN_HAVE_NCCL
  NCCL_CHECK(ncclAllReduce(data, data, n, ncclBfloat16, ncclSum, static_cast<ncclComm_t>(dist.comm), stream));
#else
  (void)data, (void)n, (void)stream;
#endif
}

int launch_local(int nproc, int argc, char** argv) {
  // argv without "--nproc N" / "--nproc=N"
  std::vector<char*> child_argv;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--nproc") == 0) {
      ++i;
      continue;
    }
    if (std::strncmp(argv[i], "--nproc=", 8) == 0) continue;
    child_argv.push_back(argv[i]);
  }
  child_argv.push_back(nullptr);
  const std::string id_file = (std::filesystem::temp_directory_path() /
                               ("speedrun_nccl_id_" + std::to_string(::getpid()))).string();
  std::vector<pid_t> children;
  for (int r = 0; r < nproc; ++r) {
    const pid_t pid = ::fork();
    if (pid < 0) {
      std::perror("fork");
      for (pid_t c : children) ::kill(c, SIGTERM);
      return 1;
    }
    if (pid == 0) {
      setenv("SPEEDRUN_RANK", std::to_string(r).c_str(), 1);
      setenv("SPEEDRUN_LOCAL_RANK", std::to_string(r).c_str(), 1);
      setenv("SPEEDRUN_WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      setenv("SPEEDRUN_NCCL_ID_FILE", id_file.c_str(), 1);
      setenv("NCCL_NVLS_ENABLE", "0", 0);
      ::execv("/proc/self/exe", child_argv.data());
      std::perror("execv");
      std::_Exit(127);
    }
    children.push_back(pid);
  }
  int result = 0;
  for (std::size_t done = 0; done < children.size(); ++done) {
    int status = 0;
    const pid_t pid = ::wait(&status);
    if (pid < 0) break;
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    if (code != 0 && result == 0) {
      result = code;
      std::fprintf(stderr, "speedrun-train-gpt2: a rank exited with status %d; stopping the others\n", code);
      for (pid_t c : children)
        if (c != pid) ::kill(c, SIGTERM);
    }
  }
  std::error_code ec;
  std::filesystem::remove(id_file, ec);
  return result;
}

}  // namespace speedrunner::cuda
