# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Detection: ResNet-101 in Faster R-CNN (§4.3, Tables 7 and 8)
#
# > "We adopt Faster R-CNN [32] as the detection method. Here we are interested in the improvements
# > of replacing VGG-16 [41] with ResNet-101." (Appendix A)
#
# **The claim.** Replacing VGG-16 by ResNet-101 in Faster R-CNN, and changing nothing else,
# improves detection: on PASCAL VOC 2007 test (trained on VOC 2007+2012) the mAP goes from 73.2%
# to 76.4% (Table 7); on COCO val from 41.5% to 48.4% at mAP@.5 and from 21.2% to 27.2% at
# mAP@[.5, .95], a 28% relative gain the paper credits to the learned representations alone
# (Table 8).
#
# **The design ("C4", Appendix A).** ResNet-101 has no hidden fc layers, so the paper splits the
# network at conv5_1: conv1 to conv4_x compute one stride-16 feature map per image that the region
# proposal network (RPN) and the detector share; RoI pooling crops each proposal from that map;
# conv5_x and global average pooling run once per region and feed the sibling classification and
# box-regression layers. BN statistics and affine parameters are fixed after ImageNet
# pre-training. The VGG-16 baseline is the original Faster R-CNN: conv5_3 features (stride 16)
# and the fc6/fc7 head.
#
# Both detectors are torchvision's `FasterRCNN` (its RPN, RoI sampling, losses and
# post-processing, unchanged) with the backbones of `paper_repro.detection.backbones`. mAP@.5 and
# mAP@[.5, .95] come from pycocotools' `COCOeval`; on VOC the VOC07 11-point mAP as well.

# **Your experiment.** Left at `None`, the parameters mean the profile's plan: both backbones,
# seed 0, the profile's length.

# %% tags=["parameters", "hide-cell"]
profile = "cpu"  # smoke: seconds; cpu: this machine; full: the paper's scale, a GPU
nets = None  # the backbones, e.g. ["resnet101", "vgg16"]; None: both
iterations = None  # e.g. 400; None: the profile's length
seeds = None  # e.g. [0, 1, 2]; None: seed 0
voc_root = ""  # full profile: a folder holding VOCdevkit/VOC2007 and VOC2012 (Table 7)
coco_root = ""  # full profile: a COCO folder (Table 8)
pretrained_dir = ""  # torchvision's ImageNet weights: resnet101-*.pth and vgg16-*.pth

# %% tags=["hide-cell"]
from paper_repro.book import detection as dx
from paper_repro.book.source import show_source
from paper_repro.detection.backbones import BACKBONES, ResNetC4Head, ResNetC4Trunk
from paper_repro.experiments import runs as ex

P = ex.setup(profile, nets=nets, iterations=iterations, seeds=seeds, choices=BACKBONES, voc_root=voc_root,
             coco_root=coco_root, pretrained_dir=pretrained_dir)

# %% [markdown]
# ## The C4 design: what is shared and what runs per region
#
# ResNet-101's conv1 to conv4_x run once per image; conv5_x and the pooling run once per region:

# %%
show_source(ResNetC4Trunk, ResNetC4Head)

# %% [markdown]
# Parameter counts, measured on the modules this project builds (ResNet-101 of Table 1 and
# torchvision's VGG-16 layers), at the paper's RoI sizes:

# %%
dx.show(dx.c4_design_markdown())

# %% [markdown]
# ## Train
#
# No pretrained weights and no VOC or COCO images can be downloaded here, so the `smoke` and `cpu`
# profiles train both detectors **from scratch** on the embedded data set: real Fashion-MNIST items
# pasted on larger black canvases, several per image, each labelled with its class and boxed by
# the extent it was pasted at; the held-out canvases use the Fashion-MNIST test items. From
# scratch there are no ImageNet statistics to freeze, so ResNet-101's BN learns its statistics
# (the frozen-BN path is used, and tested, with pretrained weights). The profiles shrink the data,
# the schedule and the RPN/RoI sampling budgets, not the architecture: the trunks, the split
# before conv5_1 and the heads are the paper's. The `full` profile trains Table 7's setting (VOC
# 2007+2012, ImageNet weights, Faster R-CNN's schedule) when `voc_root` and `pretrained_dir` are
# given, and Table 8's with `coco_root`.

# %%
res = ex.run_detection(P.name, voc_root, coco_root, pretrained_dir, nets=nets, iterations=iterations, seeds=seeds)
print(dx.describe_runs(res))

# %%
dx.show(dx.setup_markdown(res))

# %% [markdown]
# ## Measured mAP beside Tables 7 and 8

# %%
dx.show_results(res)

# %% [markdown]
# ## Held-out images and their detections

# %%
dx.show_samples(res)

# %% [markdown]
# ## Training losses

# %%
dx.show_losses(res)

# %% [markdown]
# ## PASCAL VOC and COCO (full profile)

# %%
dx.show_full(res)

# %% tags=["remove-cell"]
if nets is None and iterations is None and seeds is None:  # the report page collects the profile's plan
    dx.save_report_rows(res)
