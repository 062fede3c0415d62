"""The SFT recipe: setup -> train -> evaluate -> save -> cleanup, readable top to bottom."""

from __future__ import annotations

import json
import math
import os
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import torch

from ..config import MODEL_COMMIT, RunConfig
from ..data.dataset import (
    ConversationTokenizer,
    DatasetStats,
    Prompt,
    conversation_tokenizer,
    load_prompts,
    load_splits,
)
from ..data.formats import FormatOptions
from ..data.packing import pack_for_training
from ..errors import (
    CheckpointError,
    CheckpointWriteError,
    DataError,
    HubError,
    ModelSetupError,
    RunFolderLocked,
    TokenizerError,
)
from ..model import fsdp, hub
from ..model.flops import FlopMeter
from ..model.load import count_parameters, load_model, load_tokenizer, pick_device
from ..model.precision import Precision
from ..model.varlen_attention import use_varlen_attention
from ..run import run_lock
from ..run.control import Control
from ..run.events import EventWriter, StatusFile, write_json_atomic
from ..run.reporting import MetricSink
from . import checkpoint as ckpt
from .batching import Batch, collate, epoch_microbatches
from .best_model import BestTracker, MissingMetric
from .distributed import World, init_world, launcher_identity
from .evaluate import evaluate_split
from .generate import SamplingParams, generate
from .optim import build_optimizer, build_scheduler

HINTS = {
    "oom": "Lower per_device_train_batch_size (raise gradient_accumulation_steps to keep the effective batch), "
           "lower max_length, turn on gradient_checkpointing or padding_free, train LoRA (use_lora: true) or "
           "freeze layers (freeze_layers), or use bf16.",
    "nan": "Lower learning_rate, raise warmup_ratio or warmup_steps, keep max_grad_norm at 1.0, or train with "
           "bf16 or in float32 instead of float16 (fp16 / torch_dtype: float16).",
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
    def __init__(self, cfg: RunConfig, config_path: Path, run_dir: Path, resume: bool = False,
                 model: hub.ModelSource | None = None):
        self.cfg = cfg
        self.model_source = model
        self.resume = resume
        self.config_path = config_path
        self.run_dir = run_dir
        self.step = 0
        self.tokens_seen = 0
        self.started = time.time()
        # The best evaluation so far and the early-stopping count, when the config asks for either.
        self.best = BestTracker.from_config(cfg)
        self.early_stop = False
        self.end_reason = "error"
        self.final_checkpoint: str | None = None
        self.last_checkpoint: str | None = None
        # Set by setup()'s steps, in this order; a failure leaves the later ones None (run_training reports it
        # through `events` and cleans up what exists).
        self.device: torch.device | None = None
        self.world: World | None = None
        self.events: EventWriter | None = None
        self.status: StatusFile | None = None
        self.sink: MetricSink | None = None
        self.control: Control | None = None
        self.tokenizer: Any = None
        self.train_stats: DatasetStats | None = None
        self.train_set: list[Any] = []
        self.val_set: list[Any] = []
        self.conv: ConversationTokenizer | None = None  # causal_lm only
        self.prompts: list[Prompt] = []
        self.sampling: SamplingParams | None = None
        self.fsdp = False
        self.model: Any = None
        self.trainable: list[torch.nn.Parameter] = []
        self.forward: Callable[..., Any] | None = None
        self.precision: Precision | None = None
        self.optimizer: torch.optim.Optimizer | None = None
        self.scheduler: torch.optim.lr_scheduler.LambdaLR | None = None
        self.steps_per_epoch = 0
        self.total_steps = 0

    # ------------------------------------------------------------------ setup
    def setup(self) -> None:
        self._open_run_folder()
        self._resolve_model()
        self._open_channels()
        torch.manual_seed(self.cfg.seed)
        # The loaders read the local folder (a Hub model's cached snapshot); everything else keeps the config as written.
        local = hub.loading_config(self.cfg, self.model_source)
        self._load_data(local)
        resume_from, resume_state = self._resume_point()
        self._load_model(local, resume_from)
        self._build_optimizer()
        if resume_state is not None:
            self._restore(resume_state)
        self._announce(resume_from)

    def _open_run_folder(self) -> None:
        """The device and the process group, then the run folder: locked, with its event log and status file."""
        self.device = pick_device(self.cfg.device)
        self.world = init_world(self.device)
        main = self.world.is_main
        self.run_dir.mkdir(parents=True, exist_ok=True)
        launcher = launcher_identity()
        if main:
            # Before the first write: another trainer's folder is refused, not interleaved with this run.
            run_lock.acquire(self.run_dir, launcher=launcher)
        self.events = EventWriter(self.run_dir / "events.jsonl", enabled=main)
        self.status = StatusFile(self.run_dir / "status.json", enabled=main, launcher=launcher,
                                 run_name=self.cfg.run_name, config_path=str(self.config_path))

    def _resolve_model(self) -> None:
        """The model's local folder, and config.resolved.json recording the Hub commit it holds."""
        cfg, main = self.cfg, self.world.is_main
        # A Hub model was fetched by `train` before it started (or relaunched) this process; here it is only
        # looked up, or fetched when the recipe runs on its own (one process, no launcher).
        self.model_source = self.model_source or hub.resolve(
            cfg, commit=self._pinned_commit(), local_only=self.world.active,
            progress=hub.reporters(hub.ProgressLine(), lambda p: self.events.emit("download", **p.fields())) if main else None)
        if main:
            write_json_atomic(self.run_dir / "config.resolved.json", {**cfg.to_dict(), **self._model_commit()})

    def _open_channels(self) -> None:
        """Metrics out (report_to), requests in (control.jsonl and signals)."""
        self.sink = MetricSink(self.cfg.report_to if self.world.is_main else "none", self.run_dir,
                               lambda message: self.events.emit("log", level="warning", message=message),
                               config=self.cfg.to_dict())
        self.control = Control(self.run_dir / "control.jsonl")
        self.control.install_signal_handlers()

    def _load_data(self, local: RunConfig) -> None:
        """Tokenizer, training and validation examples, generation prompts."""
        cfg = self.cfg
        self.tokenizer = load_tokenizer(local)
        splits = load_splits(cfg, self.tokenizer)
        self.train_stats, self.val_set = splits.train_stats, splits.validation
        # Packing turns the examples into packed rows, the units that micro-batches are cut from.
        self.train_set = pack_for_training(splits.train, cfg)
        self.conv = conversation_tokenizer(cfg, self.tokenizer) if cfg.task == "causal_lm" else None
        self.prompts = load_prompts(cfg.generation_prompts_file, FormatOptions.from_config(cfg)) \
            if cfg.generation_prompts_file else []
        self.sampling = SamplingParams(cfg.generation_max_new_tokens, cfg.generation_temperature,
                                       cfg.generation_top_p, cfg.generation_top_k, cfg.seed)

    def _resume_point(self) -> tuple[Path | None, dict | None]:
        """On resume, the checkpoint to continue from and its trainer state; (None, None) for a fresh run. What an
        interrupted save left behind is cleared first either way."""
        if self.world.is_main:
            cleared = ckpt.remove_unfinished(self.run_dir)
            if cleared:
                self._say(f"removed what an interrupted save left in checkpoints/: {', '.join(cleared)}")
        if not self.resume:
            return None, None
        path = self._checkpoint_to_resume()[1]
        # Read before the model loads, so a checkpoint that cannot be resumed fails the run at once.
        return path, ckpt.load_trainer_state(path)

    def _load_model(self, local: RunConfig, checkpoint: Path | None) -> None:
        """The model (from `checkpoint` on resume) on this rank's device: replicated, or sharded under fsdp."""
        cfg = self.cfg
        self.fsdp = cfg.fsdp != "no"
        if self.fsdp and not self.world.active:
            raise ModelSetupError(f"`fsdp: {cfg.fsdp}` needs more than one process, but this run has one; "
                                  "set `nproc_per_node: 2` or more, or `fsdp: no`")
        # Under fsdp the full model is loaded on the CPU and only this rank's shard moves to the device.
        load_device = torch.device("cpu") if self.fsdp else self.device
        self.model = load_model(local, load_device, checkpoint)
        self.model.train()
        if cfg.varlen_attention and (cfg.padding_free or cfg.packing) and cfg.attn_implementation == "sdpa":
            # Per-example attention skips the cross-example scores a block-diagonal mask would compute and discard.
            use_varlen_attention(self.model)
        if self.fsdp:
            fsdp.broadcast_full_weights(self.model, self.device)
            fsdp.shard_model(self.model, self.device, cfg.fsdp)
        else:
            self.world.broadcast_parameters(self.model)
        self.trainable = [p for p in self.model.parameters() if p.requires_grad]
        # Only the training forward is compiled; evaluation and generation use the plain module.
        self.forward = torch.compile(self.model) if cfg.torch_compile else self.model
        self.model.register_forward_pre_hook(self._beat_on_forward)

    def _build_optimizer(self) -> None:
        """Precision, optimizer, the schedule's length and the learning-rate scheduler."""
        cfg = self.cfg
        self.precision = Precision(cfg, self.device)
        self.optimizer = build_optimizer(self.model, cfg, self.device)
        batches_per_epoch = math.ceil(len(self.train_set) / self.global_microbatch_size)
        self.steps_per_epoch = max(1, math.ceil(batches_per_epoch / cfg.gradient_accumulation_steps))
        self.total_steps = cfg.max_steps if cfg.max_steps > 0 else math.ceil(cfg.num_train_epochs * self.steps_per_epoch)
        self.scheduler = build_scheduler(self.optimizer, cfg, self.total_steps)

    def _announce(self, resumed_from: Path | None) -> None:
        """run_started (the run's shape, for the dashboard), status `running`, and the same in words."""
        cfg, stats = self.cfg, self.train_stats
        resumed = {"resumed_from": str(resumed_from.relative_to(self.run_dir))} if resumed_from else {}
        total, trainable = count_parameters(self.model)
        self.events.emit("run_started", step=self.step, **resumed, **self._model_commit(), config=cfg.to_dict(),
                         config_path=str(self.config_path),
                         total_steps=self.total_steps, steps_per_epoch=self.steps_per_epoch,
                         num_parameters=total, trainable_parameters=trainable, world_size=self.world.world_size,
                         device=str(self.device), train_examples=stats.examples,
                         eval_examples=len(self.val_set), truncated_examples=stats.truncated_examples,
                         dropped_examples=stats.dropped_examples,
                         **({"first_dropped": stats.first_dropped} if stats.first_dropped else {}),
                         train_tokens=stats.tokens, trained_tokens=stats.trained_tokens,
                         train_rows=len(self.train_set))
        self.status.update(state="running", step=self.step, total_steps=self.total_steps)
        if stats.dropped_examples:
            self._say(f"{stats.dropped_examples} overlong rows dropped (excess_length_strategy: "
                      f"{cfg.excess_length_strategy}); first: {stats.first_dropped}")
        self._say(f"run {cfg.run_name}: {stats.examples} examples ({stats.truncated_examples} truncated), "
                  f"{trainable:,} of {total:,} parameters trainable, {self.total_steps} steps on {self.device}")

    def _model_commit(self) -> dict[str, str]:
        """`model_commit` for config.resolved.json and run_started, when the model came from the Hub."""
        return {MODEL_COMMIT: self.model_source.commit} if self.model_source.commit else {}

    # ------------------------------------------------------------------ train
    def train(self) -> str:
        cfg = self.cfg
        if self._evaluating() and self.step == 0:
            self.evaluate()
        last_log_time, last_log_tokens = time.time(), 0
        # The ETA counts from here, after the step-0 evaluation, so that one-off cost does not inflate it.
        started, first_step = last_log_time, self.step
        flops = FlopMeter.for_run(self.model, cfg, self.device, self.world.world_size)
        for plan in self._step_plans():
            loss, grad_norm, lr = self._optimizer_step(plan)
            # Every rank's examples of the step, from host-side lengths: no collective, no device sync.
            flops.add_step(self.train_set[i] for mb in plan.microbatches for i in mb)
            self.step += 1
            epoch = plan.epoch + (plan.index_in_epoch + 1) / self.steps_per_epoch
            self.status.beat(step=self.step)
            if self.step % cfg.logging_steps == 0 or self.step == self.total_steps:
                now = time.time()
                rate = (self.tokens_seen - last_log_tokens) / max(1e-9, now - last_log_time)
                utilisation = flops.take(now - last_log_time)
                last_log_time, last_log_tokens = now, self.tokens_seen
                self.events.emit("train", step=self.step, epoch=epoch, loss=loss, grad_norm=grad_norm,
                                 learning_rate=lr, tokens=self.tokens_seen, tokens_per_s=rate, **utilisation,
                                 **_device_counters(self.device))
                self.sink.scalars("train", self.step, {"loss": loss, "grad_norm": grad_norm, "learning_rate": lr,
                                                       "tokens_per_s": rate})
                eta = (now - started) / (self.step - first_step) * (self.total_steps - self.step)
                self._say(f"step {self.step}/{self.total_steps}  loss {loss:.4f}  lr {lr:.2e}  "
                          f"grad_norm {grad_norm:.3f}  {rate:,.0f} tok/s  eta {_clock(eta)}")
            end_of_epoch = plan.index_in_epoch + 1 == self.steps_per_epoch
            if self._evaluating() and self.step != self.total_steps and (
                    (cfg.eval_strategy == "steps" and self.step % cfg.eval_steps == 0)
                    or (cfg.eval_strategy == "epoch" and end_of_epoch)):
                self.evaluate()
            self._agree_on_requests()
            if self.early_stop:
                if self.world.is_main:  # only rank 0 evaluated under data parallel
                    self._say(f"early stopping at step {self.step}: {self.best.metric} has not improved for "
                              f"{self.best.evaluations_without_improvement} evaluations (best "
                              f"{self.best.best_value:.4f} at step {self.best.best_step})")
                self.save_checkpoint(final=True)
                return self._finish("completed", "early_stopped")
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
                return self._finish("stopped", "stop_requested")
        if self._evaluating():
            self.evaluate()
        self.save_checkpoint(final=True)
        return self._finish("completed", "end_of_schedule")

    def _finish(self, status: str, reason: str) -> str:
        """Name why training ended and, with load_best_model_at_end, make the best checkpoint the result."""
        self.end_reason = reason
        if status == "completed" and self.cfg.load_best_model_at_end and self.best and self.best.best_checkpoint \
                and self.best.best_checkpoint != self.final_checkpoint:
            self._say(f"the result is the best checkpoint, {self.best.best_checkpoint} ({self.best.metric} "
                      f"{self.best.best_value:.4f}); the last state is in {self.final_checkpoint}")
            self.final_checkpoint = self.best.best_checkpoint
        return status

    @property
    def global_microbatch_size(self) -> int:
        """One micro-batch of every rank together: the data order is the same whatever the world size."""
        return self.cfg.per_device_train_batch_size * self.world.world_size

    def _shard(self, microbatch: list[int]) -> list[int]:
        """This rank's contiguous share of a global micro-batch (a short last one is split as evenly as possible)."""
        n, w, r = len(microbatch), self.world.world_size, self.world.rank
        return microbatch[r * n // w:(r + 1) * n // w]

    def _agree_on_requests(self) -> None:
        """A signal may reach only some ranks and control.jsonl is read by each: all ranks act on the union."""
        self.control.poll()
        c = self.control
        c.stop_requested, c.save_requested, c.generate_requested, self.early_stop = self.world.any(
            [c.stop_requested, c.save_requested, c.generate_requested, self.early_stop], self.device)

    def _step_plans(self) -> Iterator[StepPlan]:
        cfg = self.cfg
        # The order of an epoch depends only on (seed, epoch), so a resumed run picks up at the same place.
        epoch, first = divmod(self.step, self.steps_per_epoch)
        while True:
            order = epoch_microbatches(self.train_set, self.global_microbatch_size, cfg, epoch)
            for index in range(first, self.steps_per_epoch):
                if self.step >= self.total_steps:
                    return
                accum = cfg.gradient_accumulation_steps
                yield StepPlan(epoch, index, order[index * accum:(index + 1) * accum])
            epoch, first = epoch + 1, 0

    def _optimizer_step(self, plan: StepPlan) -> tuple[float, float, float]:
        cfg = self.cfg
        # (indices, weight) per micro-batch of this rank. Under fsdp every rank must run every forward and backward
        # (each gathers and reduce-scatters): an empty share runs the micro-batch's first example with weight 0.
        shares: list[tuple[list[int], float]] = []
        for mb in plan.microbatches:
            shard = self._shard(mb)
            if shard:
                shares.append((shard, 1.0))
            elif self.fsdp:
                shares.append((mb[:1], 0.0))
        batches: list[tuple[Batch, float]] = [
            (collate([self.train_set[i] for i in share], self.tokenizer.pad_token_id, cfg.padding_free), weight)
            for share, weight in shares]
        # Normalise by the target tokens of the whole optimizer step on all ranks, so k micro-batches of b examples
        # on W ranks give exactly the gradient of one batch of k*b*W examples, whatever their lengths.
        step_targets = max(1.0, self.world.sum([float(sum(b.target_tokens * w for b, w in batches))], self.device)[0])
        loss_sum = torch.zeros((), device=self.device)
        tokens = 0
        # The fused loss calls the decoder itself, which would bypass a compiled forward and fsdp's root module.
        fused = cfg.fused_cross_entropy and not cfg.torch_compile and not self.fsdp
        for batch, weight in batches:
            batch = batch.to(self.device)
            with self.precision.autocast():
                micro_loss, _ = batch.loss_sum(self.forward, fused=fused)
            self.precision.backward(micro_loss / step_targets if weight else micro_loss * 0.0)
            if weight:
                loss_sum += micro_loss.detach()
                tokens += batch.tokens
        if not self.fsdp:
            self.world.sum_gradients(self.trainable)  # fsdp's reduce-scatter already summed them
        total_loss, total_tokens = self.world.sum([float(loss_sum), float(tokens)], self.device)
        self.tokens_seen += int(total_tokens)
        loss = total_loss / step_targets
        if not math.isfinite(loss):
            raise NonFiniteLoss(f"the loss became {loss} at step {self.step + 1}")
        self.precision.unscale(self.optimizer)
        max_norm = cfg.max_grad_norm if cfg.max_grad_norm > 0 else float("inf")
        grad_norm = fsdp.clip_grad_norm(self.trainable, max_norm) if self.fsdp \
            else float(torch.nn.utils.clip_grad_norm_(self.trainable, max_norm))
        if not math.isfinite(grad_norm) and self.precision.scaler is None:
            # fp16's scaler skips such a step and lowers its scale; without one the weights would be ruined.
            raise NonFiniteLoss(f"the gradient norm became {grad_norm} at step {self.step + 1}")
        lr = self.optimizer.param_groups[0]["lr"]
        self.precision.step(self.optimizer)
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss, grad_norm, lr

    # ------------------------------------------------------------------ evaluate
    def _evaluating(self) -> bool:
        return self.cfg.eval_strategy != "no"

    def evaluate(self) -> None:
        if not self.world.is_main and not self.fsdp:
            return  # the other ranks wait for rank 0 at the next step's first collective
        # Under fsdp every rank evaluates the same batches (each forward gathers layers from all ranks);
        # only rank 0's writer and sinks are enabled.
        metrics: dict[str, float] = {}
        if self.val_set:
            metrics = evaluate_split(self.model, self.val_set, self.cfg.per_device_eval_batch_size,
                                    self.tokenizer.pad_token_id, self.device, self.cfg.padding_free)
            if self.fsdp:
                fsdp.reshard(self.model)
        exact = self._emit_generations()
        if exact is not None:
            metrics["exact_match"] = exact
        if self.val_set:
            epoch = self.step / self.steps_per_epoch
            best = self._track_best(metrics) if self.best is not None and self.step > 0 else {}
            self.events.emit("eval", step=self.step, epoch=epoch, **metrics, **best)
            self.sink.scalars("eval", self.step, metrics)
            shown = "  ".join(f"{k} {v:.4f}" for k, v in metrics.items())
            self._say(f"eval @ step {self.step}: {shown}")

    def _track_best(self, metrics: dict[str, float]) -> dict[str, bool]:
        """Compare this evaluation with the best so far (the step-0 baseline is the base model, never a candidate);
        the eval event's `best` flag."""
        try:
            improved = self.best.observe(self.step, metrics)
        except MissingMetric as exc:
            raise ModelSetupError(f"{exc}; set `metric_for_best_model` to one of them") from None
        if improved and self.cfg.save_strategy == "best":
            self.control.save_requested = True  # agreed with the other ranks before the save
        self.early_stop = self.best.should_stop
        return {"best": improved}

    def _emit_generations(self) -> float | None:
        if not self.prompts or (not self.world.is_main and not self.fsdp):
            return None
        results = generate(self.model, self.conv, self.prompts, self.sampling, self.device,
                           self.cfg.per_device_eval_batch_size, synced=self.fsdp)
        if self.fsdp:
            fsdp.reshard(self.model)
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
    def save_checkpoint(self, final: bool = False) -> Path | None:
        self.status.beat()
        weights = optimizer = None
        if self.fsdp:
            # Every rank takes part in gathering the full weights and optimizer state; rank 0 writes them.
            weights = fsdp.gather_model_state(self.model, keep=self.world.is_main)
            optimizer = fsdp.gather_optimizer_state(self.optimizer, keep=self.world.is_main)
        if not self.world.is_main:
            return None  # data parallel: every rank holds the same weights and optimizer state
        merge = final and self.cfg.use_lora and self.cfg.merge_lora_on_save
        relative = f"{ckpt.CHECKPOINTS}/{ckpt.checkpoint_name(self.step)}"
        is_best = self.best is not None and self.best.best_step == self.step
        path = ckpt.save_checkpoint(self.run_dir, self.step, self.model, self.tokenizer,
                                    self._trainer_state(optimizer, best_checkpoint=relative if is_best else None),
                                    merge, state_dict=weights)
        relative = str(path.relative_to(self.run_dir))
        best = {"best": self.best.checkpoint_saved(self.step, relative)} if self.best is not None else {}
        self.events.emit("checkpoint", step=self.step, path=relative, final=final, **best)
        if not final:
            # The best checkpoint is never pruned: it is what load_best_model_at_end returns.
            protect = {self.step} | ({self.best.best_step} if self.best and self.best.best_step is not None else set())
            ckpt.prune_checkpoints(self.run_dir, self.cfg.save_total_limit, protect=protect)
        else:
            self.final_checkpoint = self.last_checkpoint = relative
        return path

    def _trainer_state(self, optimizer: dict | None = None, best_checkpoint: str | None = None) -> dict:
        optimizer = optimizer if optimizer is not None else self.optimizer.state_dict()
        best = None
        if self.best is not None:
            best = self.best.state_dict()
            best["best_checkpoint"] = best_checkpoint or best["best_checkpoint"]
        return {"step": self.step, "tokens_seen": self.tokens_seen, "optimizer": optimizer, "best": best,
                "scheduler": self.scheduler.state_dict(), "grad_scaler": self.precision.state_dict(),
                "rng_cpu": torch.get_rng_state(),
                "rng_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}

    def _checkpoint_to_resume(self) -> tuple[int, Path]:
        """The newest checkpoint whose complete.json verifies. Rank 0 checks (a warning event for each newer one
        it passes over) and tells the other ranks, so every rank loads the same one and the files are read once."""
        passed_over: list[str] = []

        def warn(message: str) -> None:
            passed_over.append(message)
            self.events.emit("log", level="warning", message=f"{message}; trying an older checkpoint")
            self._say(f"warning: {message}")

        found = ckpt.latest_resumable(self.run_dir, warn) if self.world.is_main else None
        if self.world.active:
            # Steps are far below 2**53, so a float64 sum with zeros elsewhere carries rank 0's choice exactly.
            chosen = int(self.world.sum([float(found[0] + 1) if found else 0.0], self.device)[0]) - 1
            found = (chosen, self.run_dir / ckpt.CHECKPOINTS / ckpt.checkpoint_name(chosen)) if chosen >= 0 else None
        if found is None:
            why = f": {'; '.join(passed_over)}" if passed_over else ""
            raise NothingToResume(f"{self.run_dir} has no complete checkpoint to resume from{why}")
        return found

    def _restore(self, state: dict) -> None:
        self.step = state["step"]
        self.tokens_seen = state["tokens_seen"]
        # Checkpoints hold full optimizer tensors whether or not the run that wrote them sharded; fsdp cuts them.
        self.optimizer.load_state_dict(fsdp.shard_optimizer_state(self.optimizer, state["optimizer"])
                                       if self.fsdp else state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.precision.load_state_dict(state.get("grad_scaler"))
        if self.best is not None:
            self.best.load_state_dict(state.get("best"))
        torch.set_rng_state(state["rng_cpu"])
        if state.get("rng_cuda") and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng_cuda"])
        self._say(f"resuming at step {self.step}")

    # ------------------------------------------------------------------ cleanup
    def cleanup(self, status: str, wait_for_ranks: bool = False) -> None:
        fields = {"train_runtime_s": time.time() - self.started,
                  "reason": self.end_reason if status != "stopped" else "stop_requested"}
        if self.final_checkpoint:
            fields["final_checkpoint"] = self.final_checkpoint
        if self.last_checkpoint and self.last_checkpoint != self.final_checkpoint:
            fields["last_checkpoint"] = self.last_checkpoint
        if self.best is not None and self.best.best_step is not None:
            fields.update(metric_for_best_model=self.best.metric, best_metric=self.best.best_value,
                          best_step=self.best.best_step)
            if self.best.best_checkpoint:
                fields["best_checkpoint"] = self.best.best_checkpoint
        self.events.emit("run_finished", step=self.step, status=status, **fields)
        self.status.close(status)
        self.events.close()
        if self.world.is_main:
            run_lock.release(self.run_dir)
        if self.sink is not None:
            self.sink.close()
        # A clean finish waits for every rank before leaving the process group (gloo may abort a rank
        # that tears down while another still has collectives in flight); after a failure it does not.
        self.world.close(barrier=wait_for_ranks)

    def _beat_on_forward(self, *_: object) -> None:
        """Evaluations and generations run the model outside the step loop; each of their forward passes is
        progress too, so a long evaluation is not taken for a hung run. Compiled training steps beat once per step
        instead (a traced hook would split the graph)."""
        if not torch.compiler.is_compiling():
            self.status.beat()

    def _pinned_commit(self) -> str | None:
        """The Hub commit this run must load: the one it recorded (resume), or the one its launcher fetched."""
        if self.resume:
            try:
                return json.loads((self.run_dir / "config.resolved.json").read_text(encoding="utf-8")).get(MODEL_COMMIT)
            except (OSError, ValueError):
                return None
        return os.environ.get(hub.COMMIT_ENV) or None

    def _say(self, text: str) -> None:
        if self.world is None or self.world.is_main:
            print(text, flush=True)


def _report(recipe: SFTRecipe, kind: str, message: str, hint: str) -> None:
    print(f"error ({kind}): {message}\nhint: {hint}", file=sys.stderr, flush=True)
    if recipe.events is not None:
        recipe.events.emit("error", step=recipe.step, kind=kind, message=message, hint=hint)


def run_training(cfg: RunConfig, config_path: Path, run_dir: Path, resume: bool = False,
                 model: hub.ModelSource | None = None) -> int:
    """Run the recipe; every failure ends in an `error` event and `run_finished`, never a bare traceback."""
    recipe = SFTRecipe(cfg, config_path, run_dir, resume, model)
    status, code, finished = "failed", 1, False
    try:
        recipe.setup()
        status = recipe.train()
        finished = True
        code = 0
    except DataError as exc:
        _report(recipe, "data", str(exc), exc.hint)
        code = 2
    except RunFolderLocked as exc:
        # Raised before this process wrote anything, so nothing goes into the folder the other trainer writes.
        _report(recipe, "config", str(exc), "Stop the other run first, or resume or start this one in another folder.")
        code = 2
    except NothingToResume as exc:
        _report(recipe, "config", str(exc), "Start a new run instead; this one has no checkpoint to continue from.")
        code = 2
    except CheckpointError as exc:
        _report(recipe, "config", str(exc), "Start a new run instead, or resume a run folder whose checkpoints "
                                            "this version of SFT Studio wrote.")
        code = 2
    except CheckpointWriteError as exc:
        _report(recipe, "crash", str(exc), "Free disk space (or make the run folder writable), then Resume Run: "
                                           "the last complete checkpoint is intact and no partial one was left behind.")
    except TokenizerError as exc:
        _report(recipe, "config", str(exc), exc.hint)
        code = 2
    except ModelSetupError as exc:
        _report(recipe, "config", str(exc), "Fix the named field in the run config and start the run again.")
        code = 2
    except HubError as exc:
        _report(recipe, "config", exc.message, exc.hint)
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
        if recipe.events is not None:
            # Only after train() returned on every rank is it safe to wait for the others before leaving.
            recipe.cleanup(status, wait_for_ranks=finished)
    return code


def _device_counters(device: torch.device) -> dict[str, float]:
    """On CUDA: the peak memory since the previous train event (the peak is reset here) and the GPU's busy share
    over NVML's last sample period (when pynvml is installed). Nothing on CPU, where neither is measured."""
    if device.type != "cuda":
        return {}
    counters: dict[str, float] = {"mem_bytes": int(torch.cuda.max_memory_allocated(device))}
    torch.cuda.reset_peak_memory_stats(device)
    try:
        counters["gpu_utilization"] = torch.cuda.utilization(device) / 100.0
    except Exception:  # noqa: BLE001 - NVML missing or not permitted: the chart simply has no utilisation line
        pass
    return counters


def _clock(seconds: float) -> str:
    """4:05 or 1:02:03, for the progress line a person reads in a terminal or the trainer log."""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
