"""Write the synthetic example datasets under examples/data/.

Every answer is exact, so a run can be judged by exact match:
  * sort     - sort 4-6 distinct digits ascending (needs computation)
  * reverse  - reverse a word letter by letter (needs computation)
  * upper    - write a word in upper case (needs computation)
  * capital  - capital of a made-up country from a fixed table (needs knowledge)

The word list and the country table are also imported by build_tiny_model.py, whose pre-training
text states the same facts and skills as plain prose. Inputs are split between train, val and eval
by a hash of the input itself, so no held-out input is ever seen during fine-tuning.

Usage: python scripts/make_data.py [--out examples/data]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random

from make_pairs import make_splits  # scripts/ is on sys.path when this file runs

SEED = 1234

WORDS_TEXT = """
apple banana cherry grape lemon mango melon peach pear plum berry orange tiger zebra horse mouse
rabbit turtle eagle falcon parrot shark whale dolphin otter beaver badger camel donkey goose llama
monkey panda koala lizard spider beetle hornet salmon trout river ocean forest desert island valley
meadow canyon glacier harbor castle palace temple bridge tower garden market school church museum
theater station airport kitchen bedroom window mirror carpet pillow blanket candle lantern basket
bucket hammer ladder shovel needle button pocket jacket sweater boots glove scarf helmet wallet
pencil marker paper letter stamp parcel ticket camera guitar violin piano drum trumpet flute music
poem story novel chapter planet comet meteor galaxy rocket engine wheel wagon truck train plane boat
ship anchor sail paddle silver golden copper marble granite crystal diamond pearl ruby amber coral
ivory velvet cotton linen leather rubber plastic bottle teacup kettle spoon fork knife plate bowl
table chair sofa shelf drawer closet door floor ceiling roof chimney fence gate path road street
avenue village city county nation empire kingdom farmer baker butcher tailor doctor nurse teacher
pilot sailor soldier artist painter singer dancer writer poet judge lawyer banker driver hunter
fisher miner builder cloud storm thunder rain snow frost breeze sunset sunrise shadow light flame
ember smoke stone pebble sand dust mud clay brick timber branch leaf flower petal root seed acorn
cactus fern moss grass wheat barley corn rice bread butter cheese honey sugar salt pepper ginger
garlic onion carrot potato tomato pumpkin squash radish spinach cabbage cookie muffin waffle pancake
noodle pasta pizza burger salad soup juice coffee cocoa water milk yogurt orbit vector matrix signal
pixel socket server kernel folder record number object method module string syntax green purple
yellow violet scarlet crimson indigo maroon brown black white quick happy brave calm eager gentle
jolly kind lively proud silly witty clever bright quiet loud swift slow tiny giant humble noble
royal simple strong wise young ancient modern winter summer spring autumn monday friday morning
evening night noon dream wonder puzzle riddle secret magic spirit legend hero dragon wizard knight
prince queen king jester
"""

WORDS: list[str] = list(dict.fromkeys(WORDS_TEXT.split()))

_COUNTRY_HEADS = ["Nor", "Bel", "Cas", "Dra", "Ell", "Fen", "Gal", "Hal", "Ist", "Jor", "Kel", "Lum",
                  "Mar", "Ost", "Pra", "Quin", "Ros", "Sar", "Tal", "Ul", "Var", "Wes", "Zan", "Ard"]
_COUNTRY_TAILS = ["via", "land", "mark", "ria", "stan", "onia", "ador", "essa", "ith", "ora"]
_CAPITAL_ONSETS = ["Qu", "Br", "T", "K", "V", "Z", "M", "L", "Dr", "S", "P", "H", "G", "F", "N", "R",
                   "Bl", "Gr", "St", "Tr"]
_CAPITAL_NUCLEI = ["e", "a", "o", "i", "u", "au", "ei", "oa"]
_CAPITAL_CODAS = ["lt", "rn", "x", "sk", "nd", "m", "th", "rk", "ll", "z", "p", "nt"]
_CAPITAL_ENDINGS = ["", "", "a", "en", "is", "ov", "ar"]
NUM_COUNTRIES = 200


def _build_countries() -> dict[str, str]:
    # The pairing is random on purpose: nothing in a country's name predicts its capital, so the
    # model has to know the fact rather than derive it.
    rng = random.Random(SEED)
    names = [h + t for h in _COUNTRY_HEADS for t in _COUNTRY_TAILS]
    rng.shuffle(names)
    names = names[:NUM_COUNTRIES]
    capitals: list[str] = []
    taken = set(names) | {w.capitalize() for w in WORDS}
    while len(capitals) < len(names):
        cap = (rng.choice(_CAPITAL_ONSETS) + rng.choice(_CAPITAL_NUCLEI) + rng.choice(_CAPITAL_CODAS)
               + rng.choice(_CAPITAL_ENDINGS))
        if cap not in taken:
            taken.add(cap)
            capitals.append(cap)
    return dict(zip(names, capitals))


COUNTRIES: dict[str, str] = _build_countries()

TASKS = ["sort", "reverse", "upper", "capital"]

# (instruction, whether the item goes into `input`); "{x}" marks an item spliced into the instruction.
PHRASINGS: dict[str, list[tuple[str, bool]]] = {
    "sort": [("Sort these numbers in ascending order.", True),
             ("Arrange the digits from smallest to largest.", True),
             ("Put these numbers in increasing order.", True)],
    "reverse": [("Reverse this word letter by letter.", True),
                ("Spell the word backwards.", True),
                ("Write the given word in reverse.", True)],
    "upper": [("Convert this word to uppercase.", True),
              ("Rewrite the word in all caps.", True),
              ("Make every letter of this word upper case.", True)],
    "capital": [("What is the capital of {x}?", False),
                ("Name the capital city of {x}.", False),
                ("Which city is the capital of this country?", True)],
}

SYSTEM_PROMPTS = ["You are a helpful assistant.", "Answer with the result only.",
                  "You are a precise assistant. Reply briefly."]


def bucket(key: str) -> int:
    """Stable 0-99 bucket of an input, independent of Python's hash seed."""
    return int(hashlib.md5(key.encode("utf-8")).hexdigest(), 16) % 100


def split_of(key: str) -> str:
    b = bucket(key)
    return "eval" if b < 10 else "val" if b < 20 else "train"


def sort_answer(digits: str) -> str:
    return " ".join(sorted(digits.split()))


def solve(task: str, item: str) -> str:
    if task == "sort":
        return sort_answer(item)
    if task == "reverse":
        return item[::-1]
    if task == "upper":
        return item.upper()
    return COUNTRIES[item]


def random_digits(rng: random.Random) -> str:
    return " ".join(rng.sample("0123456789", rng.randint(4, 6)))


def items_for(task: str, split: str) -> list[str] | None:
    """The finite item pool of a task in one split, or None when items are drawn at random."""
    if task == "sort":
        return None
    pool = list(COUNTRIES) if task == "capital" else WORDS
    return [x for x in pool if split_of(x) == split]


def draw_item(task: str, split: str, rng: random.Random) -> str:
    pool = items_for(task, split)
    if pool is not None:
        return rng.choice(pool)
    while True:
        digits = random_digits(rng)
        if split_of(digits) == split:
            return digits


def alpaca_row(task: str, item: str, rng: random.Random) -> dict[str, str]:
    instruction, in_input = rng.choice(PHRASINGS[task])
    if in_input:
        return {"instruction": instruction, "input": item, "output": solve(task, item)}
    return {"instruction": instruction.replace("{x}", item), "input": "", "output": solve(task, item)}


def user_content(row: dict[str, str]) -> str:
    return row["instruction"] if not row["input"].strip() else f"{row['instruction']}\n\n{row['input']}"


def make_instruct(split: str, per_task: int, rng: random.Random) -> list[dict[str, str]]:
    rows = []
    for task in TASKS:
        for _ in range(per_task):
            rows.append(alpaca_row(task, draw_item(task, split, rng), rng))
    rng.shuffle(rows)
    return rows


def make_eval(per_task: int, rng: random.Random) -> list[dict[str, str]]:
    """Held-out prompts with references: distinct items, phrasings cycled so each is covered."""
    rows = []
    for task in TASKS:
        pool = items_for(task, "eval")
        if pool is None:
            seen: set[str] = set()
            while len(seen) < per_task:
                seen.add(draw_item(task, "eval", rng))
            picked = sorted(seen)
        else:
            if len(pool) < per_task:
                raise SystemExit(f"only {len(pool)} eval items for {task}; need {per_task}")
            picked = rng.sample(pool, per_task)
        for i, item in enumerate(picked):
            instruction, in_input = PHRASINGS[task][i % len(PHRASINGS[task])]
            if in_input:
                rows.append({"instruction": instruction, "input": item, "output": solve(task, item)})
            else:
                rows.append({"instruction": instruction.replace("{x}", item), "input": "",
                             "output": solve(task, item)})
    rng.shuffle(rows)
    return [{"id": f"eval-{i + 1:04d}", **row} for i, row in enumerate(rows)]


def make_chat(split: str, n: int, rng: random.Random) -> list[dict[str, list[dict[str, str]]]]:
    rows = []
    for i in range(n):
        messages = []
        if rng.random() < 0.25:
            messages.append({"role": "system", "content": rng.choice(SYSTEM_PROMPTS)})
        turns = 2 if rng.random() < 0.1 else 1
        for _ in range(turns):
            task = TASKS[(i + len(messages)) % len(TASKS)] if turns == 1 else rng.choice(TASKS)
            row = alpaca_row(task, draw_item(task, split, rng), rng)
            messages.append({"role": "user", "content": user_content(row)})
            messages.append({"role": "assistant", "content": row["output"]})
        rows.append({"messages": messages})
    rng.shuffle(rows)
    return rows


def write_jsonl(path: str, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "data")
    parser.add_argument("--out", default=default_out)
    args = parser.parse_args()
    out = os.path.normpath(args.out)
    os.makedirs(out, exist_ok=True)

    # One generator per file, so changing one file's size leaves the others byte-identical.
    files = {
        "instruct_train.jsonl": make_instruct("train", 750, random.Random(SEED + 1)),
        "instruct_val.jsonl": make_instruct("val", 50, random.Random(SEED + 2)),
        "instruct_eval.jsonl": make_eval(16, random.Random(SEED + 3)),
        "chat_train.jsonl": make_chat("train", 2000, random.Random(SEED + 4)),
        "chat_val.jsonl": make_chat("val", 200, random.Random(SEED + 5)),
    }
    # The text-pair files have their own generator (scripts/make_pairs.py, its own seed).
    files.update({f"pairs_{split}.jsonl": rows for split, rows in make_splits().items()})
    total = 0
    for name, rows in files.items():
        path = os.path.join(out, name)
        write_jsonl(path, rows)
        size = os.path.getsize(path)
        total += size
        print(f"{name:24s} {len(rows):5d} rows {size / 1024:7.1f} KiB")
    print(f"{'total':24s} {'':10s} {total / 1024:7.1f} KiB -> {out}")


if __name__ == "__main__":
    main()
