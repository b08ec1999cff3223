"""The CIFAR-10 networks of §4.2: 6n+2 weighted layers.

First a 3x3 convolution with 16 filters, then three stages of n basic blocks (2n layers each) on
32x32, 16x16 and 8x8 maps with 16, 32 and 64 filters, subsampling by stride-2 convolutions at
the start of stages 2 and 3, global average pooling and a 10-way fully-connected layer.
With shortcut option A (the paper's choice for CIFAR) the ResNets have exactly as many
parameters as their plain counterparts.

Parameters (Table 6), checked by tests/test_models.py:

    ResNet-20 0.27M, ResNet-32 0.46M, ResNet-44 0.66M, ResNet-56 0.85M,
    ResNet-110 1.7M, ResNet-1202 19.4M
"""

from __future__ import annotations

import torch
from torch import nn

from paper_repro.models.blocks import BasicBlock, check_shortcut, conv3x3, init_weights

WIDTHS = (16, 32, 64)


def check_cifar_depth(depth: int) -> int:
    """Return n for a 6n+2 depth, or raise ValueError naming what is allowed."""
    if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
        raise ValueError(f"CIFAR depth must be 6n+2 with n >= 1 (8, 14, 20, 32, 44, 56, 110, 1202, ...), got {depth!r}")
    return (depth - 2) // 6


class CifarResNet(nn.Module):
    """A 6n+2-layer CIFAR network; ``shortcut=None`` gives the plain network."""

    def __init__(self, depth: int, shortcut: str | None = "A", num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        n = check_cifar_depth(depth)
        check_shortcut(shortcut)
        self.depth, self.shortcut_option = depth, shortcut
        self.conv1 = conv3x3(in_channels, WIDTHS[0])
        self.bn1 = nn.BatchNorm2d(WIDTHS[0])
        self.relu = nn.ReLU(inplace=True)
        in_planes = WIDTHS[0]
        stages = []
        for i, width in enumerate(WIDTHS):
            blocks = []
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                blocks.append(BasicBlock(in_planes, width, stride, shortcut))
                in_planes = width
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(WIDTHS[-1], num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def cifar_resnet(depth: int, shortcut: str = "A", num_classes: int = 10, in_channels: int = 3) -> CifarResNet:
    """ResNet-(6n+2) for CIFAR-10 (§4.2). The paper uses option A on CIFAR."""
    if shortcut is None:
        raise ValueError("shortcut must be one of 'A', 'B', 'C' (§3.3); use cifar_plain for no shortcut")
    return CifarResNet(depth, shortcut, num_classes, in_channels)


def cifar_plain(depth: int, num_classes: int = 10, in_channels: int = 3) -> CifarResNet:
    """Plain-(6n+2) for CIFAR-10: the same net without shortcuts (Fig. 6 left)."""
    return CifarResNet(depth, None, num_classes, in_channels)
