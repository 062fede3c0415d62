"""export: merged folders that plain transformers loads, and pushes to a local stand-in for the Hub.

A LoRA run and a full fine-tune of the tiny model train in this process; their merged exports are copied
elsewhere and loaded by a Python that cannot import this project (PLAIN below), whose greedy answers on the demo
prompts must equal the checkpoint's own (the adapter on its base, as `generate` loads it) token for token, with
logits within 1e-4. The LoRA run uses a template whose end of turn is a special token other than EOS and a
chat_template_kwargs value, so both must survive the export. Hub pushes go to hub_server.FakeHub through
HF_ENDPOINT, as a user's would go to the Hub.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from sft_studio.cli import main
from sft_studio.data.conversation import ConversationTokenizer
from sft_studio.data.dataset import load_prompts
from sft_studio.export.merged import default_out, staged
from sft_studio.export.source import read_source
from sft_studio.model.load import load_trained_model

from .conftest import DATA, MODEL, REPO
from .hub_server import FakeHub
from .inprocess import small_config, train_here

MAX_NEW = 24
TOKEN, USER = "hf_write_token_1", "me"
PROMPTS = [p.messages for p in load_prompts(str(DATA / "instruct_eval.jsonl"))[:8]]
# Turns end with <|system|> (one special token that is not EOS, as Llama 3's <|eot_id|>); `terse` comes from
# chat_template_kwargs and changes the rendered prompt, so a template that lost it would change the answers.
TEMPLATE = """\
{%- for m in messages -%}
{%- if m['role'] == 'user' -%}{{ '<|user|>' + ('[terse] ' if terse else '') + m['content'] + '\\n' }}
{%- elif m['role'] == 'assistant' -%}{{ '<|assistant|>' + m['content'] + '<|system|>\\n' }}
{%- else -%}{{ m['content'] + '\\n' }}{%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}{{ '<|assistant|>' }}{%- endif -%}
"""
# Runs in a Python that cannot import sft_studio (its editable install is blocked, trainer/ is off the path):
# what a user of the folder has. Prints prompt ids, greedy answers and logits as JSON.
PLAIN = r"""
import importlib.abc, json, sys
class NoProject(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "sft_studio":
            raise ImportError("the export must load without this project")
sys.meta_path.insert(0, NoProject())
sys.path = [p for p in sys.path if not p.rstrip("/").endswith("trainer")]
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
folder, prompts, max_new = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(2)
model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
tokenizer = AutoTokenizer.from_pretrained(folder)
out = []
for messages in prompts:
    inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.no_grad():
        full = model.generate(**inputs, do_sample=False, max_new_tokens=max_new)
        logits = model(full).logits[0]
    n = inputs["input_ids"].shape[1]
    out.append({"prompt": inputs["input_ids"][0].tolist(), "answer": full[0, n:].tolist(), "logits": logits.tolist()})
assert not [m for m in sys.modules if m.startswith("sft_studio")]
print(json.dumps(out))
"""


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_") and k != "PYTHONPATH"}
    return {**env, "NO_PROXY": "127.0.0.1", **extra}


def plain_transformers(folder: Path, cwd: Path) -> list[dict]:
    done = subprocess.run([sys.executable, "-c", PLAIN, str(folder), json.dumps(PROMPTS), str(MAX_NEW)],
                          capture_output=True, text=True, timeout=300, cwd=cwd,
                          env=clean_env(HF_HUB_OFFLINE="1", HF_HOME=str(cwd / "hf-home")))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def reference(checkpoint: Path, template_kwargs: dict | None = None) -> list[dict]:
    """What the checkpoint answers as SFT Studio loads it: `generate`'s model, template and stop tokens."""
    from transformers import AutoTokenizer

    model = load_trained_model(checkpoint, torch.device("cpu"))
    conv = ConversationTokenizer(AutoTokenizer.from_pretrained(checkpoint), 512, completion_only=True,
                                 template_kwargs=template_kwargs)
    out = []
    for messages in PROMPTS:
        ids = torch.tensor([conv.prompt_ids(messages)])
        with torch.no_grad():
            full = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                  max_new_tokens=MAX_NEW, eos_token_id=conv.stop_token_ids(),
                                  pad_token_id=conv.tok.pad_token_id)
            logits = model(full).logits[0]
        out.append({"prompt": ids[0].tolist(), "answer": full[0, ids.shape[1]:].tolist(), "logits": logits})
    return out


def compare(plain: list[dict], ref: list[dict]) -> float:
    """Asserts equal prompts and greedy answers; returns the largest logit difference."""
    worst = 0.0
    for got, want in zip(plain, ref, strict=True):
        assert got["prompt"] == want["prompt"]
        assert got["answer"] == want["answer"]
        worst = max(worst, (torch.tensor(got["logits"]) - want["logits"]).abs().max().item())
    return worst


def stopped(ref: list[dict]) -> int:
    """Answers that ended at a stop token, so the stop rule itself was compared."""
    return sum(len(r["answer"]) < MAX_NEW for r in ref)


def export(capsys, *argv: str) -> tuple[int, dict, str]:
    code = main(["export", *argv, "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out.strip().splitlines()[-1]), captured.err


@pytest.fixture(scope="module")
def lora_checkpoint(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("lora")
    (folder / "turns.jinja").write_text(TEMPLATE)
    config = small_config(folder, use_lora=True, lora_r=8, learning_rate=5e-3,
                          chat_template=str(folder / "turns.jinja"),
                          chat_template_kwargs={"terse": True}, eval_strategy="steps", eval_steps=2)
    assert train_here(config, folder / "run") == 0
    return folder / "run" / "checkpoints" / "step-4"


@pytest.fixture(scope="module")
def full_checkpoint(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("full")
    # Long enough for every demo answer to end at EOS within MAX_NEW, so the stop rule is compared too.
    config = small_config(folder, learning_rate=3e-3, max_steps=40, warmup_steps=4, logging_steps=10)
    assert train_here(config, folder / "run") == 0
    return folder / "run" / "checkpoints" / "step-40"


@pytest.fixture(scope="module")
def lora_merged(lora_checkpoint, tmp_path_factory) -> tuple[dict, Path]:
    code = main(["export", str(lora_checkpoint), "--format", "merged", "--json"])
    assert code == 0
    merged = lora_checkpoint / "merged"
    # Loaded from a copy far from the run, so nothing can lean on a path next to it.
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "model"
    shutil.copytree(merged, elsewhere)
    return json.loads((merged / "generation_config.json").read_text()), elsewhere


def test_merged_lora_answers_like_the_adapter_on_its_base(lora_checkpoint, lora_merged, tmp_path):
    _, folder = lora_merged
    plain = plain_transformers(folder, tmp_path)
    ref = reference(lora_checkpoint, {"terse": True})
    worst = compare(plain, ref)
    assert worst < 1e-4
    # The adapter mattered: the base model's logits on the same tokens are far from the merged model's.
    base = load_trained_model(MODEL, torch.device("cpu"))
    with torch.no_grad():
        moved = max((base(torch.tensor([r["prompt"] + r["answer"]])).logits[0] - r["logits"]).abs().max().item()
                    for r in ref)
    assert moved > 1e-2
    print(f"\nmerged LoRA: greedy equal on {len(PROMPTS)} prompts ({sum(len(r['answer']) for r in ref)} tokens, "
          f"{stopped(ref)} stopped before {MAX_NEW}), max |dlogit| = {worst:.2e} (base vs tuned {moved:.2f})")


def test_merged_folder_is_standalone(lora_checkpoint, lora_merged):
    generation, folder = lora_merged
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["README.md", "chat_template.jinja", "config.json", "generation_config.json",
                     "model.safetensors", "tokenizer.json", "tokenizer_config.json"]
    # EOS and the template's end-of-turn token, as `generate` and `chat` stop.
    assert generation["eos_token_id"] == [1, 4] and generation["pad_token_id"] == 0
    tokenizer_config = json.loads((folder / "tokenizer_config.json").read_text())
    assert "local_files_only" not in tokenizer_config
    for path in folder.iterdir():
        if path.suffix in (".json", ".jinja", ".md"):
            text = path.read_text()
            assert str(REPO) not in text and str(lora_checkpoint.parent.parent) not in text, path.name
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    hello = [{"role": "user", "content": "hi"}]
    assert tokenizer.apply_chat_template(hello, tokenize=False) == "<|user|>[terse] hi\n"  # the run's kwargs
    assert tokenizer.apply_chat_template(hello, tokenize=False, terse=False) == "<|user|>hi\n"  # still a choice
    card = (folder / "README.md").read_text()
    front = yaml.safe_load(card.split("---")[1])
    assert front["library_name"] == "transformers" and {"lora", "merged"} <= set(front["tags"])
    assert "base_model" not in front  # a local base has no Hub id to name
    assert "| 0 (base) | 0 |" in card and "\n| 2 | 0.00" in card and "\n| 4 ★ | 0.00" in card
    assert "| `lora_r` | 8 |" in card and "| `chat_template_kwargs` | {\"terse\": true} |" in card


def test_full_fine_tune_exports_sharded_and_answers_alike(full_checkpoint, capsys, tmp_path):
    code, result, _ = export(capsys, str(full_checkpoint), "--out", str(tmp_path / "full"), "--max-shard-size", "2MB")
    assert code == 0 and result["source"] == "full" and result["path"] == str(tmp_path / "full")
    assert result["shards"] == 4 and "model.safetensors.index.json" in result["files"]
    assert "adapter_config.json" not in result["files"] and result["eos_token_id"] == [1]
    ref = reference(full_checkpoint)
    worst = compare(plain_transformers(tmp_path / "full", tmp_path), ref)
    assert worst < 1e-4 and stopped(ref) == len(PROMPTS)
    print(f"\nmerged full fine-tune (4 shards): greedy equal on {len(PROMPTS)} prompts ({stopped(ref)} stopped before "
          f"{MAX_NEW}), max |dlogit| = {worst:.2e}")


def test_export_replaces_a_previous_one_whole_and_clears_an_interrupted_one(full_checkpoint, capsys):
    out = full_checkpoint / "merged"
    assert export(capsys, str(full_checkpoint))[0] == 0
    (out / "stale.txt").write_text("from an earlier export")
    killed = full_checkpoint / ".merged.tmp-999999999"  # a pid no process has
    killed.mkdir()
    code, result, _ = export(capsys, str(full_checkpoint))
    assert code == 0 and result["path"] == str(out)
    assert not (out / "stale.txt").exists() and not killed.exists()
    assert not [p.name for p in full_checkpoint.iterdir() if p.name.startswith(".merged")]


def test_a_failed_write_leaves_the_destination_as_it_was(tmp_path):
    out = tmp_path / "merged"
    out.mkdir()
    (out / "kept.txt").write_text("previous export")
    with pytest.raises(KeyboardInterrupt):
        with staged(out) as tmp:
            (tmp / "config.json").write_text("{}")
            raise KeyboardInterrupt  # what SIGTERM (Cancel in the editor) raises in the exporter
    assert sorted(p.name for p in tmp_path.iterdir()) == ["merged"] and (out / "kept.txt").is_file()


def test_cancel_exits_130_with_one_line(full_checkpoint, capsys, monkeypatch):
    import sft_studio.export.merged as merged

    def cancelled(*_, **__):
        raise KeyboardInterrupt

    monkeypatch.setattr(merged, "export_merged", cancelled)
    assert main(["export", str(full_checkpoint)]) == 130
    assert capsys.readouterr().err.strip() == "export cancelled; nothing was written at its destination"


def test_the_trainers_merged_folder_is_left_to_the_checkpoint(tmp_path):
    checkpoint = tmp_path / "step-9"
    shutil.copytree(MODEL, checkpoint)
    assert default_out(read_source(checkpoint)) == checkpoint / "merged"
    (checkpoint / "complete.json").write_text(json.dumps({"format": 1, "files": {"merged/config.json": {}}}))
    assert default_out(read_source(checkpoint)) == checkpoint / "merged-export"


def test_onnx_format_is_the_export_onnx_verb(full_checkpoint, capsys):
    code, result, _ = export(capsys, str(full_checkpoint), "--format", "onnx")
    assert code == 0 and result == {"format": "onnx", "path": str(full_checkpoint / "onnx" / "model.onnx")}
    assert (full_checkpoint / "onnx" / "model.onnx").stat().st_size > 1_000_000


def test_out_never_replaces_the_checkpoint_or_other_files(full_checkpoint, tmp_path, capsys):
    for out, message in ((full_checkpoint, "holds the checkpoint itself"),
                         (full_checkpoint.parent.parent, "holds the checkpoint itself"),
                         (REPO / "examples", "not an earlier export")):
        code = main(["export", str(full_checkpoint), "--out", str(out)])
        err = capsys.readouterr().err
        assert code == 2 and message in err, err
    assert (full_checkpoint / "complete.json").is_file() and (REPO / "examples" / "demo.sft.yaml").is_file()


@pytest.mark.parametrize("argv, message", [
    (["{tmp}/missing"], "is not a folder"),
    (["{tmp}"], "is not a checkpoint (no config.json or adapter_config.json)"),
    (["{ckpt}", "--format", "hub"], "--format hub needs --repo-id OWNER/NAME"),
    (["{ckpt}", "--repo-id", "me/x"], "--repo-id only apply to --format hub"),
    (["{ckpt}", "--format", "onnx", "--out", "{tmp}"], "--out does not apply to --format onnx"),
])
def test_bad_input_is_one_line_with_the_fix(argv, message, full_checkpoint, tmp_path, capsys):
    code = main(["export", *(a.format(tmp=tmp_path, ckpt=full_checkpoint) for a in argv)])
    err = capsys.readouterr().err
    assert code == 2 and message in err and " — " in err and len(err.strip().splitlines()) == 1


# ------------------------------------------------------------------ the Hub
def push(hub_endpoint: str, home: Path, *argv: str, token: str | None = TOKEN) -> tuple[int, dict, str, str]:
    """(exit code, the --json result, stderr, stdout) of `export --format hub` as a user runs it."""
    env = clean_env(HF_ENDPOINT=hub_endpoint, HF_HOME=str(home), PYTHONPATH=str(REPO / "trainer"),
                    **({"HF_TOKEN": token} if token else {}))
    done = subprocess.run([sys.executable, "-m", "sft_studio", "export", *argv, "--format", "hub", "--json"],
                          capture_output=True, text=True, timeout=300, env=env)
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1]), done.stderr, done.stdout


def test_push_merged_creates_a_private_repo_with_the_folder_and_a_card(lora_checkpoint, lora_merged, tmp_path):
    with FakeHub({}) as hub:
        hub.state.tokens[TOKEN] = USER
        code, result, err, _ = push(hub.endpoint, tmp_path, str(lora_checkpoint), "--repo-id", "me/tiny-sft",
                                    "--out", str(tmp_path / "merged"))
        repo = hub.state.repos.get("me/tiny-sft")
        seen = set(hub.state.authorizations) - {None}
    assert code == 0, err
    assert result["private"] is True and result["created"] is True and result["pushed"] == "merged"
    assert result["url"] == f"{hub.endpoint}/me/tiny-sft" and seen == {f"Bearer {TOKEN}"}
    assert repo is not None and repo.private and repo.commits == ["Upload the merged model (SFT Studio, step 4)"]
    local = tmp_path / "merged"
    assert sorted(repo.files) == sorted(p.name for p in local.iterdir()) == result["files"]
    for name, data in repo.files.items():
        assert data == (local / name).read_bytes(), name
    # The same weights as the merged export above: pushing re-merges, deterministically.
    assert repo.files["model.safetensors"] == (lora_merged[1] / "model.safetensors").read_bytes()
    card = repo.files["README.md"].decode()
    assert "## Results" in card and "final evaluation (step 4): loss" in card and "| 0 (base) |" in card
    assert 'from_pretrained("me/tiny-sft")' in card and "instruct_train.jsonl" in card


def test_push_adapter_public_names_its_hub_base(lora_checkpoint, tmp_path):
    # The same run as if its base had come from the Hub as org/tiny.
    run = tmp_path / "run"
    shutil.copytree(lora_checkpoint.parent.parent, run, ignore=shutil.ignore_patterns("merged"))
    resolved = json.loads((run / "config.resolved.json").read_text())
    (run / "config.resolved.json").write_text(json.dumps({**resolved, "model_name_or_path": "org/tiny"}))
    checkpoint = run / "checkpoints" / "step-4"
    with FakeHub({}) as hub:
        hub.state.tokens[TOKEN] = USER
        first = push(hub.endpoint, tmp_path, str(checkpoint), "--repo-id", "me/tiny-lora", "--push", "adapter",
                     "--public")
        again = push(hub.endpoint, tmp_path, str(checkpoint), "--repo-id", "me/tiny-lora", "--push", "adapter")
        repo = hub.state.repos["me/tiny-lora"]
    assert first[0] == 0 and first[1]["private"] is False and first[1]["created"] is True, first[2]
    assert again[0] == 0 and again[1]["created"] is False and again[1]["private"] is False, again[2]
    assert not repo.private and len(repo.commits) == 2
    assert json.loads(repo.files["adapter_config.json"])["base_model_name_or_path"] == "org/tiny"
    assert repo.files["adapter_model.safetensors"] == (checkpoint / "adapter_model.safetensors").read_bytes()
    assert not {"trainer_state.json", "trainer_state.safetensors", "complete.json"} & set(repo.files)
    front = yaml.safe_load(repo.files["README.md"].decode().split("---")[1])
    assert front["base_model"] == "org/tiny" and front["library_name"] == "peft"


def closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.mark.parametrize("case, code, message", [
    ("no token", 2, "no Hugging Face token — Set a token with write access"),
    ("bad token", 2, "the Hub refused the token (401 Unauthorized)"),
    ("other owner", 2, "the token cannot create `someone-else/model`: the namespace `someone-else` belongs to another"),
    ("network down", 1, "cannot reach the Hub at http://127.0.0.1:"),
])
def test_hub_errors_are_one_line_with_the_fix(case, code, message, full_checkpoint, tmp_path):
    repo_id = "someone-else/model" if case == "other owner" else "me/model"
    token = {"no token": None, "bad token": "hf_revoked"}.get(case, TOKEN)
    with FakeHub({}) as hub:
        hub.state.tokens[TOKEN] = USER
        endpoint = closed_port() if case == "network down" else hub.endpoint
        got, result, err, out = push(endpoint, tmp_path, str(full_checkpoint), "--repo-id", repo_id, token=token)
        created = dict(hub.state.repos)
    assert got == code and message in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert result["error"] in err and result["hint"] in err and created == {}
    assert "loading" not in out  # the repository comes first: nothing was merged for a push that cannot happen
