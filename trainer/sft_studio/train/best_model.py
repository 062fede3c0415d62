"""Which evaluation was the best so far, and whether the run should stop early.

The field names and their meaning follow Hugging Face TrainingArguments (metric_for_best_model,
greater_is_better, early_stopping_patience, early_stopping_threshold), so a config written for that
trainer means the same here. The tracker is plain data so that a resumed run continues the count
where the interrupted one left it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

# Metrics where a smaller value is better; every other evaluation metric is better when larger.
LOWER_IS_BETTER = frozenset({"loss", "perplexity"})
# What evaluate() can report (see evaluate.py); exact_match needs generation prompts with references.
KNOWN_METRICS = ("loss", "perplexity", "token_accuracy", "accuracy", "f1", "exact_match")


def metric_key(name: str) -> str:
    """`eval_loss` and `loss` name the same metric (HF writes the prefix, our eval events do not)."""
    return name[len("eval_"):] if name.startswith("eval_") else name


def greater_is_better_default(name: str) -> bool:
    return metric_key(name) not in LOWER_IS_BETTER


class MissingMetric(ValueError):
    """The evaluation did not report metric_for_best_model (e.g. exact_match without references)."""


@dataclass
class BestTracker:
    metric: str
    """Evaluation metric compared across evaluations, without the eval_ prefix."""
    greater_is_better: bool
    threshold: float = 0.0
    """An evaluation improves only when it beats the best by more than this."""
    patience: Optional[int] = None
    """Evaluations in a row without improvement before the run stops; None never stops."""
    best_value: Optional[float] = None
    best_step: Optional[int] = None
    best_checkpoint: Optional[str] = None
    """The checkpoint folder (relative to the run folder) written at best_step, once there is one."""
    evaluations_without_improvement: int = 0

    @classmethod
    def from_config(cls, cfg: Any) -> Optional["BestTracker"]:
        """A tracker when the config asks for a best checkpoint or early stopping, else None."""
        wanted = (cfg.metric_for_best_model or cfg.load_best_model_at_end or cfg.early_stopping_patience
                  or cfg.save_strategy == "best")
        if not wanted:
            return None
        name = metric_key(cfg.metric_for_best_model or "loss")
        greater = cfg.greater_is_better if cfg.greater_is_better is not None else greater_is_better_default(name)
        return cls(metric=name, greater_is_better=greater, threshold=float(cfg.early_stopping_threshold or 0.0),
                   patience=cfg.early_stopping_patience)

    def observe(self, step: int, metrics: dict[str, float]) -> bool:
        """Record one evaluation; True when it is the new best."""
        if self.metric not in metrics:
            reported = ", ".join(sorted(metrics)) or "nothing"
            raise MissingMetric(f"metric_for_best_model `{self.metric}` was not reported by the evaluation at step "
                                f"{step} (it reported {reported})")
        value = float(metrics[self.metric])
        if self.best_value is None or self._improves(value):
            self.best_value, self.best_step = value, step
            self.best_checkpoint = None  # the checkpoint of the new best is not written yet
            self.evaluations_without_improvement = 0
            return True
        self.evaluations_without_improvement += 1
        return False

    def _improves(self, value: float) -> bool:
        assert self.best_value is not None
        margin = value - self.best_value if self.greater_is_better else self.best_value - value
        return margin > self.threshold

    @property
    def should_stop(self) -> bool:
        return self.patience is not None and self.evaluations_without_improvement >= self.patience

    def checkpoint_saved(self, step: int, relative_path: str) -> bool:
        """Note a checkpoint written at `step`; True when it holds the best weights so far."""
        if step == self.best_step:
            self.best_checkpoint = relative_path
            return True
        return False

    def state_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "best_value": self.best_value, "best_step": self.best_step,
                "best_checkpoint": self.best_checkpoint,
                "evaluations_without_improvement": self.evaluations_without_improvement}

    def load_state_dict(self, state: Optional[dict[str, Any]]) -> None:
        """Continue from a checkpoint's record; a record for another metric is ignored (the config changed)."""
        if not state or state.get("metric") != self.metric:
            return
        self.best_value = state.get("best_value")
        self.best_step = state.get("best_step")
        self.best_checkpoint = state.get("best_checkpoint")
        self.evaluations_without_improvement = int(state.get("evaluations_without_improvement") or 0)
