"""Sampled generations for the fixed prompt set: batched, left-padded, with the KV cache.

Prompts with a reference are decoded greedily so exact match is meaningful. The global RNG state is
saved and restored around sampling, so generating never changes the training trajectory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..data.dataset import ConversationTokenizer, Prompt


@dataclass
class SamplingParams:
    max_new_tokens: int
    temperature: float
    top_p: float
    top_k: int
    seed: int


@dataclass
class Generation:
    prompt: Prompt
    completion: str
    temperature: float

    @property
    def exact_match(self) -> bool | None:
        if self.prompt.reference is None:
            return None
        return self.completion.strip() == self.prompt.reference.strip()


def _left_pad(rows: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, width - len(r):] = torch.tensor(r)
        mask[i, width - len(r):] = 1
    return ids, mask


@torch.no_grad()
def generate(model: Any, conv: ConversationTokenizer, prompts: list[Prompt], params: SamplingParams,
             device: torch.device, batch_size: int = 32, synced: bool = False) -> list[Generation]:
    """`synced`: every rank of a sharded model calls this with the same prompts; each decoding step gathers
    weights from all ranks, so a rank whose sequences finished keeps stepping until all ranks are done."""
    tok = conv.tok
    stop_ids = conv.stop_token_ids()
    was_training = model.training
    model.eval()
    cpu_state = torch.get_rng_state()
    cuda_states = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    torch.manual_seed(params.seed)
    out: list[Generation] = []
    try:
        for greedy in (True, False):
            group = [p for p in prompts if (p.reference is not None or params.temperature == 0) == greedy]
            for start in range(0, len(group), batch_size):
                chunk = group[start:start + batch_size]
                ids, mask = _left_pad([conv.prompt_ids(p.messages) for p in chunk], tok.pad_token_id)
                sampling: dict[str, Any] = {"do_sample": False} if greedy else {
                    "do_sample": True, "temperature": params.temperature, "top_p": params.top_p, "top_k": params.top_k}
                output = model.generate(input_ids=ids.to(device), attention_mask=mask.to(device),
                                        max_new_tokens=params.max_new_tokens, eos_token_id=stop_ids,
                                        pad_token_id=tok.pad_token_id, use_cache=True, synced_gpus=synced,
                                        **sampling)
                for prompt, row in zip(chunk, output[:, ids.shape[1]:].tolist()):
                    # Stop at the first end of answer: EOS, or the template's end-of-turn token.
                    ends = [row.index(t) for t in stop_ids if t in row]
                    if ends:
                        row = row[:min(ends)]
                    text = tok.decode(row, skip_special_tokens=True)
                    out.append(Generation(prompt, text, 0.0 if greedy else params.temperature))
    finally:
        torch.set_rng_state(cpu_state)
        if cuda_states is not None:
            torch.cuda.set_rng_state_all(cuda_states)
        model.train(was_training)
    order = {p.id: i for i, p in enumerate(prompts)}
    return sorted(out, key=lambda g: order[g.prompt.id])
