"""Measurements on networks: parameter and multiply-add counts (Table 1, Table 6) and layer
responses (Fig. 7).

Counts come from plain parameter sums and ``torch.utils.flop_counter``, not a home-made counter.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from paper_repro.models import ARCHITECTURES, ShortcutA, build_model, resnet
from paper_repro.paper import classification as paper


def num_parameters(model: nn.Module) -> int:
    """Number of learnable parameters (BN's running statistics are buffers, not counted)."""
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def multiply_adds(model: nn.Module, input_size: tuple[int, ...] = (1, 3, 224, 224)) -> float:
    """Multiply-adds of one forward pass of a single image, as Table 1 counts them.

    ``FlopCounterMode`` counts 2 FLOPs per multiply-add of convolutions and matrix products
    (BN, ReLU and pooling are not counted, as in the paper's figure).
    """
    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False)
    with counter:
        model(torch.zeros(input_size))
    model.train(was_training)
    return counter.get_total_flops() / 2 / input_size[0]


def count_layers(model: nn.Module) -> int:
    """Weighted layers as the paper counts them: convolutions on the main path plus the FC layer
    (1x1 projection shortcuts are not counted)."""
    n = 0
    for name, m in model.named_modules():
        if isinstance(m, nn.Linear) or (isinstance(m, nn.Conv2d) and ".shortcut" not in name):
            n += 1
    return n


def response_layers(model: nn.Module) -> list[tuple[str, nn.BatchNorm2d]]:
    """The BN layers that follow each 3x3 convolution, in forward order.

    Fig. 7 plots "the outputs of each 3x3 layer, after BN and before other nonlinearity
    (ReLU/addition)". In our blocks convN is always followed by bnN, so the pairing is by name.
    """
    modules = dict(model.named_modules())
    layers = []
    for name, m in modules.items():
        if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3) and ".shortcut" not in name:
            parent, _, leaf = name.rpartition(".")
            bn_name = (parent + "." if parent else "") + leaf.replace("conv", "bn")
            bn = modules.get(bn_name)
            if not isinstance(bn, nn.BatchNorm2d):
                raise RuntimeError(f"no BN after 3x3 conv {name}")
            layers.append((bn_name, bn))
    return layers


@torch.no_grad()
def bn_gammas(model: nn.Module) -> dict[str, float]:
    """Mean |gamma| of the BN after each 3x3 convolution, in layer order. A response taken after
    BN (Fig. 7) has, per channel, std |gamma| on the data BN normalised; so while training has not
    moved gamma far from its initial 1, the responses stay near 1 whatever the net."""
    return {name: bn.weight.abs().mean().item() for name, bn in response_layers(model)}


@torch.no_grad()
def layer_responses(
    model: nn.Module, batches: Iterable, device: str | torch.device = "cpu", max_images: int | None = None
) -> dict[str, float]:
    """Fig. 7: the standard deviation of every 3x3 layer's response on a data set.

    Forward hooks collect each BN output (after BN, before ReLU or the addition). The std is
    taken over all images, positions and channels of the layer, accumulated exactly in float64
    over the batches. Returns ``{bn_name: std}`` in layer order. The model runs in eval mode
    (BN uses its running statistics, as at test time).
    """
    model = model.to(device).eval()
    layers = response_layers(model)
    sums = {name: torch.zeros(3, dtype=torch.float64) for name, _ in layers}

    def hook(name):
        def fn(_module, _inputs, out):
            o = out.detach().double()
            sums[name] += torch.stack(
                [torch.tensor(float(o.numel()), dtype=torch.float64), o.sum().cpu(), (o * o).sum().cpu()]
            )

        return fn

    handles = [bn.register_forward_hook(hook(name)) for name, bn in layers]
    seen = 0
    try:
        for x, _ in batches:
            if max_images is not None and seen >= max_images:
                break
            if max_images is not None:
                x = x[: max_images - seen]
            model(x.to(device))
            seen += len(x)
    finally:
        for h in handles:
            h.remove()
    out = {}
    for name, (n, s, ss) in sums.items():
        mean = s / n
        out[name] = float(torch.sqrt(torch.clamp(ss / n - mean * mean, min=0.0)))
    return out


def architecture_table(depths: Iterable[int] = (18, 34, 50, 101, 152)) -> list[dict]:
    """Table 1 regenerated from the code: layers, parameters and multiply-adds of each net,
    beside the paper's multiply-adds."""

    rows = []
    for d in depths:
        block, counts, paper_macs = ARCHITECTURES[d]
        m = resnet(d, "B")
        rows.append(
            {
                "depth": d,
                "block": block.__name__,
                "blocks_per_stage": list(counts),
                "layers": count_layers(m),
                "params": num_parameters(m),
                "multiply_adds": multiply_adds(m),
                "paper_multiply_adds": paper_macs,
            }
        )
    return rows


# --------------------------------------------------------------------------- the paper's counting tables
def shortcut_rows(depths=(34, 50)) -> list[dict]:
    """Options A, B and C (§3.3) side by side: parameters and how many shortcuts project or zero-pad."""

    rows = []
    for option in "ABC":
        for depth in depths:
            m = resnet(depth, option)
            rows.append(
                {
                    "net": f"ResNet-{depth}",
                    "option": option,
                    "params_m": num_parameters(m) / 1e6,
                    "projections": sum(
                        1
                        for n, mod in m.named_modules()
                        if n.endswith("shortcut") and isinstance(mod, torch.nn.Sequential)
                    ),
                    "zero_pad": sum(1 for mod in m.modules() if isinstance(mod, ShortcutA)),
                }
            )
    return rows


def table1_rows() -> list[dict]:

    rows = []
    for r in architecture_table():
        rows.append(
            {
                "net": f"ResNet-{r['depth']}",
                "block": r["block"],
                "stages": "×".join(map(str, r["blocks_per_stage"])),
                "layers": r["layers"],
                "params_m": r["params"] / 1e6,
                "gmacs": r["multiply_adds"] / 1e9,
                "paper_gmacs": r["paper_multiply_adds"] / 1e9,
                "diff_pct": 100 * (r["multiply_adds"] / r["paper_multiply_adds"] - 1),
            }
        )
    return rows


def paper_rounding(n: int, like: str) -> str:
    """Round a parameter count as the paper rounds the value ``like`` (e.g. "0.27M", "19.4M")."""
    decimals = len(like.rstrip("M").split(".")[1]) if "." in like else 0
    return f"{n / 1e6:.{decimals}f}M"


def cifar_param_rows(depths=(20, 32, 44, 56, 110, 1202)) -> list[dict]:
    rows = []
    for d in depths:
        n = num_parameters(build_model(f"resnet{d}"))
        rows.append(
            {
                "net": f"ResNet-{d}",
                "params": n,
                "ours": paper_rounding(n, paper.TABLE6_PARAMS[d]),
                "paper": paper.TABLE6_PARAMS[d],
                "plain_params": num_parameters(build_model(f"plain{d}")),
            }
        )
    return rows


def cost_ratio(a: str, b: str) -> float:
    """Multiply-adds of one forward pass of net ``a`` over net ``b`` (32x32 input, counted by
    ``torch.utils.flop_counter``): what an iteration of ``a`` costs against one of ``b``."""
    return multiply_adds(build_model(a), (1, 3, 32, 32)) / multiply_adds(build_model(b), (1, 3, 32, 32))
