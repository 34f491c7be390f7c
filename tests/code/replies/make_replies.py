#!/usr/bin/env python3
"""Writes the corpus of model replies the edit formats are tested against
(tests/code/replies/*.jsonl; run from anywhere, rerun after changing it).

Each line is one reply as a model might write it, in our own words: the
version it edits (its files are in versions.json), the files the model was
asked to edit, the reply, and what must come of it -- the files it changes or
creates (`expect.files`; every other file stays as it was) and, for a reply
that is refused in whole or in part, a text the message to the model holds
(`expect.refused`). The patterns follow what models are
seen to produce in the SEARCH/REPLACE, whole-file and unified-diff formats:
prose around blocks, several fence styles, paths written loosely, `...`
between blocks, blank first lines, doubled dividers, fenced REPLACE parts.
The expected files are computed here by plain string replacement, never by
the parsers under test.
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------- versions
TRAIN_PY = '''import math
import time

import torch
from model import GPT, GPTConfig


def get_lr(step, warmup=200, total=5000, peak=6e-4):
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * 0.5 * (1.0 + math.cos(math.pi * progress))


def main():
    config = GPTConfig(n_layer=12, n_head=12, n_embd=768)
    model = GPT(config).cuda()
    optimizer = torch.optim.AdamW(model.parameters(), lr=6e-4, weight_decay=0.1)

    for step in range(5000):
        t0 = time.time()
        for group in optimizer.param_groups:
            group["lr"] = get_lr(step)
        loss = model.train_step()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step % 100 == 0:
            print(f"step {step} loss {loss.item():.4f} dt {time.time() - t0:.3f}s")


if __name__ == "__main__":
    main()
'''

MODEL_PY = '''import torch
import torch.nn as nn
import torch.nn.functional as F


class GPTConfig:
    def __init__(self, n_layer=12, n_head=12, n_embd=768, vocab_size=50304, block_size=1024):
        self.n_layer = n_layer
        self.n_head = n_head
        self.n_embd = n_embd
        self.vocab_size = vocab_size
        self.block_size = block_size


class MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=False)
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=False)

    def forward(self, x):
        x = self.c_fc(x)
        x = F.gelu(x)
        return self.c_proj(x)


class Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd)
        self.mlp = MLP(config)

    def forward(self, x):
        return x + self.mlp(self.ln_1(x))
'''

ATTN_CU = '''// Causal self-attention forward for head size 64.
#include <cuda_runtime.h>

#include "common.cuh"

constexpr int kHeadSize = 64;
constexpr int kBlockRows = 64;

__global__ void attention_forward_kernel(const float* qkv, float* out, int B, int T, int NH) {
    int row = blockIdx.x * kBlockRows + threadIdx.y;
    if (row >= T) return;
    float scale = 1.0f / sqrtf((float)kHeadSize);
    float running_max = -INFINITY;
    float running_sum = 0.0f;
    for (int col = 0; col <= row; ++col) {
        float score = dot_qk(qkv, row, col) * scale;
        float next_max = fmaxf(running_max, score);
        running_sum = running_sum * expf(running_max - next_max) + expf(score - next_max);
        running_max = next_max;
    }
    out[row] = running_sum;
}

void attention_forward(const float* qkv, float* out, int B, int T, int NH, cudaStream_t stream) {
    dim3 grid((T + kBlockRows - 1) / kBlockRows, B * NH);
    dim3 block(32, kBlockRows);
    attention_forward_kernel<<<grid, block, 0, stream>>>(qkv, out, B, T, NH);
    cudaCheck(cudaGetLastError());
}
'''

TRAIN_CU = '''// Entry point of the CUDA training run.
#include <cstdio>
#include <cstdlib>

#include "kernels/attention.cu"

struct TrainConfig {
    int batch_size = 8;
    int seq_len = 1024;
    int num_iterations = 5000;
    float learning_rate = 6e-4f;
    float weight_decay = 0.1f;
};

int main(int argc, char** argv) {
    TrainConfig cfg;
    if (argc > 1) cfg.num_iterations = atoi(argv[1]);
    printf("batch %d seq %d iters %d\\n", cfg.batch_size, cfg.seq_len, cfg.num_iterations);
    for (int step = 0; step < cfg.num_iterations; ++step) {
        float lr = cfg.learning_rate;
        if (step < 100) lr *= (step + 1) / 100.0f;
        train_step(lr, cfg.weight_decay);
    }
    return 0;
}
'''

UTILS_A = '''def log(msg):
    print(msg, flush=True)
'''
UTILS_B = '''def shard_path(i):
    return f"data/shard_{i:04d}.bin"
'''
CONFIG_YAML = '''run:
  name: baseline
  seed: 1337
optimizer:
  lr: 0.0006
  betas: [0.9, 0.95]
  weight_decay: 0.1
schedule:
  warmup_steps: 200
  total_steps: 5000
'''

VERSIONS = {
    "py": {"files": {"train.py": TRAIN_PY, "model.py": MODEL_PY}, "entry": ["train.py", "model.py"]},
    "py1": {"files": {"train.py": TRAIN_PY}, "entry": ["train.py"]},
    "cu": {"files": {"kernels/attention.cu": ATTN_CU, "train_gpt.cu": TRAIN_CU},
           "entry": ["kernels/attention.cu", "train_gpt.cu"]},
    "dup": {"files": {"train.py": TRAIN_PY, "src/utils.py": UTILS_A, "tools/utils.py": UTILS_B,
                      "conf/run-config.yaml": CONFIG_YAML},
            "entry": ["train.py", "src/utils.py", "tools/utils.py", "conf/run-config.yaml"]},
}

LANG = {".py": "python", ".cu": "cuda", ".yaml": "yaml"}


def lang(path):
    return LANG.get(os.path.splitext(path)[1], "")


# ---------------------------------------------------------------- changes
# A change: (version, [(path, old, new), ...]); every `old` occurs once in its
# file (checked below), and the pieces of one file come in file order.
CHANGES = [
    ("py1", [("train.py", "def get_lr(step, warmup=200, total=5000, peak=6e-4):\n",
              "def get_lr(step, warmup=100, total=5000, peak=8e-4):\n")]),
    ("py1", [("train.py", "        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n",
              "        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)\n")]),
    ("py1", [("train.py",
              "    optimizer = torch.optim.AdamW(model.parameters(), lr=6e-4, weight_decay=0.1)\n",
              "    optimizer = torch.optim.AdamW(model.parameters(), lr=6e-4, weight_decay=0.1, fused=True)\n"),
             ("train.py",
              "        if step % 100 == 0:\n",
              "        if step % 50 == 0:\n")]),
    ("py", [("model.py", "        x = F.gelu(x)\n", "        x = F.relu(x).square()\n")]),
    ("py", [("model.py",
             "        self.ln_1 = nn.LayerNorm(config.n_embd)\n",
             "        self.ln_1 = nn.LayerNorm(config.n_embd, bias=False)\n"),
            ("train.py",
             "    config = GPTConfig(n_layer=12, n_head=12, n_embd=768)\n",
             "    config = GPTConfig(n_layer=12, n_head=6, n_embd=768)\n")]),
    ("cu", [("kernels/attention.cu", "constexpr int kBlockRows = 64;\n", "constexpr int kBlockRows = 32;\n")]),
    ("cu", [("train_gpt.cu", "    float learning_rate = 6e-4f;\n", "    float learning_rate = 1e-3f;\n"),
            ("train_gpt.cu", "        if (step < 100) lr *= (step + 1) / 100.0f;\n",
             "        if (step < 250) lr *= (step + 1) / 250.0f;\n")]),
    ("cu", [("kernels/attention.cu",
             "    float scale = 1.0f / sqrtf((float)kHeadSize);\n",
             "    const float scale = rsqrtf((float)kHeadSize);\n")]),
    ("dup", [("conf/run-config.yaml", "  lr: 0.0006\n", "  lr: 0.0008\n")]),
    ("dup", [("train.py", "            group[\"lr\"] = get_lr(step)\n",
              "            group[\"lr\"] = get_lr(step) * 0.5\n")]),
]


def context(version, path, old):
    """The line before `old` in the file (to give a SEARCH a little context)."""
    text = VERSIONS[version]["files"][path]
    if old not in text:
        return ""
    at = text.index(old)
    before = text[:at].splitlines(keepends=True)
    return before[-1] if before else ""


def after(version, change):
    files = dict(VERSIONS[version]["files"])
    for path, old, new in change:
        assert files[path].count(old) == 1, (path, old)
        files[path] = files[path].replace(old, new, 1)
    return files


def group_by_file(change):
    out = []
    for path, old, new in change:
        if out and out[-1][0] == path:
            out[-1][1].append((old, new))
        else:
            out.append((path, [(old, new)]))
    return out


records = {"search_replace": [], "whole_file": [], "unified_diff": []}


def add(fmt, pattern, version, reply, files=None, refused=None, entry=None):
    v = VERSIONS[version]
    # Only the files the reply changes or creates; the others must stay as they were.
    expect = {"files": {p: t for p, t in (files or {}).items() if v["files"].get(p) != t}}
    if refused is not None:  # blocks that applied before the refused one are still written
        expect["refused"] = refused
    records[fmt].append({
        "id": f"{fmt}-{len(records[fmt]) + 1:03d}",
        "pattern": pattern,
        "version": version,
        "entry": entry if entry is not None else v["entry"],
        "reply": reply,
        "expect": expect,
    })


PROSE_BEFORE = [
    "I'll make the change described in the hypothesis.\n\n",
    "Here is the edit that implements this idea:\n\n",
    "Sure! The hypothesis only needs a small change.\n\n",
    "",
    "To test this, we change one line.\n\n",
]
PROSE_AFTER = [
    "\nThis keeps everything else as it was.\n",
    "",
    "\nLet me know if you want the schedule tuned further.\n",
    "\n",
    "\nWith this, the next run measures exactly this idea.\n",
]


# ------------------------------------------------------ SEARCH/REPLACE replies
def sr_block(path, old, new, *, fence=("```", "```"), path_style="line", ctx="", divider_end=None,
             wrap_replace=None, search_prefix=""):
    """One SEARCH/REPLACE block, in one of the ways models write them."""
    lang_ = lang(path)
    opener = fence[0].replace("LANG", lang_)
    head = {
        "line": f"{path}\n{opener}\n",
        "bold": f"**{path}**\n{opener}\n",
        "hash": f"# {path}\n{opener}\n",
        "tick": f"`{path}`\n{opener}\n",
        "colon": f"{path}:\n{opener}\n",
        "infence": f"{opener}\n{path}\n",
        "none": f"{opener}\n",
    }[path_style]
    replace = ctx + new
    if wrap_replace == "fence":
        replace = f"```{lang_}\n{replace}```\n"
    elif wrap_replace == "fence+path":
        replace = f"{path}\n```{lang_}\n{replace}```\n"
    tail = ">>>>>>> REPLACE\n"
    if divider_end == "divider":
        tail = "=======\n"
    elif divider_end == "both":
        tail = "=======\n>>>>>>> REPLACE\n"
    return (head + "<<<<<<< SEARCH\n" + search_prefix + ctx + old + "=======\n" + replace + tail +
            fence[1] + "\n")


FENCES = {
    "backticks": ("```LANG", "```"),
    "bare": ("```", "```"),
    "tildes": ("~~~LANG", "~~~"),
    "four": ("````LANG", "````"),
    "source": ("<source>", "</source>"),
    "source-lang": ("<source lang=\"LANG\">", "</source>"),
    "code": ("<code>", "</code>"),
}


def sr_reply(k, change, version, *, between="", **kw):
    parts = []
    prev = None
    for path, pieces in group_by_file(change):
        for i, (old, new) in enumerate(pieces):
            style = kw.get("path_style", "line")
            if between and prev == path:
                parts.append(between)
                style = "none"
            parts.append(sr_block(path, old, new, **{**kw, "path_style": style}))
            prev = path
    return PROSE_BEFORE[k % len(PROSE_BEFORE)] + "\n".join(parts) + PROSE_AFTER[k % len(PROSE_AFTER)]


def build_search_replace():
    fmt = "search_replace"
    for k, (version, change) in enumerate(CHANGES):
        want = after(version, change)
        # Fences and path styles models use.
        for j, fence in enumerate(FENCES):
            add(fmt, f"fence:{fence}", version, sr_reply(k + j, change, version, fence=FENCES[fence]), want)
        for j, style in enumerate(["bold", "hash", "tick", "colon", "infence"]):
            add(fmt, f"path:{style}", version, sr_reply(k + j, change, version, path_style=style), want)
        # `...` between two blocks of one file.
        if len(change) > 1 and change[0][0] == change[1][0]:
            for j, fence in enumerate(["backticks", "bare", "tildes", "source"]):
                add(fmt, f"ellipsis-between-blocks:{fence}", version,
                    sr_reply(k + j, change, version, between="...\n", fence=FENCES[fence]), want)
            add(fmt, "ellipsis-between-blocks:unicode", version, sr_reply(k, change, version, between="…\n"), want)
            # An empty SEARCH after `...` is for the same file: refused, and no file named `...` appears.
            path = change[0][0]
            add(fmt, "ellipsis-then-empty-search", version,
                sr_reply(k, change[:1], version) + "...\n```\n<<<<<<< SEARCH\n=======\n# appended\n>>>>>>> REPLACE\n```\n",
                after(version, change[:1]), refused=f"{path} already exists and is not empty")
        # A SEARCH part that opens with a blank line the file lacks there.
        path, old, new = change[0]
        ctx = context(version, path, old)
        if ctx.strip():
            add(fmt, "blank-first-search-line", version,
                sr_reply(k, change, version, search_prefix="\n"), want)
        # A REPLACE ended by a second divider, with and without the REPLACE marker.
        add(fmt, "replace-ends-at-divider", version, sr_reply(k, change, version, divider_end="divider"), want)
        add(fmt, "replace-ends-at-divider+marker", version, sr_reply(k, change, version, divider_end="both"), want)
        # A REPLACE part in a fence of its own.
        add(fmt, "fenced-replace", version, sr_reply(k, change, version, wrap_replace="fence"), want)
        add(fmt, "fenced-replace+path", version, sr_reply(k, change, version, wrap_replace="fence+path"), want)
        # Paths written loosely.
        for j, (style, loose) in enumerate(loose_paths(version, path)):
            reply = sr_reply(k + j, [(loose, old, new)] + [(p if p != path else loose, o, n) for p, o, n in change[1:]],
                             version)
            add(fmt, f"wrong-path:{style}", version, reply, want)
        # CRLF line endings in the reply.
        add(fmt, "crlf-reply", version, sr_reply(k, change, version).replace("\n", "\r\n"), want)
        # A SEARCH part the file does not hold (a line invented from memory).
        bad = old.replace("(", "( ", 1).replace("=", "==", 1).rstrip("\n") + "  # tuned\n"
        add(fmt, "search-not-in-file", version, sr_reply(k, [(path, bad, new)], version),
            refused="does not match any lines")
        # Prose with no block at all.
        add(fmt, "prose-only", version,
            f"I would change `{path}` so that {new.strip()[:30]} is used instead.\n", refused="holds no SEARCH/REPLACE block")
        # Cut off before the REPLACE marker.
        cut = sr_reply(k, change[:1], version)
        cut = cut[:cut.index("=======\n") + 8] + new
        add(fmt, "cut-off", version, cut, refused="cut off")
    # Ambiguous base names, refused with the candidates.
    add(fmt, "ambiguous-base-name", "dup",
        sr_reply(0, [("lib/utils.py", "def log(msg):\n", "def log(msg, level=0):\n")], "dup"),
        refused="could mean any of src/utils.py, tools/utils.py")
    add(fmt, "ambiguous-base-name", "dup",
        sr_reply(1, [("utils.py", "    print(msg, flush=True)\n", "    print(msg)\n")], "dup"),
        refused="could mean any of src/utils.py, tools/utils.py")
    # A suffix of the wanted path picks one of two same-named files.
    add(fmt, "wrong-path:prefixed-suffix", "dup",
        sr_reply(2, [("project/tools/utils.py", "def shard_path(i):\n", "def shard_path(i, root=\"data\"):\n")], "dup"),
        {**VERSIONS["dup"]["files"], "tools/utils.py": UTILS_B.replace("def shard_path(i):\n",
                                                                       "def shard_path(i, root=\"data\"):\n")})
    # New files from an empty SEARCH.
    for j, (path, body) in enumerate([("schedule.py", "def constant(step):\n    return 1.0\n"),
                                      ("kernels/rope.cu", "// Rotary embeddings.\n__global__ void rope() {}\n")]):
        version = "py1" if j == 0 else "cu"
        add(fmt, "new-file", version,
            f"A new file:\n\n{path}\n```\n<<<<<<< SEARCH\n=======\n{body}>>>>>>> REPLACE\n```\n",
            {**VERSIONS[version]["files"], path: body})


def loose_paths(version, path):
    """Ways models misname an existing file, each meaning exactly `path`."""
    out = [("prefix-dirs", "path/to/" + path)]
    if "/" in path:
        out.append(("backslash", path.replace("/", "\\")))
        out.append(("base-name-only", path.rsplit("/", 1)[1]))
    if "_" in path:
        out.append(("hyphen-for-underscore", path.replace("_", "-")))
    if "-" in path:
        out.append(("underscore-for-hyphen", path.replace("-", "_")))
    stem, ext = os.path.splitext(path)
    if len(os.path.basename(stem)) >= 5:
        out.append(("typo", stem[:-2] + stem[-1] + stem[-2] + ext))
    return out


# ------------------------------------------------------- whole-file replies
def wf_block(path, body, *, fence=("```LANG", "```"), path_style="line", wrap=None):
    opener = fence[0].replace("LANG", lang(path))
    if wrap == "inner-fence":          # ````\n```python\n...\n```\n````
        opener = "````"
        body = f"```{lang(path)}\n{body}```\n"
        return f"{path}\n{opener}\n{body}````\n"
    if wrap == "same-fence":           # ```\n```python\n...\n```\n```
        return f"{path}\n```\n```{lang(path)}\n{body}```\n```\n"
    if wrap == "path-inside":          # ````\npath\n```python\n...\n```\n````
        return f"{path}\n````\n{path}\n```{lang(path)}\n{body}```\n````\n"
    head = {
        "line": f"{path}\n",
        "bold": f"**{path}**\n",
        "hash": f"### {path}\n",
        "colon": f"{path}:\n",
        "tick": f"`{path}`\n",
        "prose-tick": f"Here is the updated `{path}` with the change:\n\n",
        "none": "",
    }[path_style]
    return f"{head}{opener}\n{body}{fence[1]}\n"


def wf_reply(k, files, paths, **kw):
    blocks = [wf_block(p, files[p], **kw) for p in paths]
    return PROSE_BEFORE[k % len(PROSE_BEFORE)] + "\n".join(blocks) + PROSE_AFTER[k % len(PROSE_AFTER)]


def build_whole_file():
    fmt = "whole_file"
    for k, (version, change) in enumerate(CHANGES):
        want = after(version, change)
        paths = [p for p, _ in group_by_file(change)]
        paths = list(dict.fromkeys(paths))
        for j, fence in enumerate(FENCES):
            add(fmt, f"fence:{fence}", version, wf_reply(k + j, want, paths, fence=FENCES[fence]), want)
        for j, style in enumerate(["bold", "hash", "colon", "tick", "prose-tick"]):
            add(fmt, f"path:{style}", version, wf_reply(k + j, want, paths, path_style=style), want)
        for wrap in ["inner-fence", "same-fence", "path-inside"]:
            add(fmt, f"wrapped-body:{wrap}", version, wf_reply(k, want, paths, wrap=wrap), want)
        # No path line at all: the only entry file, or refused among several.
        if len(paths) == 1:
            only = paths[0]
            add(fmt, "no-path:only-entry-file", version, wf_reply(k, want, paths, path_style="none"), want,
                entry=[only])
            add(fmt, "no-path:several-entry-files", version, wf_reply(k, want, paths, path_style="none"),
                refused="names no file", entry=[only, "other.py"])
            # A snippet with no path next to a named file is not taken for a file.
            reply = ("First, the command to run it:\n\n```bash\ntorchrun --nproc_per_node=8 train.py\n```\n\n" +
                     wf_reply(k, want, paths))
            add(fmt, "snippet-beside-named-file", version, reply, want)
        # Loosely written paths.
        for j, (style, loose) in enumerate(loose_paths(version, paths[0])):
            if style in ("typo", "hyphen-for-underscore", "underscore-for-hyphen") and "/" not in loose and \
                    style != "underscore-for-hyphen" and style != "hyphen-for-underscore":
                continue  # a new name beside an old one is a new file in this format
            named = {loose if p == paths[0] else p: want[p] for p in paths}
            reply = PROSE_BEFORE[(k + j) % 5] + "\n".join(wf_block(p, named[p]) for p in named)
            if style == "typo" or style == "base-name-only":
                continue
            add(fmt, f"wrong-path:{style}", version, reply, want)
        add(fmt, "crlf-reply", version, wf_reply(k, want, paths).replace("\n", "\r\n"), want)
        add(fmt, "never-closed", version, wf_reply(k, want, paths).rsplit("```", 1)[0], refused="never closed")
        add(fmt, "prose-only", version, "The change is small: lower the learning rate a little.\n",
            refused="holds no file")
    # A new file next to an existing one with a similar name stays a new file.
    add(fmt, "new-file-beside-similar", "py1", "train2.py\n```python\nprint('variant')\n```\n",
        {**VERSIONS["py1"]["files"], "train2.py": "print('variant')\n"})
    add(fmt, "new-file-new-folder", "cu", "kernels/rope.cu\n```cuda\n__global__ void rope() {}\n```\n",
        {**VERSIONS["cu"]["files"], "kernels/rope.cu": "__global__ void rope() {}\n"})


# ------------------------------------------------------ unified-diff replies
def udiff_file(path, pieces, version, *, header="plain", numbers=False):
    text = VERSIONS[version]["files"][path]
    src, dst = {"plain": (path, path), "ab": ("a/" + path, "b/" + path),
                "stamp": (path + "\t2025-01-01 10:00:00", path + "\t2025-01-01 10:05:00")}[header]
    out = f"--- {src}\n+++ {dst}\n"
    for old, new in pieces:
        ctx = context(version, path, old)
        line_no = text[:text.find(old)].count("\n") if old in text else 1
        hunk = "@@ ... @@\n" if not numbers else f"@@ -{line_no},{1 + old.count(chr(10))} +{line_no},{1 + new.count(chr(10))} @@\n"
        body = ""
        if ctx:
            body += "" if not ctx.strip() else " " + ctx
        body += "".join("-" + l for l in old.splitlines(keepends=True))
        body += "".join("+" + l for l in new.splitlines(keepends=True))
        out += hunk + body
    return out


def ud_reply(k, change, version, *, fence=("```diff", "```"), rename=None, **kw):
    files = []
    for path, pieces in group_by_file(change):
        d = udiff_file(path, pieces, version, **kw)
        if rename and path in rename:
            d = d.replace(f"--- {path}", f"--- {rename[path]}", 1).replace(f"+++ {path}", f"+++ {rename[path]}", 1)
        files.append(d)
    body = "".join(files)
    if fence:
        body = f"{fence[0]}\n{body}{fence[1]}\n"
    return PROSE_BEFORE[k % len(PROSE_BEFORE)] + body + PROSE_AFTER[k % len(PROSE_AFTER)]


def build_unified_diff():
    fmt = "unified_diff"
    for k, (version, change) in enumerate(CHANGES):
        want = after(version, change)
        for j, (name, fence) in enumerate([("diff", ("```diff", "```")), ("bare", ("```", "```")),
                                            ("tildes", ("~~~diff", "~~~")), ("four", ("````diff", "````")),
                                            ("source", ("<source>", "</source>")), ("none", None)]):
            add(fmt, f"fence:{name}", version, ud_reply(k + j, change, version, fence=fence), want)
        for header in ["ab", "stamp"]:
            add(fmt, f"header:{header}", version, ud_reply(k, change, version, header=header), want)
        add(fmt, "line-numbers", version, ud_reply(k, change, version, numbers=True), want)
        path = change[0][0]
        for style, loose in loose_paths(version, path):
            add(fmt, f"wrong-path:{style}", version, ud_reply(k, change, version, rename={path: loose}), want)
        add(fmt, "crlf-reply", version, ud_reply(k, change, version).replace("\n", "\r\n"), want)
        _, old, new = change[0]
        bad = old.rstrip("\n") + "  # from memory\n"
        add(fmt, "context-not-in-file", version, ud_reply(k, [(path, bad, new)], version),
            refused="does not match any lines")
        add(fmt, "no-hunk-header", version, f"```diff\n--- {path}\n+++ {path}\n-{old}+{new}```\n",
            refused="has no `@@ ... @@` hunk")
    add(fmt, "new-file", "py1", "```diff\n--- /dev/null\n+++ schedule.py\n@@ -0,0 +1,2 @@\n+def constant(step):\n+    return 1.0\n```\n",
        {**VERSIONS["py1"]["files"], "schedule.py": "def constant(step):\n    return 1.0\n"})
    add(fmt, "delete-file", "py1", "```diff\n--- train.py\n+++ /dev/null\n@@ ... @@\n-import math\n```\n",
        refused="cannot do")


build_search_replace()
build_whole_file()
build_unified_diff()
with open(os.path.join(HERE, "versions.json"), "w", encoding="utf-8", newline="\n") as f:
    json.dump(VERSIONS, f, ensure_ascii=False, indent=1, sort_keys=True)
    f.write("\n")
total = 0
for fmt, recs in records.items():
    with open(os.path.join(HERE, fmt + ".jsonl"), "w", encoding="utf-8", newline="\n") as f:
        for r in recs:
            f.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")
    total += len(recs)
    print(f"{fmt}: {len(recs)} replies")
print(f"total: {total}")
