// speedrun-train-gpt2: the record-6 GPT-2 trainer (6 heads of 128 with QK-norm and rotary
// positions, ReLU^2 MLP, zero-initialised projections, padded vocabulary; Muon for the
// blocks' matrices, shared out among the GPUs, AdamW for the embedding/head, warmdown schedule). Trains on .bin shards, one process per GPU (--nproc N, or srun), logs the task's lines
//   step:N/M val_loss:X train_time:Yms step_avg:Zms
// stops at a target validation loss or a step count, and writes a JSON summary.
#include "distributed.hpp"
#include "gpt2.hpp"
#include "token_loader.hpp"

#include "common.cuh"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace sr = speedrunner;
namespace cu = speedrunner::cuda;

namespace {

constexpr const char* usage = R"(usage: speedrun-train-gpt2 [options]
  --train PATTERN        training shards: a .bin file, a folder, or a pattern such as data/train_*.bin
  --val PATTERN          validation shards (same forms)
  --model NAME           d12 (the record's, default) or tiny; then optionally
  --layers N --heads N --width N --vocab N --padded-vocab N --max-seq N
  --attention KIND       flash (fused kernels, default) or gemm (batched GEMMs + softmax)
  --batch B              sequences per GPU per micro-step (default 64)
  --seq T                tokens per sequence (default 1024)
  --grad-accum K         micro-steps per optimizer step (default 1)
  --steps N              optimizer steps (default 5100)
  --lr X --warmup N --warmdown N --weight-decay X   (AdamW's lr and the schedule)
  --muon-lr X --muon-momentum X --ns-steps N
  --val-every N          validate every N steps and at the end (default 125; 0: only at the end)
  --val-tokens N         validation tokens per evaluation (default 10485760)
  --target-val-loss X    stop once the validation loss is at or below X
  --untimed-steps N      leave the first N steps out of train_time (default 10)
  --seed N               weight initialisation seed (default 1337)
  --summary FILE         write a JSON summary there
  --nproc N              start N processes, one per GPU of this machine
  --nccl-id-file PATH    where ranks meet (under srun: default nccl_id_<job>_<step>)
  --write-synthetic DIR  write a learnable synthetic train/val shard pair into DIR and exit
  --synthetic-tokens N   tokens of the synthetic train shard (default 20000000)
)";

struct Options {
  std::string train, val, summary, nccl_id_file, synthetic_dir;
  cu::GPT2Config model = cu::record1_config;
  cu::OptimizerConfig opt;
  int batch = 64, seq = 1024, grad_accum = 1, steps = 5100, val_every = 125, untimed_steps = 10, nproc = 0;
  long long val_tokens = 10485760, synthetic_tokens = 20000000;
  std::optional<double> target_val_loss;
  std::uint64_t seed = 1337;
  cu::Attention attention = cu::Attention::flash;
};

sr::Result<Options> parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(usage, stdout);
      std::exit(0);
    }
    if (i + 1 >= argc) return sr::fail("option " + arg + " needs a value (or is unknown)", "see --help");
    const std::string value = argv[++i];
    auto number = [&](auto& out) -> bool {
      char* end = nullptr;
      const double v = std::strtod(value.c_str(), &end);
      if (end == value.c_str() || *end != '\0') return false;
      out = static_cast<std::remove_reference_t<decltype(out)>>(v);
      return true;
    };
    bool ok = true;
    if (arg == "--train") o.train = value;
    else if (arg == "--val") o.val = value;
    else if (arg == "--summary") o.summary = value;
    else if (arg == "--nccl-id-file") o.nccl_id_file = value;
    else if (arg == "--write-synthetic") o.synthetic_dir = value;
    else if (arg == "--model") {
      if (value == "d12") o.model = cu::record1_config;
      else if (value == "tiny") o.model = cu::tiny_config;
      else return sr::fail("--model " + value + ": unknown model", "use d12 or tiny, then --layers/--width/... to adjust");
    }
    else if (arg == "--attention") {
      if (value == "flash") o.attention = cu::Attention::flash;
      else if (value == "gemm") o.attention = cu::Attention::gemm;
      else return sr::fail("--attention " + value + ": unknown kind", "use flash or gemm");
    }
    else if (arg == "--layers") ok = number(o.model.layers);
    else if (arg == "--heads") ok = number(o.model.heads);
    else if (arg == "--width") ok = number(o.model.channels);
    else if (arg == "--vocab") ok = number(o.model.vocab);
    else if (arg == "--padded-vocab") ok = number(o.model.padded_vocab);
    else if (arg == "--max-seq") ok = number(o.model.max_seq);
    else if (arg == "--batch") ok = number(o.batch);
    else if (arg == "--seq") ok = number(o.seq);
    else if (arg == "--grad-accum") ok = number(o.grad_accum);
    else if (arg == "--steps") ok = number(o.steps);
    else if (arg == "--lr") ok = number(o.opt.lr);
    else if (arg == "--warmup") ok = number(o.opt.warmup_steps);
    else if (arg == "--warmdown") ok = number(o.opt.warmdown_steps);
    else if (arg == "--muon-lr") ok = number(o.opt.muon_lr);
    else if (arg == "--muon-momentum") ok = number(o.opt.muon_momentum);
    else if (arg == "--ns-steps") ok = number(o.opt.ns_steps);
    else if (arg == "--weight-decay") ok = number(o.opt.weight_decay);
    else if (arg == "--val-every") ok = number(o.val_every);
    else if (arg == "--val-tokens") ok = number(o.val_tokens);
    else if (arg == "--untimed-steps") ok = number(o.untimed_steps);
    else if (arg == "--seed") ok = number(o.seed);
    else if (arg == "--nproc") ok = number(o.nproc);
    else if (arg == "--synthetic-tokens") ok = number(o.synthetic_tokens);
    else if (arg == "--target-val-loss") {
      double t = 0;
      ok = number(t);
      o.target_val_loss = t;
    } else return sr::fail("unknown option " + arg, "see --help");
    if (!ok) return sr::fail("option " + arg + " needs a number, got '" + value + "'", "see --help");
  }
  if (!o.synthetic_dir.empty()) return o;
  if (const std::string p = o.model.problem(); !p.empty()) return sr::fail("model shape: " + p, "fix --width/--heads/--vocab");
  if (o.train.empty() || o.val.empty()) return sr::fail("--train and --val are required", "point them at .bin shards");
  if (o.batch < 1 || o.seq < 1 || o.seq > o.model.max_seq || o.grad_accum < 1 || o.steps < 1)
    return sr::fail("--batch, --grad-accum and --steps must be >= 1 and --seq in [1, max_seq " +
                    std::to_string(o.model.max_seq) + "]");
  if (o.seq % 8 != 0) return sr::fail("--seq must be a multiple of 8 (aligned attention rows)");
  return o;
}

// A learnable stream for smoke tests: a fixed random successor for each token
// (90%) or a random token (10%), with <|endoftext|> opening a document every
// ~600 tokens. Its best loss is about 0.1*ln(V) + H(0.9) ~ 1.4 nats for GPT-2's vocabulary.
sr::Result<void> write_synthetic(const std::string& dir, long long tokens, int vocab) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return sr::fail(dir + ": cannot create: " + ec.message());
  // <|endoftext|> where the vocabulary has it (GPT-2's), else the last id
  const auto document_start = std::uint16_t(std::min(vocab - 1, int(sr::data::end_of_text)));
  const int usable = document_start;
  std::mt19937_64 rng(20240520);
  std::vector<std::uint16_t> successor(usable);
  for (auto& s : successor) s = std::uint16_t(rng() % usable);
  auto make = [&](long long n) {
    std::vector<std::uint16_t> out(n);
    std::uint16_t cur = document_start;
    for (long long i = 0; i < n; ++i) {
      if (rng() % 600 == 0) cur = document_start;
      else if (cur >= usable || rng() % 10 == 0) cur = std::uint16_t(rng() % usable);
      else cur = successor[cur];
      out[i] = cur;
    }
    return out;
  };
  auto train = make(tokens), val = make(std::max(tokens / 10, 1LL << 20));
  if (auto r = sr::data::write_shard(std::filesystem::path(dir) / "synthetic_train_000000.bin", train); !r) return r;
  return sr::data::write_shard(std::filesystem::path(dir) / "synthetic_val_000000.bin", val);
}

int run(const Options& o) {
  auto dist_or = cu::init_distributed(o.nccl_id_file);
  if (!dist_or) {
    std::fprintf(stderr, "speedrun-train-gpt2: %s\n", dist_or.error().message().c_str());
    return 2;
  }
  cu::Distributed dist = *dist_or;
  const bool main_rank = dist.is_main();
  auto train = cu::TokenLoader::open(o.train, o.batch, o.seq, dist.rank, dist.world, o.model.vocab);
  auto val = cu::TokenLoader::open(o.val, o.batch, o.seq, dist.rank, dist.world, o.model.vocab);
  for (auto* loader : {&train, &val})
    if (!*loader) {
      std::fprintf(stderr, "speedrun-train-gpt2: %s\n", loader->error().message().c_str());
      return 2;
    }
  const long long tokens_per_batch = (long long)o.batch * o.seq * dist.world;
  const int val_steps = int(std::max(1LL, o.val_tokens / tokens_per_batch));

  cudaStream_t stream;
  CUDA_CHECK(cudaStreamCreate(&stream));
  cu::GPT2 model(o.model, o.batch, o.seq, o.seed, stream, o.attention);
  if (main_rank) {
    cudaDeviceProp prop{};
    CUDA_CHECK(cudaGetDeviceProperties(&prop, dist.local_rank));
    std::printf("model: %d layers, %d heads, width %d, vocab %d (padded %d), %zu parameters\n", o.model.layers,
                o.model.heads, o.model.channels, o.model.vocab, o.model.padded_vocab, model.layout().count);
    std::printf("batch: %d x %d tokens x %d micro-steps x %d GPUs (%s) = %lld tokens per step; %d val batches\n",
                o.batch, o.seq, o.grad_accum, dist.world, prop.name, tokens_per_batch * o.grad_accum, val_steps);
    std::printf("attention: %s; device memory for the model: %.2f GiB per GPU\n",
                model.attention() == cu::Attention::flash ? "flash" : "gemm", double(model.device_bytes()) / (1 << 30));
    std::fflush(stdout);
  }

  std::vector<int> inputs, targets;
  auto fail_batch = [&](const sr::Error& e) {
    std::fprintf(stderr, "speedrun-train-gpt2: rank %d: %s\n", dist.rank, e.message().c_str());
    return 2;
  };
  // train_time sums the training steps after the first untimed_steps (the
  // records leave warm-up out); validation is never counted. Each step ends
  // with a loss read-back, so host time brackets the device work.
  double train_ms = 0, last_val = NAN, last_train = NAN;
  int timed_steps = 0, steps_done = 0;
  bool reached = false;
  using clock = std::chrono::steady_clock;

  for (int step = 0; step <= o.steps; ++step) {
    const bool last = step == o.steps;
    if (last || (o.val_every > 0 && step % o.val_every == 0)) {
      val->reset();
      model.reset_loss();
      for (int i = 0; i < val_steps; ++i) {
        if (auto r = val->next_batch(inputs, targets); !r) return fail_batch(r.error());
        model.forward(inputs.data(), targets.data(), 1.0f / (float(o.batch) * o.seq * val_steps));
      }
      cu::all_reduce_mean(dist, model.loss_accumulator(), 1, stream);
      last_val = model.loss();
      if (main_rank) {
        std::printf("step:%d/%d val_loss:%.4f train_time:%.0fms step_avg:%.2fms\n", step, o.steps, last_val, train_ms,
                    timed_steps > 0 ? train_ms / timed_steps : 0.0);
        std::fflush(stdout);
      }
      if (o.target_val_loss && last_val <= *o.target_val_loss) {
        reached = true;
        break;
      }
    }
    if (last) break;
    const auto start = clock::now();
    model.zero_grad();
    model.reset_loss();
    for (int micro = 0; micro < o.grad_accum; ++micro) {
      if (auto r = train->next_batch(inputs, targets); !r) return fail_batch(r.error());
      model.forward(inputs.data(), targets.data(), 1.0f / (float(o.batch) * o.seq * o.grad_accum));
      model.backward();
    }
    cu::all_reduce_mean(dist, model.grads(), model.layout().total, stream);
    cu::all_reduce_mean(dist, model.loss_accumulator(), 1, stream);
    model.update(o.opt, o.opt.lr_at(step, o.steps), step + 1, dist);
    last_train = model.loss();  // waits for the step
    steps_done = step + 1;
    if (step >= o.untimed_steps) {
      train_ms += std::chrono::duration<double, std::milli>(clock::now() - start).count();
      ++timed_steps;
    }
    if (!std::isfinite(last_train)) {
      std::fprintf(stderr, "speedrun-train-gpt2: training loss became %f at step %d\n", last_train, step + 1);
      return 1;
    }
    if (main_rank) {
      std::printf("step:%d/%d train_loss:%.4f train_time:%.0fms step_avg:%.2fms\n", step + 1, o.steps, last_train,
                  train_ms, timed_steps > 0 ? train_ms / timed_steps : 0.0);
      std::fflush(stdout);
    }
  }

  if (main_rank && !o.summary.empty()) {
    // Numbers and booleans only, so no escaping is needed (and no JSON library:
    // GPU images may lack Boost.JSON's compiled part).
    auto num = [](double x) { return std::isfinite(x) ? std::to_string(x) : std::string("null"); };
    std::ofstream out(o.summary);
    out << "{\"steps\": " << steps_done << ", \"target_steps\": " << o.steps
        << ", \"final_val_loss\": " << num(last_val) << ", \"final_train_loss\": " << num(last_train)
        << ", \"train_time_ms\": " << num(train_ms)
        << ", \"step_avg_ms\": " << num(timed_steps > 0 ? train_ms / timed_steps : 0.0)
        << ", \"tokens_per_step\": " << tokens_per_batch * o.grad_accum << ", \"world_size\": " << dist.world
        << ", \"reached_target\": " << (reached ? "true" : "false")
        << ", \"target_val_loss\": " << (o.target_val_loss ? num(*o.target_val_loss) : std::string("null"))
        << ", \"model\": {\"layers\": " << o.model.layers << ", \"heads\": " << o.model.heads
        << ", \"width\": " << o.model.channels << ", \"vocab\": " << o.model.vocab
        << ", \"padded_vocab\": " << o.model.padded_vocab << ", \"seq\": " << o.seq
        << ", \"parameters\": " << model.layout().count << "}}\n";
    if (!out) std::fprintf(stderr, "speedrun-train-gpt2: %s: cannot write the summary\n", o.summary.c_str());
  }
  CUDA_CHECK(cudaStreamSynchronize(stream));
  cu::finalize_distributed(dist);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto options = parse(argc, argv);
  if (!options) {
    std::fprintf(stderr, "speedrun-train-gpt2: %s\n", options.error().message().c_str());
    return 2;
  }
  if (!options->synthetic_dir.empty()) {
    if (auto r = write_synthetic(options->synthetic_dir, options->synthetic_tokens, options->model.vocab); !r) {
      std::fprintf(stderr, "speedrun-train-gpt2: %s\n", r.error().message().c_str());
      return 2;
    }
    std::printf("wrote synthetic shards to %s\n", options->synthetic_dir.c_str());
    return 0;
  }
  if (options->nproc > 1 && std::getenv("SPEEDRUN_WORLD_SIZE") == nullptr)
    return cu::launch_local(options->nproc, argc, argv);
  return run(*options);
}
