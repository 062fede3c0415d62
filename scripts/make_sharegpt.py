"""Write examples/data/sharegpt_sample.jsonl: 40 synthetic ShareGPT rows for examples/sharegpt.sft.yaml.

The same four skills and training items as the other bundled data (scripts/make_data.py), laid out the
way ShareGPT-style datasets are: {id, conversations: [{from: system|human|gpt, value}], system?}. About a
quarter of the rows open with a system turn, another quarter carry their system prompt in a `system`
column instead, and some conversations have two exchanges, so every part of the format is exercised.
Deterministic (seeded), standard library only:

    python scripts/make_sharegpt.py [--out examples/data]
"""

from __future__ import annotations

import argparse
import os
import random

from make_data import SYSTEM_PROMPTS, TASKS, alpaca_row, draw_item, user_content, write_jsonl

SEED = 20260214
ROWS = 40


def make_sharegpt(n: int, rng: random.Random) -> list[dict]:
    rows = []
    for i in range(n):
        turns = []
        for _ in range(2 if rng.random() < 0.2 else 1):
            task = rng.choice(TASKS)
            row = alpaca_row(task, draw_item(task, "train", rng), rng)
            turns += [{"from": "human", "value": user_content(row)}, {"from": "gpt", "value": row["output"]}]
        record: dict = {"id": f"sg-{i + 1:04d}"}
        kind = rng.random()
        if kind < 0.25:
            turns.insert(0, {"from": "system", "value": rng.choice(SYSTEM_PROMPTS)})
        elif kind < 0.5:
            record["system"] = rng.choice(SYSTEM_PROMPTS)
        record["conversations"] = turns
        rows.append(record)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "data"))
    out = os.path.normpath(parser.parse_args().out)
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "sharegpt_sample.jsonl")
    write_jsonl(path, make_sharegpt(ROWS, random.Random(SEED)))
    print(f"sharegpt_sample.jsonl {ROWS} rows -> {out}")


if __name__ == "__main__":
    main()
