"""FSDP2 sharding (`fsdp: full_shard | shard_grad_op`) for models that do not fit one device.

Layout: `fully_shard` on every decoder layer, then on the whole model (the root group holds the
embeddings, the final norm and the head; a tied head is the same parameter as the embeddings). Every
parameter becomes a DTensor split on dim 0 over the ranks; a layer's full weights exist only while it
runs (full_shard: gathered for the forward, freed, gathered again for the backward; shard_grad_op:
kept from the forward to the backward). Gradients and AdamW's moments live as shards next to them.

How it composes with the recipe (train/recipe.py calls these helpers where data parallel would do its own):

- Loss and gradients. The recipe divides the loss by the target tokens of the whole global step on all
  ranks, so the exact gradient is the *sum* of the ranks' gradients (train/distributed.py). FSDP2's
  reduce-scatter averages by default; here the divide factor is 1 with sum-only collectives, so each
  rank's gradient shard is the summed gradient, as the data-parallel all-reduce gives.
- Every forward and backward gathers and reduce-scatters, so all ranks must run the same number of
  them: a rank whose share of a short last micro-batch is empty runs a stand-in example whose loss is
  multiplied by 0 (see SFTRecipe._optimizer_step).
- Clipping: `clip_grad_norm` reduces the norms of the shards over the ranks, so the norm that is
  logged and clipped to is the global one.
- Checkpoints: every rank takes part in gathering, rank 0 writes. The model is saved from full CPU
  tensors in the usual Hugging Face layout (tied weights stay one tensor), the optimizer state with
  full tensors and torch's usual integer keys, so a checkpoint is the same with or without fsdp:
  export, generate and chat read it as they always do, and resume (with or without fsdp) reshards it.
- Evaluation and generations: every rank evaluates the same batches and generates for the same
  prompts (each forward gathers the layers from all ranks; `generate` runs with synced_gpus so the
  ranks keep stepping together even if one finished early); rank 0 alone writes the events.
- The fused cross-entropy calls the decoder without the root module, which would skip the gather of
  the embeddings and the head: under fsdp the loss comes from the model's full logits.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist

from .load import decoder_layers


def shard_model(model: torch.nn.Module, device: torch.device, mode: str) -> None:
    """Shard `model` (full weights on every rank, any device) in place over all ranks, onto `device`."""
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import FSDPModule, fully_shard

    mesh = init_device_mesh(device.type, (dist.get_world_size(),))
    keep_gathered = mode == "shard_grad_op"
    for layer in decoder_layers(model):
        fully_shard(layer, mesh=mesh, reshard_after_forward=not keep_gathered)
    # The root's parameters (embeddings, head) are needed again right at the start of the backward.
    fully_shard(model, mesh=mesh, reshard_after_forward=False)
    for module in model.modules():
        if isinstance(module, FSDPModule):
            # Sum, not average: the loss is already normalised by the global step's target tokens.
            module.set_gradient_divide_factor(1.0)
            module.set_force_sum_reduction_for_comms(True)


def reshard(model: torch.nn.Module) -> None:
    """Put every group back to its shards. The root keeps its gathered weights after a forward (they are
    needed again at the start of the backward), so after an evaluation or generation without a backward
    they would stay gathered, and the module would show plain tensors instead of its DTensor shards."""
    from torch.distributed.fsdp import FSDPModule

    for module in model.modules():
        if isinstance(module, FSDPModule):
            module.reshard()


def broadcast_full_weights(model: torch.nn.Module, device: torch.device) -> None:
    """Rank 0's full weights on every rank, before sharding (the weights may sit on the CPU while the
    backend needs `device`: each tensor goes through `device` on its own)."""
    for tensor in list(model.parameters()) + list(model.buffers()):
        staged = tensor.data.to(device)
        dist.broadcast(staged, src=0)
        if staged is not tensor.data:
            tensor.data.copy_(staged)


def _full(tensor: torch.Tensor) -> torch.Tensor:
    from torch.distributed.tensor import DTensor

    return tensor.full_tensor() if isinstance(tensor, DTensor) else tensor


def clip_grad_norm(params: list[torch.nn.Parameter], max_norm: float) -> float:
    """clip_grad_norm_ over sharded gradients: the norm of the whole gradient, the same on every rank."""
    grads = [p.grad for p in params if p.grad is not None]
    total = _full(torch.nn.utils.get_total_norm(grads))
    torch.nn.utils.clip_grads_with_norm_([p for p in params if p.grad is not None], max_norm, total)
    return float(total)


def gather_model_state(model: torch.nn.Module, keep: bool) -> dict[str, torch.Tensor]:
    """The full state dict as CPU tensors where `keep` (rank 0), {} elsewhere. Collective: every rank
    calls it. A parameter shared by several names (a tied head) is gathered once and stays one tensor,
    so save_pretrained drops the alias exactly as it does for an unsharded model."""
    reshard(model)
    by_name = dict(model.named_parameters(remove_duplicate=False))
    done: dict[int, torch.Tensor] = {}
    out: dict[str, torch.Tensor] = {}
    for name, value in model.state_dict().items():
        source = by_name.get(name)
        if source is not None and id(source) in done:
            full = done[id(source)]
        else:
            full = _full(source if source is not None else value).detach()
            full = full.to("cpu", copy=True) if keep else full
            if source is not None:
                done[id(source)] = full
        if keep:
            out[name] = full
    return out


def gather_optimizer_state(optimizer: torch.optim.Optimizer, keep: bool) -> dict[str, Any] | None:
    """optimizer.state_dict() with every sharded state gathered into a full CPU tensor: the layout of an
    unsharded optimizer (integer keys in param_group order). Collective; None where not `keep`."""
    state = optimizer.state_dict()
    gathered: dict[int, dict[str, Any]] = {}
    for index in sorted(state["state"]):
        entry = {}
        for key in sorted(state["state"][index]):
            value = state["state"][index][key]
            if isinstance(value, torch.Tensor):
                value = _full(value).detach()
                value = value.to("cpu", copy=True) if keep else value
            entry[key] = value
        gathered[index] = entry
    return {"state": gathered, "param_groups": state["param_groups"]} if keep else None


def shard_optimizer_state(optimizer: torch.optim.Optimizer, state: dict[str, Any]) -> dict[str, Any]:
    """A full optimizer state dict (as `gather_optimizer_state` or an unsharded run wrote it) with each
    tensor that has its parameter's full shape cut into this rank's shard, ready for load_state_dict."""
    from torch.distributed.tensor import DTensor, distribute_tensor

    params = [p for group in optimizer.param_groups for p in group["params"]]
    sharded: dict[int, dict[str, Any]] = {}
    for index, entry in state["state"].items():
        param = params[int(index)]
        sharded[index] = {}
        for key, value in entry.items():
            if isinstance(param, DTensor) and isinstance(value, torch.Tensor) and value.shape == param.shape:
                # Every rank read the same file: each keeps its own slice, no communication needed.
                value = distribute_tensor(value.to(param.device), param.device_mesh, param.placements, src_data_rank=None)
            sharded[index][key] = value
    return {"state": sharded, "param_groups": state["param_groups"]}
