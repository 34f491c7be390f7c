#!/usr/bin/env python3
"""Each record template side by side with the original record's PyTorch script, on one GPU.

Both train the same mini-track tokens, 32 x 1024 tokens a step, for the same steps with the same
schedule (the template's mini settings from its run.sh, warmup and warmdown scaled to --steps;
every *_lr as it is; what the original hard-codes, such as Muon's 500-step momentum warmup of
records 9-11, stays at the record's value on both sides: our trainers' defaults are the record's),
and validate at the same steps. Printed per record: ms per step (the median, of the per-step times, or
of 10-step windows where a log prints train_time in whole ms, and the mean; steps 1-10, and the
original record 1's steps that also timed a validation, left out; with the 10th-90th percentile
spread), tokens/s, MFU by one FLOP count for both (6 x our parameter count + 6 x layers x width x
sequence, per token; dense bf16 peak of the card), the peak GPU memory in use while it ran
(nvidia-smi, sampled every 100 ms; the run is alone on the GPU), the validation loss at the last
step both reached, and the ratio original/ours of the mean ms per step.

Two steps, because the original scripts never enter the repository:
  here:      bench/versus_original.py prepare --mirror MIRROR_GIT --tool ../shared/tools/upstream-record \\
                 --out .dev/upstream [--records "1 5"] [--steps 300] [--val-every 100]
             writes .dev/upstream/record_R.py (the original, patched for one GPU with these settings)
             and .dev/upstream/plan.json; .dev is git-ignored: carry it to the device.
  on a GPU:  bench/versus_original.py run --upstream .dev/upstream --train 'data/mini/mini_train_*.bin' \\
                 --val 'data/mini/mini_val_*.bin' [--out DIR]
             builds each template, runs ours then the original for each record, writes the logs and
             table.txt into DIR (default $OUT or ./versus-out) and prints the table.
Stand-ins for tests: VERSUS_TORCHRUN replaces `torchrun --standalone --nproc_per_node=1`,
VERSUS_NVIDIA_SMI replaces nvidia-smi, VERSUS_TEMPLATES the templates' folder, VERSUS_NO_BUILD=1
skips build.sh (build/train_gpt2 must exist)."""
import argparse
import json
import os
import pathlib
import re
import shlex
import statistics
import subprocess
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
TEMPLATES = pathlib.Path(os.environ.get("VERSUS_TEMPLATES", ROOT / "workspace_templates" / "nanogpt_speedrun"))
SEQ, BATCH = 1024, 32
PEAK_TFLOPS = {"H100": 989.4, "H200": 989.4}  # dense bf16, SXM


def die(what, fix=""):
    print(f"versus_original: {what}" + (f"\n  fix: {fix}" if fix else ""), file=sys.stderr)
    sys.exit(2)


def mini_settings(record):
    """The template's mini-track line of run.sh as a dict (steps, warmup, warmdown, lr, muon_lr, ...)."""
    text = (TEMPLATES / f"record_{record}" / "run.sh").read_text()
    m = re.search(r"^\s*mini\).*?\n(\s*global_batch=[^\n]*)", text, re.S | re.M)
    if not m:
        die(f"record_{record}/run.sh has no mini settings line", "keep its 'mini)' case with global_batch=...")
    return dict(kv.split("=", 1) for kv in m.group(1).replace(";", " ").split() if "=" in kv)


def scaled_schedule(record, steps, val_every):
    """Our trainer's flags and the original's fields for `steps` steps of the template's mini schedule."""
    s = mini_settings(record)
    full = int(s["steps"])
    warmup = round(int(s.get("warmup", 0)) * steps / full)
    warmdown = round(int(s.get("warmdown", 0)) * steps / full) if "warmdown" in s else None
    ours = ["--steps", str(steps), "--warmup", str(warmup), "--val-every", str(val_every)]
    if warmdown is not None:
        ours += ["--warmdown", str(warmdown)]
    for key in (k for k in s if k == "lr" or k.endswith("_lr")):  # lr, muon_lr, embed_lr, head_lr, ...
        ours += ["--" + key.replace("_", "-"), s[key]]
    fields = {"num_iterations": steps, "val_loss_every": val_every}
    if record <= 3:  # batch_size is per GPU; records 1-2 check total_batch_size against it
        fields["batch_size"] = BATCH
        if record <= 2:
            fields["total_batch_size"] = BATCH * SEQ
        fields["warmup_iters"] = warmup
    else:  # batch_size is across GPUs, device_batch_size per GPU
        fields["batch_size"] = BATCH
        fields["device_batch_size"] = BATCH
    if warmdown is not None:
        fields["warmdown_iters"] = warmdown
    if record == 1:
        fields["learning_rate"] = float(s["lr"])
    return ours, fields


def prepare(a):
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    records = [int(r) for r in a.records.split()]
    plan = {"steps": a.steps, "val_every": a.val_every, "val_tokens": a.val_tokens, "records": {}}
    for r in records:
        ours, fields = scaled_schedule(r, a.steps, a.val_every)
        if r <= 3:  # records 1-3 validate val_max_steps batches, not val_tokens
            fields["val_max_steps"] = max(1, a.val_tokens // (BATCH * SEQ))
        sets = [f"{k}={v}" for k, v in fields.items()]
        script = out / f"record_{r}.py"
        done = subprocess.run([a.tool, a.mirror, str(r), str(script), *sets], capture_output=True, text=True)
        if done.returncode != 0 or not script.exists():
            die(f"upstream-record could not write {script}: {done.stdout.strip()} {done.stderr.strip()}",
                "check --mirror (the fetch tool's git directory) and --tool")
        plan["records"][str(r)] = {"ours": ours, "original_fields": fields}
        print(f"record {r}: {script} ({' '.join(sets)})")
    (out / "plan.json").write_text(json.dumps(plan, indent=1) + "\n")


class MemoryPeak:
    """Peak of nvidia-smi's memory.used (MiB) of GPU 0 while the block runs (the run is alone on it)."""

    def __init__(self):
        self.peak, self._stop = None, threading.Event()

    def _read(self):
        cmd = shlex.split(os.environ.get("VERSUS_NVIDIA_SMI", "nvidia-smi")) + [
            "--query-gpu=memory.used", "--format=csv,noheader,nounits", "--id=0"]
        try:
            return int(subprocess.run(cmd, capture_output=True, text=True, timeout=5).stdout.split()[0])
        except (OSError, ValueError, IndexError, subprocess.SubprocessError):
            return None

    def _loop(self):
        while not self._stop.wait(0.1):
            v = self._read()
            if v is not None:
                self.peak = max(self.peak or 0, v)

    def __enter__(self):
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def parse(log, original_record_1=False):
    """Per-step ms after step 10, validation losses by step, our parameter count and the GPU name."""
    text = pathlib.Path(log).read_text(errors="replace")
    vals = {int(s): float(v) for s, v in re.findall(r"step:(\d+)/\d+ val_loss:([0-9.]+)", text)}
    per_step = []
    if original_record_1:
        # "step    k/N | train loss ... | (X ms | Y tok/s)"; "val loss X" after k steps. The step after
        # a validation times the validation too (6.5 s of 1M tokens on an H100): left out, as our
        # train_time leaves validation out.
        last, after_val = 0, False
        for k, ms, val in re.findall(r"step\s+(\d+)/\d+ \| train loss .*?\(([0-9.]+) ms|val loss ([0-9.]+)", text):
            if val:
                vals[last], after_val = float(val), True
                continue
            last = int(k)
            if last > 10 and not after_val:
                per_step.append(float(ms))
            after_val = False
        mean = statistics.fmean(per_step) if per_step else None
    else:  # cumulative "step:k/N train_loss:X train_time:Tms"
        cum = {int(k): float(t) for k, t in re.findall(r"step:(\d+)/\d+ train_loss:[0-9.naif]+ train_time:([0-9.]+)ms",
                                                        text)}
        steps = sorted(k for k in cum if k >= 10)
        # train_time is printed in whole ms: a step's own time would be quantised to 1 ms, so the
        # median and spread are over windows of 10 steps (0.1 ms)
        per_step = [(cum[a + 10] - cum[a]) / 10 for a in steps[::10] if a + 10 in cum]
        mean = (cum[steps[-1]] - cum[steps[0]]) / (steps[-1] - steps[0]) if len(steps) > 1 else None
    params = re.search(r"width (\d+).*?(\d+) parameters", text)
    layers = re.search(r"model: (\d+) layers", text)
    gpu = re.search(r"GPUs \(([^)]*)\)", text)
    return {"per_step": per_step, "mean": mean, "vals": vals,
            "params": int(params.group(2)) if params else None, "width": int(params.group(1)) if params else None,
            "layers": int(layers.group(1)) if layers else None, "gpu": gpu.group(1) if gpu else None}


def percentile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))] if xs else None


def run(a):
    up = pathlib.Path(a.upstream).resolve()  # the runs start in the output folder
    try:
        plan = json.loads((up / "plan.json").read_text())
    except (OSError, ValueError) as e:
        die(f"{up / 'plan.json'} cannot be read ({e})", "write it with: bench/versus_original.py prepare ...")
    out = pathlib.Path(a.out or os.environ.get("OUT", "versus-out"))
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, NANOGPT_TRAIN_FILES=a.train, NANOGPT_VAL_FILES=a.val,
               NANOGPT_VAL_TOKENS=str(plan["val_tokens"]), PYTHONUNBUFFERED="1")
    torchrun = shlex.split(os.environ.get("VERSUS_TORCHRUN", "torchrun --standalone --nproc_per_node=1"))
    rows = []
    for r, spec in sorted(plan["records"].items(), key=lambda kv: int(kv[0])):
        tdir = TEMPLATES / f"record_{r}"
        if os.environ.get("VERSUS_NO_BUILD") != "1":
            b = subprocess.run([str(tdir / "build.sh")], capture_output=True, text=True)
            if b.returncode != 0:
                print(f"record {r}: build failed\n{b.stdout}{b.stderr}", file=sys.stderr)
                continue
        results = {}
        for impl, cmd in (("ours", [str(tdir / "build" / "train_gpt2"), "--train", a.train, "--val", a.val, "--batch",
                                    str(BATCH), "--seq", str(SEQ), "--val-tokens", str(plan["val_tokens"]), *spec["ours"]]),
                          ("original", [*torchrun, str(up / f"record_{r}.py")])):
            log = out / f"record_{r}_{impl}.log"
            start = time.time()
            with MemoryPeak() as mem, open(log, "w") as f:
                rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=out).returncode
            parsed = parse(log, original_record_1=(impl == "original" and r == "1"))
            parsed.update(rc=rc, wall=time.time() - start, mem=mem.peak)
            results[impl] = parsed
            print(f"record {r} {impl}: rc {rc}, {parsed['wall']:.0f} s, log {log}", flush=True)
        rows.append((int(r), results))
    table = format_table(rows, plan)
    (out / "table.txt").write_text(table)
    print(table)
    return 0 if all(res[i]["rc"] == 0 for _, res in rows for i in res) else 1


def format_table(rows, plan):
    ours_any = next((res["ours"] for _, res in rows if res["ours"]["params"]), None)
    gpu = ours_any["gpu"] if ours_any else None
    peak = next((v for k, v in PEAK_TFLOPS.items() if gpu and k in gpu), None)
    lines = [f"{plan['steps']} steps of {BATCH} x {SEQ} tokens, validation every {plan['val_every']} "
             f"({plan['val_tokens']} tokens); card: {gpu or 'unknown'}; steps 1-10 left out of the times",
             f"{'R':>2} {'impl':<8} {'ms/step med':>11} {'mean':>8} {'p10-p90':>13} {'tok/s':>9} {'MFU':>6} "
             f"{'peak MiB':>9} {'val@step':>14} {'orig/ours':>9}"]
    for r, res in rows:
        ours = res.get("ours", {})
        common = sorted(set(ours.get("vals", {})) & set(res.get("original", {}).get("vals", {})))
        at = common[-1] if common else None
        for impl in ("ours", "original"):
            p = res.get(impl)
            if not p:
                continue
            med = statistics.median(p["per_step"]) if p["per_step"] else None
            lo, hi = percentile(p["per_step"], 0.1), percentile(p["per_step"], 0.9)
            tok = BATCH * SEQ / (p["mean"] / 1000) if p["mean"] else None
            mfu = None
            if tok and peak and ours.get("params"):
                flops = 6 * ours["params"] + 6 * ours["layers"] * ours["width"] * SEQ
                mfu = tok * flops / (peak * 1e12)
            val = f"{p['vals'][at]:.4f}@{at}" if at is not None else "-"
            ratio = ""
            if impl == "original" and p["mean"] and ours.get("mean"):
                ratio = f"{p['mean'] / ours['mean']:.3f}"
            f = lambda v, spec: format(v, spec) if v is not None else "-"
            lines.append(f"{r:>2} {impl:<8} {f(med, '11.2f')} {f(p['mean'], '8.2f')} "
                         f"{(f(lo, '.1f') + '-' + f(hi, '.1f')):>13} {f(tok, '9.0f')} "
                         f"{(f(mfu * 100, '.1f') + '%') if mfu else '-':>6} {f(p['mem'], '9d')} {val:>14} {ratio:>9}"
                         + ("" if p["rc"] == 0 else f"  (rc {p['rc']})"))
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--mirror", required=True)
    p.add_argument("--tool", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--records", default=" ".join(sorted((d.name[7:] for d in TEMPLATES.glob("record_*")
                                                          if d.name[7:].isdigit()), key=int)),
                   help="records to prepare (default: every template present)")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--val-every", type=int, default=100)
    p.add_argument("--val-tokens", type=int, default=1048576)
    q = sub.add_parser("run")
    q.add_argument("--upstream", required=True)
    q.add_argument("--train", required=True)
    q.add_argument("--val", required=True)
    q.add_argument("--out")
    a = ap.parse_args()
    if a.cmd == "prepare":
        if a.steps < 20 or a.val_every < 1:
            die("--steps must be at least 20 and --val-every at least 1", "e.g. --steps 300 --val-every 100")
        return prepare(a) or 0
    return run(a)


if __name__ == "__main__":
    sys.exit(main())
