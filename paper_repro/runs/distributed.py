"""One run on several processes (torchrun + DistributedDataParallel): the rank and world size,
and the few collectives the training loop needs (sums, minimum, barrier). With one process every
call is a no-op."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def distributed() -> tuple[int, int]:
    """(rank, world size); initialises torch.distributed when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() and os.environ.get("PAPER_REPRO_BACKEND") != "gloo" else "gloo"
        dist.init_process_group(backend)
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def all_sum(t: torch.Tensor, world: int) -> torch.Tensor:
    if world > 1:
        dist.all_reduce(t)
    return t


def all_min(t: torch.Tensor, world: int) -> torch.Tensor:
    if world > 1:
        dist.all_reduce(t, op=dist.ReduceOp.MIN)
    return t


def barrier(world: int) -> None:
    if world > 1:
        dist.barrier()
