"""The two Faster R-CNN backbones of §4.3: ResNet-101 "C4" and the VGG-16 baseline.

ResNet-101 (Appendix A of the paper): conv1 .. conv4_x compute one stride-16 feature map that the
RPN and the detector share; RoI pooling sits before conv5_1; conv5_x and the global average pool
run once per region and feed the sibling classification and box-regression layers. BN statistics
and affine parameters are fixed after ImageNet pre-training ("frozen BN").

    ==================  ===========================  ==========  ==================
    part                layers                       runs        output
    ==================  ===========================  ==========  ==================
    shared trunk        conv1, conv2_x .. conv4_x    per image   1024 ch, stride 16
    RoI pooling         14x14 per region             per region  1024 x 14 x 14
    per-region head     conv5_x (conv5_1 stride 2),  per region  2048-d vector
                        global average pool
    predictor           cls (K+1), box (4(K+1))      per region  scores, boxes
    ==================  ===========================  ==========  ==================

VGG-16 (the original Faster R-CNN): conv1_1 .. conv5_3 (the last max pool removed, stride 16) is
the shared trunk; RoI pooling to 7x7; fc6 and fc7 (4096-d, ReLU, dropout) per region.

torchvision's FasterRCNN takes these as ``backbone`` (a module with ``out_channels``),
``box_roi_pool``, ``box_head`` (a flat feature vector per region) and ``box_predictor``
(``FastRCNNPredictor``). Its RPN, RoI sampling, losses and post-processing are used unchanged.

ImageNet weights come from torchvision state-dict files (``resnet101-*.pth``, ``vgg16-*.pth``)
through :func:`resnet101_key` and :func:`vgg16_key`, which the tests check load strictly and
reproduce torchvision's outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor
from torchvision.models.vgg import cfgs, make_layers
from torchvision.ops import FrozenBatchNorm2d, MultiScaleRoIAlign, roi_align, roi_pool

from paper_repro.detection.config import BACKBONES, DEFAULT_ROI_SIZE
from paper_repro.models import resnet
from paper_repro.models.imagenet import torchvision_key

STRIDE = 16  # both trunks: conv4_x of ResNet-101, conv5_3 of VGG-16
VGG_CONV5_3 = 30  # torchvision vgg16().features[:30] ends with conv5_3 + ReLU (index 30 is pool5)


# --------------------------------------------------------------------------- frozen BN
def freeze_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every ``nn.BatchNorm2d`` in ``module`` (in place) by torchvision's
    ``FrozenBatchNorm2d`` with the same statistics and affine parameters: all four become
    buffers, so neither SGD nor a forward pass in training mode can change them (§4.3: "BN
    layers are fixed during fine-tuning")."""
    for name, child in list(module.named_children()):
        if isinstance(child, nn.BatchNorm2d):
            frozen = FrozenBatchNorm2d(child.num_features, eps=child.eps)
            with torch.no_grad():
                if child.affine:
                    frozen.weight.copy_(child.weight)
                    frozen.bias.copy_(child.bias)
                if child.track_running_stats:
                    frozen.running_mean.copy_(child.running_mean)
                    frozen.running_var.copy_(child.running_var)
            setattr(module, name, frozen)
        else:
            freeze_batchnorm(child)
    return module


def set_trainable(modules, trainable: bool) -> None:
    for m in modules:
        for p in m.parameters():
            p.requires_grad_(trainable)


# --------------------------------------------------------------------------- ResNet-101 C4
class ResNetC4Trunk(nn.Module):
    """conv1 .. conv4_x of our Table 1 ResNet-101: the map the RPN and the detector share."""

    out_channels = 1024

    def __init__(self, net: nn.Module):
        super().__init__()
        self.conv1, self.bn1, self.relu, self.maxpool = net.conv1, net.bn1, net.relu, net.maxpool
        self.layer1, self.layer2, self.layer3 = net.layer1, net.layer2, net.layer3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer3(self.layer2(self.layer1(x)))


class ResNetC4Head(nn.Module):
    """conv5_x (conv5_1 has stride 2) and global average pooling, once per region."""

    out_features = 2048

    def __init__(self, net: nn.Module):
        super().__init__()
        self.layer4, self.avgpool = net.layer4, net.avgpool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.avgpool(self.layer4(x)), 1)


def resnet101_key(key: str) -> tuple[str, str] | None:
    """Where a torchvision ResNet-101 state-dict key goes: ``("trunk" | "head", our key)``, or
    None for the ImageNet classifier ``fc`` (the detector has its own predictor)."""
    if key.startswith("fc."):
        return None
    part = "head" if key.startswith("layer4.") else "trunk"
    return part, torchvision_key(key)  # ``downsample`` is our ``shortcut``


def use_torchvision_strides(net: nn.Module) -> nn.Module:
    """Move each stage's stride from the first 1x1 convolution (the paper's bottleneck, ours) to
    the 3x3 one, as torchvision's ResNets do ("v1.5"). Weights are unchanged; with this,
    torchvision's ImageNet weights compute exactly the features they were trained to compute."""
    for layer in (net.layer2, net.layer3, net.layer4):
        block = layer[0]
        if block.conv1.stride != (1, 1):
            block.conv2.stride, block.conv1.stride = block.conv1.stride, (1, 1)
    return net


# --------------------------------------------------------------------------- VGG-16
class VGG16Trunk(nn.Module):
    """conv1_1 .. conv5_3 with ReLUs and four max pools (torchvision's ``vgg16().features``
    without pool5): stride 16, 512 channels."""

    out_channels = 512

    def __init__(self):
        super().__init__()

        self.features = make_layers(cfgs["D"])[:VGG_CONV5_3]  # torchvision's vgg16().features, less pool5
        for m in self.features.modules():  # torchvision's VGG initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


class VGG16Head(nn.Module):
    """fc6 and fc7 (4096-d, ReLU, dropout 0.5) on the RoI-pooled conv5_3 features."""

    out_features = 4096

    def __init__(self, roi_size: int = 7, dropout: float = 0.5):
        super().__init__()
        self.fc6 = nn.Linear(512 * roi_size * roi_size, 4096)
        self.fc7 = nn.Linear(4096, 4096)
        self.drop = nn.Dropout(dropout)
        for fc in (self.fc6, self.fc7):  # torchvision's VGG initialisation
            nn.init.normal_(fc.weight, 0, 0.01)
            nn.init.zeros_(fc.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop(torch.relu(self.fc6(torch.flatten(x, 1))))
        return self.drop(torch.relu(self.fc7(x)))


def vgg16_key(key: str) -> tuple[str, str] | None:
    """Where a torchvision VGG-16 state-dict key goes: conv layers to the trunk, classifier.0/3
    (fc6/fc7) to the head; pool5 has no weights and fc8 (classifier.6) is replaced."""
    if key.startswith("features."):
        index = int(key.split(".")[1])
        return ("trunk", key) if index < VGG_CONV5_3 else None
    mapping = {"classifier.0.": "fc6.", "classifier.3.": "fc7."}
    for prefix, ours in mapping.items():
        if key.startswith(prefix):
            return "head", ours + key[len(prefix) :]
    return None


def split_state_dict(state_dict: dict, key_map) -> dict[str, dict]:
    """Split a torchvision state dict into {"trunk": ..., "head": ...} with ``key_map``."""
    parts: dict[str, dict] = {"trunk": {}, "head": {}}
    for key, value in state_dict.items():
        where = key_map(key)
        if where is not None:
            parts[where[0]][where[1]] = value
    return parts


# --------------------------------------------------------------------------- RoI pooling
class StrideRoIPool(MultiScaleRoIAlign):
    """RoI pooling on the single stride-16 map: ``"pool"`` is Fast R-CNN's RoI max pooling (the
    paper's), ``"align"`` RoIAlign. A subclass of MultiScaleRoIAlign only because FasterRCNN's
    constructor accepts nothing else; it uses none of the multi-scale machinery."""

    def __init__(self, output_size: int, op: str = "pool", spatial_scale: float = 1.0 / STRIDE):
        if op not in ("pool", "align"):
            raise ValueError(f"roi_op must be pool or align, got {op!r}")
        super().__init__(featmap_names=["0"], output_size=output_size, sampling_ratio=2)
        self.op, self.spatial_scale = op, spatial_scale

    def forward(self, x, boxes, image_shapes):
        feat = x["0"].float()  # RoI ops in fp32 (cheap); the head runs under autocast again
        boxes = [b.float() for b in boxes]
        if self.op == "pool":
            return roi_pool(feat, boxes, self.output_size, self.spatial_scale)
        return roi_align(feat, boxes, self.output_size, self.spatial_scale, sampling_ratio=2)

    def __repr__(self):
        return f"{self.__class__.__name__}(op={self.op}, output_size={self.output_size}, scale=1/{STRIDE})"


# --------------------------------------------------------------------------- builders
@dataclass(frozen=True)
class BackboneOptions:
    """How a backbone is built around its weights (see :func:`build_backbone`); None = the default
    that follows from whether ImageNet weights are given."""

    frozen_bn: bool | None = None
    roi_size: int | None = None  # None: DEFAULT_ROI_SIZE of the backbone
    roi_op: str = "pool"  # pool: Fast R-CNN's RoI pooling (the paper) | align
    freeze_early: bool | None = None
    torchvision_strides: bool | None = None
    zero_init_residual: bool = False


def build_backbone(name: str, state_dict: dict | None = None, options: BackboneOptions = BackboneOptions()):
    """(trunk, head, roi_size) for ``name`` in BACKBONES.

    ``state_dict``: a torchvision ImageNet state dict, or None to train from scratch (He
    initialisation). The ``options``: ``frozen_bn`` (ResNet only) defaults to True with pretrained weights, as in
    the paper; from scratch BN must learn its statistics (frozen at initialisation BN is the
    identity and a 101-layer net without normalisation does not train). ``freeze_early`` fixes
    the first layers when pretrained (VGG: conv1_x, conv2_x, as Fast R-CNN does; ResNet: conv1
    and conv2_x, the common C4 practice; the paper does not say). ``torchvision_strides``
    (default: when pretrained) strides the 3x3 convolutions as torchvision's weights expect, see
    :func:`use_torchvision_strides`; pass it when rebuilding a fine-tuned model without weights.
    ``zero_init_residual`` (ResNet, from scratch) starts the last BN of every bottleneck at zero,
    so each block starts as the identity (Goyal et al. 2017): a 101-layer net then starts to learn
    within the few hundred iterations of the CPU profile. The paper fine-tunes from ImageNet
    weights, where the question does not arise.
    """
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; allowed: {', '.join(BACKBONES)}")
    pretrained = state_dict is not None
    frozen_bn = pretrained if options.frozen_bn is None else options.frozen_bn
    freeze_early = pretrained if options.freeze_early is None else options.freeze_early
    torchvision_strides = pretrained if options.torchvision_strides is None else options.torchvision_strides
    roi_size = options.roi_size or DEFAULT_ROI_SIZE[name]
    if name == "resnet101":
        net = resnet(101, "B", num_classes=1000, in_channels=3)  # Table 1; its fc is not used
        if options.zero_init_residual:
            for m in net.modules():
                if hasattr(m, "bn3"):
                    nn.init.zeros_(m.bn3.weight)
        if torchvision_strides:
            use_torchvision_strides(net)
        trunk, head = ResNetC4Trunk(net), ResNetC4Head(net)
        if pretrained:
            parts = split_state_dict(state_dict, resnet101_key)
            trunk.load_state_dict(parts["trunk"], strict=True)
            head.load_state_dict(parts["head"], strict=True)
        if frozen_bn:
            freeze_batchnorm(trunk)
            freeze_batchnorm(head)
        if freeze_early:
            set_trainable([trunk.conv1, trunk.bn1, trunk.layer1], False)
    else:
        trunk, head = VGG16Trunk(), VGG16Head(roi_size)
        if pretrained:
            if roi_size != 7:
                raise ValueError(
                    f"ImageNet fc6 weights need 7x7 RoI pooling (VGG-16's pool5 size), got roi_size={roi_size}"
                )
            parts = split_state_dict(state_dict, vgg16_key)
            trunk.load_state_dict(parts["trunk"], strict=True)
            head.load_state_dict(parts["head"], strict=True)
        if freeze_early:
            set_trainable(list(trunk.features[:10]), False)  # conv1_1 .. conv2_2 (+ pools)
    return trunk, head, roi_size


def build_faster_rcnn(
    name: str,
    num_classes: int,
    state_dict: dict | None = None,
    options: BackboneOptions = BackboneOptions(),
    anchor_sizes=(128, 256, 512),
    aspect_ratios=(0.5, 1.0, 2.0),
    **faster_rcnn,
):
    """torchvision's FasterRCNN on one of our backbones. ``num_classes`` counts the background.

    ``faster_rcnn`` goes to FasterRCNN unchanged (image sizes, RPN and RoI sampling budgets,
    thresholds); the image sizes default to Faster R-CNN's (shorter side 600, longer at most 1000).
    Anchors: 3 scales x 3 aspect ratios at stride 16, as in Faster R-CNN (128^2, 256^2, 512^2 on VOC).
    """

    trunk, head, roi_size = build_backbone(name, state_dict, options)
    faster_rcnn = {"min_size": 600, "max_size": 1000, **faster_rcnn}
    anchors = AnchorGenerator(sizes=(tuple(anchor_sizes),), aspect_ratios=(tuple(aspect_ratios),))
    return FasterRCNN(
        trunk,
        num_classes=None,
        rpn_anchor_generator=anchors,
        box_roi_pool=StrideRoIPool(roi_size, options.roi_op),
        box_head=head,
        box_predictor=FastRCNNPredictor(head.out_features, num_classes),
        **faster_rcnn,
    )
