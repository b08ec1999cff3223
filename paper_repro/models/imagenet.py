"""The ImageNet networks of Table 1 (§3.3).

Stem: 7x7/2 convolution with 64 filters, 3x3/2 max pool; four stages conv2_x..conv5_x with 64,
128, 256 and 512 base filters, stride 2 at conv3_1, conv4_1 and conv5_1; global average pooling
and a 1000-way fully-connected layer. Each depth is one line of ``ARCHITECTURES``: Table 1
almost literally.
"""

from __future__ import annotations

import torch
from torch import nn

from paper_repro.models.blocks import BasicBlock, Bottleneck, check_shortcut, init_weights

# depth: (block, blocks per stage conv2_x..conv5_x, multiply-adds reported in Table 1)
ARCHITECTURES = {
    18: (BasicBlock, (2, 2, 2, 2), 1.8e9),
    34: (BasicBlock, (3, 4, 6, 3), 3.6e9),
    50: (Bottleneck, (3, 4, 6, 3), 3.8e9),
    101: (Bottleneck, (3, 4, 23, 3), 7.6e9),
    152: (Bottleneck, (3, 8, 36, 3), 11.3e9),
}
PLAIN_DEPTHS = (18, 34)  # the plain nets of Table 2 / Fig. 4
WIDTHS = (64, 128, 256, 512)


def check_imagenet_depth(depth: int, plain: bool = False) -> None:
    allowed = PLAIN_DEPTHS if plain else tuple(ARCHITECTURES)
    if depth not in allowed:
        kind = "plain ImageNet" if plain else "ImageNet ResNet"
        raise ValueError(f"{kind} depth must be one of {', '.join(map(str, allowed))} (Table 1), got {depth!r}")


class ImageNetResNet(nn.Module):
    """A Table 1 network; ``shortcut=None`` gives the plain network."""

    def __init__(self, depth: int, shortcut: str | None = "B", num_classes: int = 1000, in_channels: int = 3):
        super().__init__()
        check_imagenet_depth(depth, plain=shortcut is None)
        check_shortcut(shortcut)
        block, counts, _ = ARCHITECTURES[depth]
        self.depth, self.shortcut_option = depth, shortcut
        self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        in_planes = 64
        stages = []
        for i, (width, count) in enumerate(zip(WIDTHS, counts)):
            blocks = []
            for j in range(count):
                stride = 2 if (i > 0 and j == 0) else 1
                blocks.append(block(in_planes, width, stride, shortcut))
                in_planes = width * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_planes, num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet(depth: int, shortcut: str = "B", num_classes: int = 1000, in_channels: int = 3) -> ImageNetResNet:
    """ResNet-18/34/50/101/152 (Table 1) with shortcut option A, B (default) or C."""
    if shortcut is None:
        raise ValueError("shortcut must be one of 'A', 'B', 'C' (§3.3); use plain for no shortcut")
    return ImageNetResNet(depth, shortcut, num_classes, in_channels)


def plain(depth: int, num_classes: int = 1000, in_channels: int = 3) -> ImageNetResNet:
    """Plain-18 / plain-34 (Table 2, Fig. 4)."""
    return ImageNetResNet(depth, None, num_classes, in_channels)


def torchvision_key(key: str) -> str:
    """Map a torchvision ResNet state-dict key to ours (``downsample`` is our ``shortcut``)."""
    return key.replace(".downsample.", ".shortcut.")


def load_torchvision_state_dict(model: ImageNetResNet, state_dict: dict) -> None:
    """Load torchvision ResNet weights (e.g. ``ResNet101_Weights.IMAGENET1K_V1``) into our model.

    Shapes match one to one for shortcut B. Note that torchvision's bottleneck strides its 3x3
    convolution and ours (the paper's) its first 1x1: the weights load, and are a sound
    initialisation for fine-tuning, but the pretrained accuracy is not exactly torchvision's.
    """
    mapped = {torchvision_key(k): v for k, v in state_dict.items()}
    model.load_state_dict(mapped, strict=True)
