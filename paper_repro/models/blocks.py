"""Building blocks of §3: the basic block, the bottleneck, and shortcut options A/B/C.

Every block's ``forward`` reads like Fig. 2/Fig. 5 of the paper: conv - BN - ReLU - conv - BN,
add the shortcut, ReLU. BN follows every convolution and precedes the activation (§3.4), so no
convolution carries a bias.

The decision "which shortcut does this block get?" lives in exactly one place:
:func:`make_shortcut`.
"""

from __future__ import annotations

import torch
from torch import nn

SHORTCUTS = ("A", "B", "C")


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """3x3 convolution, padding 1, no bias (a BN follows it)."""
    return nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution, no bias (a BN follows it)."""
    return nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False)


class ShortcutA(nn.Module):
    """Option A (§3.3): identity with stride-2 subsampling and zero-padded extra channels.

    It has no parameters. A named module rather than a lambda, so that models pickle and
    ``torch.save(model)`` works (a wart of a well-known CIFAR reproduction).
    """

    def __init__(self, in_planes: int, out_planes: int, stride: int):
        super().__init__()
        if out_planes < in_planes:
            raise ValueError(f"option A cannot reduce channels ({in_planes} -> {out_planes})")
        self.in_planes, self.out_planes, self.stride = in_planes, out_planes, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        extra = self.out_planes - self.in_planes
        if extra:
            # "the shortcut still performs identity mapping, with extra zero entries padded
            # for increasing dimensions" (§3.3)
            x = nn.functional.pad(x, (0, 0, 0, 0, 0, extra))
        return x

    def extra_repr(self) -> str:
        return f"{self.in_planes}->{self.out_planes}, stride={self.stride}"


def projection(in_planes: int, out_planes: int, stride: int) -> nn.Sequential:
    """W_s of eq. 2: a 1x1 convolution (with BN) that matches dimensions (options B and C)."""
    return nn.Sequential(conv1x1(in_planes, out_planes, stride), nn.BatchNorm2d(out_planes))


def check_shortcut(shortcut: str | None) -> None:
    if shortcut is not None and shortcut not in SHORTCUTS:
        raise ValueError(f"shortcut must be one of 'A', 'B', 'C' (§3.3), got {shortcut!r}")


def make_shortcut(shortcut: str | None, in_planes: int, out_planes: int, stride: int) -> nn.Module | None:
    """The shortcut of one block, or None for a plain block.

    A: identity where shapes match, zero-padding identity where they change (no parameters).
    B: identity where shapes match, projection where they change.
    C: projection on every shortcut.
    """
    check_shortcut(shortcut)
    if shortcut is None:
        return None
    changes_shape = stride != 1 or in_planes != out_planes
    if shortcut == "C" or (shortcut == "B" and changes_shape):
        return projection(in_planes, out_planes, stride)
    if shortcut == "A" and changes_shape:
        return ShortcutA(in_planes, out_planes, stride)
    return nn.Identity()


class BasicBlock(nn.Module):
    """Two 3x3 convolutions (Fig. 2; Fig. 5 left). ``shortcut=None`` makes it a plain block."""

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1, shortcut: str | None = "A"):
        super().__init__()
        self.conv1 = conv3x3(in_planes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = make_shortcut(shortcut, in_planes, planes * self.expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        if self.shortcut is not None:
            out = out + self.shortcut(x)  # eq. 1 / eq. 2: y = F(x) + x  (or + W_s x)
        return self.relu(out)


class Bottleneck(nn.Module):
    """1x1 reduce - 3x3 - 1x1 expand (x4) (Fig. 5 right), for ResNet-50/101/152.

    The paper strides the first 1x1 convolution where a stage begins ("ResNet v1", as in the
    authors' released Caffe models). torchvision strides the 3x3 convolution instead
    ("ResNet v1.5"); we follow the paper, which is also why our multiply-add counts match
    Table 1 (3.8 G for ResNet-50) where torchvision's give 4.1 G.
    """

    expansion = 4

    def __init__(self, in_planes: int, planes: int, stride: int = 1, shortcut: str | None = "B"):
        super().__init__()
        self.conv1 = conv1x1(in_planes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = make_shortcut(shortcut, in_planes, planes * self.expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        out = self.relu(out)
        out = self.conv3(out)
        out = self.bn3(out)
        if self.shortcut is not None:
            out = out + self.shortcut(x)
        return self.relu(out)


def init_weights(model: nn.Module) -> None:
    """He ("MSRA") initialisation [13] for convolutions; BN starts as the identity.

    The paper initialises "as in [13]", whose forward-pass rule is std = sqrt(2 / (k^2 c)) with c
    the *input* channels (fan_in, Caffe's MSRA filler default). torchvision uses fan_out; we
    follow the paper.
    """
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
