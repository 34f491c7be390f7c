"""Real-text shards for a training check where no tokenizer is at hand: the
bytes of the Python standard library's source, one token per byte (ids
0-255 of the GPT-2 vocabulary), each file a document opened by <|endoftext|>.
Writes <dir>/text_train_000000.bin and text_val_000000.bin (.bin shard format)."""
import os
import random
import struct
import sys
import sysconfig

out_dir, want = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 30_000_000
files = []
for root, _, names in os.walk(sysconfig.get_paths()["stdlib"]):
    files += [os.path.join(root, n) for n in sorted(names) if n.endswith(".py")]
random.Random(0).shuffle(files)
tokens = []
for f in files:
    with open(f, "rb") as fh:
        tokens.append(50256)
        tokens.extend(fh.read())
    if len(tokens) >= want:
        break
split = len(tokens) * 9 // 10
os.makedirs(out_dir, exist_ok=True)
for name, part in (("text_train_000000.bin", tokens[:split]), ("text_val_000000.bin", tokens[split:])):
    header = struct.pack("<256i", 20240520, 1, len(part), *([0] * 253))
    with open(os.path.join(out_dir, name), "wb") as fh:
        fh.write(header)
        fh.write(struct.pack(f"<{len(part)}H", *part))
print(f"{len(tokens)} byte tokens from {len(files)} files -> {out_dir}")
