"""The paper's architectures: CIFAR 6n+2 nets (§4.2) and the ImageNet nets of Table 1 (§3.3).

>>> build_model("resnet20", in_channels=1).depth
20
"""

from __future__ import annotations

import re

from torch import nn

from paper_repro.models.blocks import SHORTCUTS, BasicBlock, Bottleneck, ShortcutA, make_shortcut
from paper_repro.models.cifar import CifarResNet, check_cifar_depth, cifar_plain, cifar_resnet
from paper_repro.models.imagenet import (
    ARCHITECTURES,
    PLAIN_DEPTHS,
    ImageNetResNet,
    load_torchvision_state_dict,
    plain,
    resnet,
)

__all__ = [
    "SHORTCUTS",
    "BasicBlock",
    "Bottleneck",
    "ShortcutA",
    "make_shortcut",
    "CifarResNet",
    "ImageNetResNet",
    "cifar_resnet",
    "cifar_plain",
    "resnet",
    "plain",
    "build_model",
    "parse_model_name",
    "ARCHITECTURES",
    "PLAIN_DEPTHS",
    "load_torchvision_state_dict",
    "MODEL_NAME_HELP",
]

MODEL_NAME_HELP = (
    "resnetN or plainN with N in 18, 34, 50, 101, 152 (ImageNet, Table 1; plain: 18, 34) "
    "or N = 6n+2 such as 20, 32, 44, 56, 110, 1202 (CIFAR, §4.2); "
    "prefix cifar_ for a CIFAR net of depth 50 or 152"
)
_NAME = re.compile(r"^(cifar_|imagenet_)?(resnet|plain)(\d+)$")


def parse_model_name(name: str) -> tuple[str, str, int]:
    """``"resnet20"`` -> ``("cifar", "resnet", 20)``; raise ValueError for an unknown name.

    Depths 18/34/50/101/152 name the ImageNet nets of Table 1 (50 and 152 are also 6n+2: write
    ``cifar_resnet50`` for the CIFAR one); every other 6n+2 depth names a CIFAR net.
    """
    m = _NAME.match(str(name).strip().lower())
    if not m:
        raise ValueError(f"unknown model {name!r}; allowed: {MODEL_NAME_HELP}")
    prefix, kind, depth = m.group(1), m.group(2), int(m.group(3))
    if prefix == "cifar_":
        family = "cifar"
    elif prefix == "imagenet_" or depth in ARCHITECTURES:
        family = "imagenet"
    else:
        family = "cifar"
    # validate now so that bad names fail before anything is built or written
    if family == "cifar":
        check_cifar_depth(depth)
    else:
        allowed = PLAIN_DEPTHS if kind == "plain" else tuple(ARCHITECTURES)
        if depth in allowed:
            return family, kind, depth
        raise ValueError(
            f"unknown model {name!r}: ImageNet {kind} depth must be one of "
            f"{', '.join(map(str, allowed))} (Table 1); allowed names: {MODEL_NAME_HELP}"
        )
    return family, kind, depth


def build_model(
    name: str, num_classes: int | None = None, in_channels: int = 3, shortcut: str | None = None
) -> nn.Module:
    """Build a network by name: ``resnet20``, ``plain56``, ``resnet1202``, ``resnet50``, ``plain34``.

    ``shortcut`` defaults to the paper's choice: A on CIFAR (§4.2), B on ImageNet (Table 3's
    ResNet-50/101/152 use B).
    """
    family, kind, depth = parse_model_name(name)
    if family == "cifar":
        nc = 10 if num_classes is None else num_classes
        if kind == "plain":
            return cifar_plain(depth, nc, in_channels)
        return cifar_resnet(depth, shortcut or "A", nc, in_channels)
    nc = 1000 if num_classes is None else num_classes
    if kind == "plain":
        return plain(depth, nc, in_channels)
    return resnet(depth, shortcut or "B", nc, in_channels)
