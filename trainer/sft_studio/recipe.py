"""The SFT recipe: setup -> train -> evaluate -> save -> cleanup, readable top to bottom."""

from __future__ import annotations

import math
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import torch

from . import checkpoint as ckpt
from .batching import Batch, collate, microbatch_order
from .config import RunConfig
from .control import Control
from .data import ConversationTokenizer, DataError, Example, Prompt, load_examples, load_prompts
from .evaluate import evaluate_loss
from .events import EventWriter, StatusFile, write_json_atomic
from .generate import SamplingParams, generate
from .loss import shifted_ce_sum
from .model import count_parameters, load_model, load_tokenizer, pick_device
from .optim import build_optimizer, build_scheduler

HINTS = {
    "oom": "Lower per_device_train_batch_size (raise gradient_accumulation_steps to keep the effective batch), "
           "lower max_length, or turn on padding_free.",
    "nan": "Lower learning_rate, raise warmup_ratio, keep max_grad_norm at 1.0, or train in float32 "
           "instead of float16.",
    "crash": "See trainer.log for the traceback; if the run saved checkpoints, they are intact.",
}


class NonFiniteLoss(RuntimeError):
    pass


class NothingToResume(Exception):
    pass


@dataclass
class StepPlan:
    epoch: int
    index_in_epoch: int
    microbatches: list[list[int]]


class SFTRecipe:
    def __init__(self, cfg: RunConfig, config_path: Path, run_dir: Path, resume: bool = False):
        self.cfg = cfg
        self.resume = resume
        self.config_path = config_path
        self.run_dir = run_dir
        self.step = 0
        self.tokens_seen = 0
        self.started = time.time()

    # ------------------------------------------------------------------ setup
    def setup(self) -> None:
        cfg = self.cfg
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.events = EventWriter(self.run_dir / "events.jsonl")
        self.status = StatusFile(self.run_dir / "status.json", run_name=cfg.run_name, config_path=str(self.config_path))
        write_json_atomic(self.run_dir / "config.resolved.json", cfg.to_dict())
        self.control = Control(self.run_dir / "control.jsonl")
        self.control.install_signal_handlers()

        torch.manual_seed(cfg.seed)
        self.device = pick_device(cfg.device)
        self.tokenizer = load_tokenizer(cfg)
        self.conv = ConversationTokenizer(self.tokenizer, cfg.max_length, cfg.completion_only_loss)
        self.train_set, self.train_stats = load_examples(cfg.train_file, cfg.dataset_format, self.conv)
        self.val_set: list[Example] = []
        if cfg.validation_file:
            self.val_set, _ = load_examples(cfg.validation_file, cfg.dataset_format, self.conv)
        self.prompts: list[Prompt] = load_prompts(cfg.generation_prompts_file) if cfg.generation_prompts_file else []

        resume_from = ckpt.latest_resumable(self.run_dir) if self.resume else None
        if self.resume and resume_from is None:
            raise NothingToResume(f"{self.run_dir} has no complete checkpoint to resume from")
        self.model = load_model(cfg, self.device, str(resume_from[1]) if resume_from else None)
        self.model.train()
        self.optimizer = build_optimizer(self.model, cfg)
        batches_per_epoch = math.ceil(len(self.train_set) / cfg.per_device_train_batch_size)
        self.steps_per_epoch = max(1, math.ceil(batches_per_epoch / cfg.gradient_accumulation_steps))
        self.total_steps = cfg.max_steps if cfg.max_steps > 0 else math.ceil(cfg.num_train_epochs * self.steps_per_epoch)
        self.scheduler = build_scheduler(self.optimizer, cfg, self.total_steps)
        self.sampling = SamplingParams(cfg.generation_max_new_tokens, cfg.generation_temperature,
                                       cfg.generation_top_p, cfg.generation_top_k, cfg.seed)

        resumed = {}
        if resume_from:
            self._restore(ckpt.load_trainer_state(resume_from[1]))
            resumed = {"resumed_from": str(resume_from[1].relative_to(self.run_dir))}
        total, trainable = count_parameters(self.model)
        self.events.emit("run_started", step=self.step, **resumed, config=cfg.to_dict(), config_path=str(self.config_path),
                         total_steps=self.total_steps, steps_per_epoch=self.steps_per_epoch,
                         num_parameters=total, trainable_parameters=trainable, world_size=1,
                         device=str(self.device), train_examples=len(self.train_set),
                         eval_examples=len(self.val_set), truncated_examples=self.train_stats.truncated_examples)
        self.status.update(state="running", step=self.step, total_steps=self.total_steps)
        self._say(f"run {cfg.run_name}: {len(self.train_set)} examples ({self.train_stats.truncated_examples} truncated), "
                  f"{trainable:,} of {total:,} parameters trainable, {self.total_steps} steps on {self.device}")

    # ------------------------------------------------------------------ train
    def train(self) -> str:
        cfg = self.cfg
        if self._evaluating() and self.step == 0:
            self.evaluate()
        last_log_time, last_log_tokens = time.time(), 0
        for plan in self._step_plans():
            loss, grad_norm, lr = self._optimizer_step(plan)
            self.step += 1
            epoch = plan.epoch + (plan.index_in_epoch + 1) / self.steps_per_epoch
            self.status.update(step=self.step)
            if self.step % cfg.logging_steps == 0 or self.step == self.total_steps:
                now = time.time()
                rate = (self.tokens_seen - last_log_tokens) / max(1e-9, now - last_log_time)
                last_log_time, last_log_tokens = now, self.tokens_seen
                self.events.emit("train", step=self.step, epoch=epoch, loss=loss, grad_norm=grad_norm,
                                 learning_rate=lr, tokens=self.tokens_seen, tokens_per_s=rate)
                self._say(f"step {self.step}/{self.total_steps}  loss {loss:.4f}  lr {lr:.2e}  "
                          f"grad_norm {grad_norm:.3f}  {rate:,.0f} tok/s")
            end_of_epoch = plan.index_in_epoch + 1 == self.steps_per_epoch
            if self._evaluating() and self.step != self.total_steps and (
                    (cfg.eval_strategy == "steps" and self.step % cfg.eval_steps == 0)
                    or (cfg.eval_strategy == "epoch" and end_of_epoch)):
                self.evaluate()
            self.control.poll()
            if self.control.generate_requested:
                self.control.generate_requested = False
                self._emit_generations()
            if self.control.save_requested or (self.step != self.total_steps and (
                    (cfg.save_strategy == "steps" and self.step % cfg.save_steps == 0)
                    or (cfg.save_strategy == "epoch" and end_of_epoch))):
                self.control.save_requested = False
                self.save_checkpoint()
            if self.control.stop_requested:
                self._say(f"stop requested: saving a checkpoint at step {self.step}")
                self.save_checkpoint(final=True)
                return "stopped"
        if self._evaluating():
            self.evaluate()
        self.save_checkpoint(final=True)
        return "completed"

    def _step_plans(self) -> Iterator[StepPlan]:
        cfg = self.cfg
        # The order of an epoch depends only on (seed, epoch), so a resumed run picks up at the same place.
        epoch, first = divmod(self.step, self.steps_per_epoch)
        while True:
            order = microbatch_order(len(self.train_set), cfg.per_device_train_batch_size, cfg.seed, epoch)
            for index in range(first, self.steps_per_epoch):
                if self.step >= self.total_steps:
                    return
                accum = cfg.gradient_accumulation_steps
                yield StepPlan(epoch, index, order[index * accum:(index + 1) * accum])
            epoch, first = epoch + 1, 0

    def _optimizer_step(self, plan: StepPlan) -> tuple[float, float, float]:
        cfg = self.cfg
        batches: list[Batch] = [collate([self.train_set[i] for i in mb], self.tokenizer.pad_token_id, cfg.padding_free)
                                for mb in plan.microbatches]
        # Normalise by the target tokens of the whole optimizer step, so k micro-batches of b examples give
        # exactly the gradient of one batch of k*b examples, whatever their lengths.
        step_targets = max(1, sum(b.target_tokens for b in batches))
        loss_sum = torch.zeros((), device=self.device)
        for batch in batches:
            batch = batch.to(self.device)
            logits = self.model(**batch.model_inputs, use_cache=False).logits
            micro_loss, _ = shifted_ce_sum(logits, batch.labels)
            (micro_loss / step_targets).backward()
            loss_sum += micro_loss.detach()
            self.tokens_seen += batch.tokens
        loss = float(loss_sum) / step_targets
        if not math.isfinite(loss):
            raise NonFiniteLoss(f"the loss became {loss} at step {self.step + 1}")
        max_norm = cfg.max_grad_norm if cfg.max_grad_norm > 0 else float("inf")
        grad_norm = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), max_norm))
        lr = self.optimizer.param_groups[0]["lr"]
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss, grad_norm, lr

    # ------------------------------------------------------------------ evaluate
    def _evaluating(self) -> bool:
        return self.cfg.eval_strategy != "no"

    def evaluate(self) -> None:
        metrics: dict[str, float] = {}
        if self.val_set:
            metrics = evaluate_loss(self.model, self.val_set, self.cfg.per_device_eval_batch_size,
                                    self.tokenizer.pad_token_id, self.device, self.cfg.padding_free)
        exact = self._emit_generations()
        if exact is not None:
            metrics["exact_match"] = exact
        if self.val_set:
            epoch = self.step / self.steps_per_epoch
            self.events.emit("eval", step=self.step, epoch=epoch, **metrics)
            shown = "  ".join(f"{k} {v:.4f}" for k, v in metrics.items())
            self._say(f"eval @ step {self.step}: {shown}")

    def _emit_generations(self) -> float | None:
        if not self.prompts:
            return None
        results = generate(self.model, self.conv, self.prompts, self.sampling, self.device,
                           self.cfg.per_device_eval_batch_size)
        for g in results:
            fields = {"prompt_id": g.prompt.id, "prompt": g.prompt.prompt, "completion": g.completion,
                      "max_new_tokens": self.sampling.max_new_tokens, "temperature": g.temperature,
                      "top_p": 1.0 if g.temperature == 0 else self.sampling.top_p, "top_k": self.sampling.top_k}
            if g.prompt.reference is not None:
                fields["reference"] = g.prompt.reference
            self.events.emit("generation", step=self.step, **fields)
        scored = [g.exact_match for g in results if g.exact_match is not None]
        return sum(scored) / len(scored) if scored else None

    # ------------------------------------------------------------------ save
    def save_checkpoint(self, final: bool = False) -> Path:
        path = ckpt.save_checkpoint(self.run_dir, self.step, self.model, self.tokenizer, self._trainer_state())
        relative = str(path.relative_to(self.run_dir))
        self.events.emit("checkpoint", step=self.step, path=relative, final=final)
        if not final:
            ckpt.prune_checkpoints(self.run_dir, self.cfg.save_total_limit, protect={self.step})
        self.final_checkpoint = relative if final else getattr(self, "final_checkpoint", None)
        return path

    def _trainer_state(self) -> dict:
        return {"step": self.step, "tokens_seen": self.tokens_seen, "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "rng_cpu": torch.get_rng_state(),
                "rng_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}

    def _restore(self, state: dict) -> None:
        self.step = state["step"]
        self.tokens_seen = state["tokens_seen"]
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng_cpu"])
        if state.get("rng_cuda") and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng_cuda"])
        self._say(f"resuming at step {self.step}")

    # ------------------------------------------------------------------ cleanup
    def cleanup(self, status: str) -> None:
        fields = {"train_runtime_s": time.time() - self.started}
        if getattr(self, "final_checkpoint", None):
            fields["final_checkpoint"] = self.final_checkpoint
        self.events.emit("run_finished", step=self.step, status=status, **fields)
        self.status.close(status)
        self.events.close()

    def _say(self, text: str) -> None:
        print(text, flush=True)


def _report(recipe: SFTRecipe, kind: str, message: str, hint: str) -> None:
    print(f"error ({kind}): {message}\nhint: {hint}", file=sys.stderr, flush=True)
    events = getattr(recipe, "events", None)
    if events is not None:
        events.emit("error", step=recipe.step, kind=kind, message=message, hint=hint)


def run_training(cfg: RunConfig, config_path: Path, run_dir: Path, resume: bool = False) -> int:
    """Run the recipe; every failure ends in an `error` event and `run_finished`, never a bare traceback."""
    recipe = SFTRecipe(cfg, config_path, run_dir, resume)
    status, code = "failed", 1
    try:
        recipe.setup()
        status = recipe.train()
        code = 0
    except DataError as exc:
        _report(recipe, "data", str(exc), exc.hint)
        code = 2
    except NothingToResume as exc:
        _report(recipe, "config", str(exc), "Start a new run instead; this one saved no checkpoint.")
        code = 2
    except NonFiniteLoss as exc:
        _report(recipe, "nan", str(exc), HINTS["nan"])
    except torch.OutOfMemoryError as exc:
        _report(recipe, "oom", f"out of memory at step {recipe.step + 1}: {str(exc).splitlines()[0]}", HINTS["oom"])
    except KeyboardInterrupt:
        status, code = "stopped", 0
    except Exception as exc:  # noqa: BLE001 - the run must end with an event whatever happened
        traceback.print_exc()
        _report(recipe, "crash", f"{type(exc).__name__}: {exc}", HINTS["crash"])
    finally:
        if getattr(recipe, "events", None) is not None:
            recipe.cleanup(status)
    return code
