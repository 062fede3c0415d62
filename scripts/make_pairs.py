"""Writes pairs_train.jsonl, pairs_val.jsonl and pairs_test.jsonl: does sentence B answer question A?

Each row is {text_a: a question about a person, text_b: a statement about the same person, label}.
label 1: text_b answers text_a ("How old is Kira?" / "Kira turned 34 this year."); label 0: text_b
answers another of the four questions ("How old is Kira?" / "Kira went to Palt on Monday."). A
question about a purchase or a trip names the place or the day, and its answers repeat it, as answers
do. Every question kind and every statement kind occurs with both labels equally often, so neither
text alone says anything about the label: only the relation between the two does.

Names and cities are split between the files (train, validation and test never share one), so the
validation accuracy measures the relation, not memorised pairs. Deterministic (seeded), standard
library only; `python scripts/make_data.py` writes them with the other bundled files, or alone:

    python scripts/make_pairs.py

Why not paraphrase pairs that differ in one detail (the earlier set: "Ines bought 16 pears" vs "Ines
got 11 pears")? There the label rests on whether two values written in different places are equal
(25 names, 85 numbers, ...); the embedded 1.8M-parameter byte-level model does not learn that
comparison in a short run: validation accuracy stays at the majority rate for hundreds of steps,
while it fits a small training set exactly. Which of four kinds of statement answers which of four
kinds of question it learns in a few dozen steps.
"""

from __future__ import annotations

import json
import os
import random

SEED = 20261123
SIZES = {"train": 2000, "val": 200, "test": 200}

NAMES = ["Alice", "Bruno", "Chen", "Dara", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kira", "Liam",
         "Maya", "Nils", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wade", "Yara", "Zoe",
         "Anton", "Bea", "Cyrus", "Dmitri", "Edda"]
CITIES = ["Palt", "Vimov", "Fauska", "Pautha", "Tollen", "Sirken", "Moapov", "Rothov", "Troaz", "Paunt", "Kelmo",
          "Dravis", "Ostrel", "Bramo", "Lisket", "Quorra", "Haldor", "Nesvik"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
ITEMS = ["apples", "pears", "eggs", "books", "candles", "lemons", "cups", "pencils", "tickets", "plums"]
PLACES = ["market", "bakery", "station", "harbor", "corner store"]
JOBS = ["baker", "nurse", "pilot", "teacher", "farmer", "painter", "driver", "chef"]

# kind -> (question, the statements that answer it)
KINDS: dict[str, tuple[str, list[str]]] = {
    "age": ("How old is {who}?", ["{who} is {n} years old.", "{who} turned {n} this year."]),
    "buy": ("What did {who} buy at the {place}?", ["{who} bought {n} {item} at the {place}.",
                                                   "At the {place}, {who} got {n} {item}."]),
    "trip": ("Where did {who} go on {day}?", ["{who} went to {city} on {day}.", "On {day}, {who} travelled to {city}."]),
    "job": ("What is {who}'s job?", ["{who} works as a {job}.", "{who} is a {job}."]),
}


def split_pools(rng: random.Random) -> dict[str, dict[str, list[str]]]:
    """Disjoint names and cities per file: 2/3 for training, 1/6 each for validation and test."""
    pools = {}
    for key, values in (("name", NAMES), ("city", CITIES)):
        shuffled = values[:]
        rng.shuffle(shuffled)
        a, b = len(shuffled) * 2 // 3, len(shuffled) * 5 // 6
        pools[key] = {"train": shuffled[:a], "val": shuffled[a:b], "test": shuffled[b:]}
    return {split: {"name": pools["name"][split], "city": pools["city"][split]} for split in SIZES}


def make_row(rng: random.Random, names: list[str], cities: list[str]) -> dict[str, object]:
    asked = rng.choice(list(KINDS))
    label = int(rng.random() < 0.5)
    # A negative answers one of the other questions, about the same person.
    told = asked if label else rng.choice([k for k in KINDS if k != asked])
    slots = {"who": rng.choice(names), "n": rng.randint(2, 89), "place": rng.choice(PLACES), "item": rng.choice(ITEMS),
             "day": rng.choice(DAYS), "city": rng.choice(cities), "job": rng.choice(JOBS)}
    return {"text_a": KINDS[asked][0].format(**slots), "text_b": rng.choice(KINDS[told][1]).format(**slots),
            "label": label}


def make_splits(seed: int = SEED) -> dict[str, list[dict[str, object]]]:
    rng = random.Random(seed)
    pools = split_pools(rng)
    out: dict[str, list[dict[str, object]]] = {}
    for split, size in SIZES.items():
        rows: list[dict[str, object]] = []
        seen: set[tuple[object, object]] = set()
        while len(rows) < size:
            row = make_row(rng, pools[split]["name"], pools[split]["city"])
            if (row["text_a"], row["text_b"]) not in seen:
                seen.add((row["text_a"], row["text_b"]))
                rows.append(row)
        out[split] = rows
    return out


def main() -> None:
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "data")
    for split, rows in make_splits().items():
        path = os.path.join(folder, f"pairs_{split}.jsonl")
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        positive = sum(int(r["label"]) for r in rows)
        print(f"{os.path.basename(path):20s} {len(rows):5d} rows, {positive / len(rows):.3f} positive")


if __name__ == "__main__":
    main()
