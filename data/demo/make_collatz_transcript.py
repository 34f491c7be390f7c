"""Writes collatz_transcript.jsonl, the replayed model answers of the offline demo
(`speedrun` with no arguments). Run it after changing the collatz template or the
demo's story; the format is described in include/speedrunner/llm/replay.hpp.

The story, with seed 0 and the default aide settings (5 drafts, debug_prob 0.5):
  v_1..v_5  drafts: skip evens, a memo table (forgets #include <vector>: compile
            error), the upper half, odd starts in the upper half, top-down
  v_6       debug of v_2: the include is added; the memo search covers all 10M
  v_7       improve v_6: halves the table -> crashes (out-of-bounds write)
  v_8       improve v_6: two steps per odd value, same answer, less time
  v_9       debug of v_7: the table is sized to the limit again
"""
import json
import pathlib

LOOP = "  for (std::uint64_t i = 1; i < limit; ++i) {\n"
FN = """static int collatz_steps(std::uint64_t n) {
  int steps = 0;
  while (n != 1) {
    if (n % 2 == 0) n = n / 2;
    else n = 3 * n + 1;
    ++steps;
  }
  return steps;
}
"""
MEMO_FN = """// Chain length of every start value below the limit, filled in ascending order:
// a chain is walked only until it drops below its start, then the table answers.
static std::vector<std::uint16_t> known;

static int collatz_steps(std::uint64_t n, std::uint64_t& walked) {
  std::uint64_t x = n;
  int steps = 0;
  while (x >= n && x != 1) {
    x = x % 2 == 0 ? x / 2 : 3 * x + 1;
    ++steps;
  }
  walked += static_cast<std::uint64_t>(steps);
  steps += known[x];
  known[n] = static_cast<std::uint16_t>(steps);
  return steps;
}
"""
MAIN_BODY = """  for (std::uint64_t i = 1; i < limit; ++i) {
    const int steps = collatz_steps(i);
    spent += static_cast<std::uint64_t>(steps);
"""
MEMO_BODY = """  known.assign(limit, 0);
  for (std::uint64_t i = 1; i < limit; ++i) {
    const int steps = collatz_steps(i, spent);
"""


def block(search, replace, path="collatz.cpp"):
    return f"{path}\n```cpp\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n```\n"


def idea(summary, hypothesis):
    return {"agent": "ideator", "answer": json.dumps({"summary": summary, "hypothesis": hypothesis})}


def edit(intro, *blocks):
    return {"answer": intro + "\n\n" + "\n".join(blocks)}


steps = [
    idea("Skip even start values",
         "In the main loop of collatz.cpp, step i by 2 from 1 so only odd start values are walked: the "
         "budget of chain steps then covers twice the range of start values."),
    edit("Step the loop over odd start values only.",
         block(LOOP, "  for (std::uint64_t i = 1; i < limit; i += 2) {  // odd start values only\n")),

    idea("Memoise chain lengths in a table",
         "Keep the chain length of every start value below the limit in a table filled in ascending order; "
         "walk each chain only until it drops below its start and add the stored length. Most chains then "
         "cost a few steps, so the whole range fits in the budget."),
    edit("A table of chain lengths; each chain is walked only until it drops below its start.",
         block(FN, MEMO_FN), block(MAIN_BODY, MEMO_BODY)),

    idea("Search only the upper half",
         "A start value s below limit/2 is beaten by 2s, whose chain is one step longer, so the longest "
         "chain starts in [limit/2, limit). Start the loop at limit / 2."),
    edit("Start the search at limit / 2.",
         block(LOOP, "  for (std::uint64_t i = limit / 2; i < limit; ++i) {  // below limit/2, 2i beats i\n")),

    idea("Odd start values in the upper half",
         "Combine both observations: walk only odd start values in [limit/2, limit), which quarters the "
         "number of chains the budget has to pay for."),
    edit("Odd start values from limit / 2 on.",
         block(LOOP, "  for (std::uint64_t i = (limit / 2) | 1; i < limit; i += 2) {  // odd starts, upper half\n")),

    idea("Search from the top down",
         "Long chains are more likely near the limit: walk start values downward from limit - 1, so the "
         "budget is spent where the best candidates are."),
    edit("Walk the start values downward.",
         block(LOOP, "  for (std::uint64_t i = limit - 1; i >= 1; --i) {  // from the top down\n")),

    # iteration 1: debug of v_2
    idea("Include <vector> for the memo table",
         "The build fails because std::vector is used without its header. Add #include <vector> to the "
         "includes of collatz.cpp and change nothing else."),
    edit("Add the missing header.",
         block("#include <cstring>\n", "#include <cstring>\n#include <vector>\n")),

    # iteration 2: improve v_6 (a bad idea: it crashes)
    idea("Halve the memo table",
         "The table takes 20 MB; the chains that matter start in the upper half, so allocate only limit / 2 "
         "entries to save memory and cache misses."),
    edit("Allocate half the table.",
         block("  known.assign(limit, 0);\n", "  known.assign(limit / 2, 0);  // half the memory\n")),

    # iteration 3: improve v_6
    idea("Two steps per odd value",
         "For odd x, 3x + 1 is even, so go straight to (3x + 1) / 2 and count two steps: fewer loop "
         "iterations for the same chain lengths, so the search takes less time."),
    edit("Fold the halving after 3x + 1 into the odd step.",
         block("""    x = x % 2 == 0 ? x / 2 : 3 * x + 1;
    ++steps;
""", """    if (x % 2 == 0) {
      x /= 2;
      steps += 1;
    } else {
      x = (3 * x + 1) / 2;  // 3x + 1 is even: take the halving at once
      steps += 2;
    }
""")),

    # iteration 4: debug of v_7
    idea("Size the table to the limit again",
         "The run crashed: the table has limit / 2 entries but every start value below the limit stores "
         "its length in it, so writes run past its end. Allocate limit entries again."),
    edit("Give the table an entry for every start value again.",
         block("  known.assign(limit / 2, 0);  // half the memory\n", "  known.assign(limit, 0);\n")),
]

out = pathlib.Path(__file__).with_name("collatz_transcript.jsonl")
out.write_text("".join(json.dumps(s) + "\n" for s in steps))
print(f"wrote {out} ({len(steps)} answers)")
