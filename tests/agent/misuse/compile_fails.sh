#!/bin/sh
# Compiles a misuse example that must fail, and checks the compiler's error
# holds the sentence we wrote for that mistake (not only template noise).
#   compile_fails.sh SOURCE EXPECTED_SENTENCE COMPILER [ARGS...]
source=$1 expected=$2
shift 2
out=$("$@" -fsyntax-only "$source" 2>&1)
if [ $? -eq 0 ]; then
  echo "FAIL: $source compiled, but it must not"
  exit 1
fi
if ! printf '%s' "$out" | grep -qF -- "$expected"; then
  printf 'FAIL: the error for %s lacks: %s\n--- compiler said:\n%s\n' "$source" "$expected" "$out" | head -n 60
  exit 1
fi
echo "ok: $source fails with: $expected"
