"""Real-text shards for a training check where the project's mini corpus is
not at hand: the Python standard library's source, tokenized with GPT-2's BPE
through tiktoken when its files are cached locally (TIKTOKEN_CACHE_DIR, e.g.
/opt/tiktoken_cache on the GPU image), else one token per byte (ids 0-255).
Each file is a document opened by <|endoftext|>. Writes
<dir>/text_train_000000.bin and text_val_000000.bin (the .bin shard format).
    python3 make_text_shards.py DIR [TOKENS]"""
import array
import os
import random
import struct
import sys
import sysconfig

out_dir, want = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 30_000_000
if "TIKTOKEN_CACHE_DIR" not in os.environ and os.path.isdir("/opt/tiktoken_cache"):
    os.environ["TIKTOKEN_CACHE_DIR"] = "/opt/tiktoken_cache"
try:
    import tiktoken
    enc = tiktoken.get_encoding("gpt2")
    encode, kind = enc.encode_ordinary, "GPT-2 BPE"
except Exception as e:  # no tiktoken or no cached vocabulary (no network here)
    encode, kind = (lambda text: list(text.encode("utf-8"))), f"bytes ({type(e).__name__})"

files = []
for root, _, names in os.walk(sysconfig.get_paths()["stdlib"]):
    files += [os.path.join(root, n) for n in sorted(names) if n.endswith(".py")]
random.Random(0).shuffle(files)
tokens = array.array("H")
used = 0
for f in files:
    with open(f, encoding="utf-8", errors="replace") as fh:
        tokens.append(50256)
        tokens.extend(encode(fh.read()))
    used += 1
    if len(tokens) >= want:
        break
split = len(tokens) * 9 // 10
os.makedirs(out_dir, exist_ok=True)
for name, part in (("text_train_000000.bin", tokens[:split]), ("text_val_000000.bin", tokens[split:])):
    with open(os.path.join(out_dir, name), "wb") as fh:
        fh.write(struct.pack("<256i", 20240520, 1, len(part), *([0] * 253)))
        part.tofile(fh)
print(f"{len(tokens)} tokens ({kind}) from {used} of {len(files)} files -> {out_dir}")
