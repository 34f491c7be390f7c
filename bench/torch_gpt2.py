"""The PyTorch baseline for bench-gpt2: the same GPT-2 (record-1 shape, tied
head, padded vocabulary), bf16 autocast over fp32 weights, SDPA causal
attention, torch.compile, fused AdamW (0.9/0.95, decay on 2-D weights) and
global-norm clipping; times full training steps with CUDA events and prints
the median, in the same BENCH line format as bench-gpt2."""
import argparse
import math
import statistics

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, C, NH):
        super().__init__()
        self.NH = NH
        self.ln_1 = nn.LayerNorm(C)
        self.c_attn = nn.Linear(C, 3 * C)
        self.attn_proj = nn.Linear(C, C)
        self.ln_2 = nn.LayerNorm(C)
        self.c_fc = nn.Linear(C, 4 * C)
        self.mlp_proj = nn.Linear(4 * C, C)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.NH, C // self.NH).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.attn_proj(y.transpose(1, 2).contiguous().view(B, T, C))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, V, Vp, T, L, NH, C):
        super().__init__()
        self.V = V
        self.wte = nn.Embedding(Vp, C)
        self.wpe = nn.Embedding(T, C)
        self.blocks = nn.ModuleList(Block(C, NH) for _ in range(L))
        self.ln_f = nn.LayerNorm(C)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * L) if name.endswith("proj.weight") else 0.02
                nn.init.normal_(p, 0.0, std)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, idx, targets):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(T, device=idx.device))
        for block in self.blocks:
            x = block(x)
        logits = F.linear(self.ln_f(x), self.wte.weight)  # tied head
        return F.cross_entropy(logits.float().view(-1, logits.size(-1)), targets.reshape(-1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="32,64")
    ap.add_argument("--seq", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--attention", default="flash")  # bench-gpt2's option, ignored here
    ap.add_argument("--profile", type=int, default=0,
                    help="after timing, profile this many steps and print the kernels by GPU time")
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.backends.cuda.matmul.allow_tf32 = True
    dev = "cuda"
    V, Vp, L, NH, C, T = 50257, 50304, 12, 12, 768, args.seq
    flops_token = 6 * 124475904 + 6 * L * C * T
    print(f"card: {torch.cuda.get_device_name()}; torch {torch.__version__}", flush=True)
    for B in (int(b) for b in args.batches.split(",")):
        model = GPT(V, Vp, T, L, NH, C).to(dev)
        decay = [p for p in model.parameters() if p.dim() >= 2]
        other = [p for p in model.parameters() if p.dim() < 2]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}],
                                lr=6e-4, betas=(0.9, 0.95), eps=1e-8, fused=True)
        compiled = torch.compile(model)
        data = [torch.randint(0, V, (B, T + 1), device=dev) for _ in range(4)]
        torch.cuda.reset_peak_memory_stats()
        times = []

        def step(d):
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = compiled(d[:, :-1], d[:, 1:])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            return loss

        for s in range(args.warmup + args.steps):
            d = data[s % len(data)]
            start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            loss = step(d)
            stop.record()
            loss.item()
            if s >= args.warmup:
                times.append(start.elapsed_time(stop))
        if args.profile > 0:
            from torch.profiler import profile, ProfilerActivity
            with profile(activities=[ProfilerActivity.CUDA]) as prof:
                for s in range(args.profile):
                    step(data[s % len(data)]).item()
            key = "self_device_time_total"
            try:
                table = prof.key_averages().table(sort_by=key, row_limit=40, max_name_column_width=90)
            except (AttributeError, KeyError, ValueError):
                table = prof.key_averages().table(sort_by="self_cuda_time_total", row_limit=40,
                                                  max_name_column_width=90)
            print(f"torch kernels at batch {B}, {args.profile} steps:\n{table}", flush=True)
        ms = statistics.median(times)
        tok_s = B * T / (ms / 1e3)
        mfu = flops_token * tok_s / 989.4e12
        mem = torch.cuda.max_memory_allocated() / 2**30
        print(f"{'torch':<9} {B:<6} {ms:10.2f} {min(times):10.2f} {tok_s:12.0f} {100 * mfu:6.1f}% {mem:10.2f}")
        print(f"BENCH impl=torch batch={B} ms={ms:.3f} tokens_per_s={tok_s:.0f} mfu={mfu:.4f} mem_gib={mem:.2f}",
              flush=True)
        del model, opt, compiled, data
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
