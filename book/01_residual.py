# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Residual learning (§3)
#
# **The claim.** Deeper plain networks can be *harder to optimise*: past some depth their
# training error goes up, not down (the *degradation problem*, Fig. 1). This is not overfitting,
# since the training error itself is higher. A deeper net could copy a shallower one and add
# identity layers, so a solver that fails to find such a solution is the problem. The paper lets
# a stack of layers fit a *residual* $\mathcal{F}(\mathbf{x}) := \mathcal{H}(\mathbf{x}) - \mathbf{x}$
# instead of the mapping $\mathcal{H}$ itself, and adds the input back through a shortcut:
#
# $$\mathbf{y} = \mathcal{F}(\mathbf{x}, \{W_i\}) + \mathbf{x} \qquad \text{(eq. 1)}$$
#
# When the shortcut must change the number of channels or the resolution, a projection $W_s$
# matches the dimensions:
#
# $$\mathbf{y} = \mathcal{F}(\mathbf{x}, \{W_i\}) + W_s\mathbf{x} \qquad \text{(eq. 2)}$$
#
# This chapter builds every network of the paper from `paper_repro.models`, checks its shapes,
# and regenerates Table 1 (layers, parameters, multiply-adds) and the parameter column of
# Table 6 from the code.

# %% tags=["parameters", "remove-cell"]
profile = "cpu"

# %% tags=["hide-cell"]
import torch
from IPython.display import Markdown, display

from paper_repro.book import findings
from paper_repro.book.source import show_source
from paper_repro.book.tables import markdown_table
from paper_repro.experiments import runs as ex
from paper_repro.models import BasicBlock, Bottleneck, build_model, measure
from paper_repro.models.blocks import ShortcutA, make_shortcut, projection

P = ex.setup(profile)
print(f"profile: {P.name} (this chapter trains nothing: every number is computed from the code)")

# %% [markdown]
# ## The two blocks
#
# *Basic block* (Fig. 2; Fig. 5 left), used by ResNet-18/34 and all CIFAR nets:
# 3×3 conv – BN – ReLU – 3×3 conv – BN, add the shortcut, ReLU. *Bottleneck* (Fig. 5 right), used
# by ResNet-50/101/152: 1×1 (reduce) – 3×3 – 1×1 (expand ×4), BN after each convolution. BN
# follows every convolution and precedes the activation; no convolution has a bias.
# The paper strides the bottleneck's *first* 1×1 convolution where a stage begins; torchvision
# strides its 3×3 ("ResNet v1.5"). We follow the paper.

# %% [markdown]
# The basic block's `forward`, as the package runs it (the source is read from the code, not
# copied): eq. 1, $y = F(x, \{W_i\}) + x$, then the ReLU.

# %% tags=["remove-input"]
show_source(BasicBlock.forward)

# %%
print(BasicBlock(64, 64, shortcut="A"))
print(Bottleneck(256, 128, stride=2, shortcut="B"))

# %% [markdown]
# A small check per block: the output shape, and that the residual branch plus the shortcut is
# exactly what the block computes before its last ReLU (eq. 1).

# %%
x = torch.randn(2, 64, 16, 16)
for block in (BasicBlock(64, 64, 1, "A"), BasicBlock(64, 128, 2, "A"), BasicBlock(64, 128, 2, "B"),
              Bottleneck(64, 64, 1, "B"), Bottleneck(256, 128, 2, "C")):
    block.eval()
    y = block(x if block.conv1.in_channels == 64 else torch.randn(2, 256, 16, 16))
    print(f"{type(block).__name__:>10} {block.conv1.in_channels:>3}->{y.shape[1]:<4} stride {16 // y.shape[-1]}  "
          f"shortcut {type(block.shortcut).__name__:<10} output {tuple(y.shape)}")

blk = BasicBlock(64, 64, 1, "A").eval()
with torch.no_grad():
    residual = blk.bn2(blk.conv2(blk.relu(blk.bn1(blk.conv1(x)))))
    assert torch.allclose(blk(x), torch.relu(residual + x)), "the block must compute ReLU(F(x) + x)"
print("eq. 1 holds: block(x) == ReLU(F(x) + x)")

# %% [markdown]
# ## Shortcut options A, B and C (§3.3, Table 3)
#
# * **A**: identity; where the dimensions increase, stride-2 subsampling and *zero-padded* extra
#   channels. No parameters. (The paper's choice on CIFAR-10.)
# * **B**: identity, and a 1×1 projection (with BN) only where the dimensions change.
# * **C**: projections on every shortcut.

# %% [markdown]
# Which shortcut a block gets is decided in one place, `make_shortcut`; option A is a module with
# no parameters, and B/C use the 1×1 projection with BN (eq. 2):

# %% tags=["remove-input"]
show_source(make_shortcut, ShortcutA, projection)

# %% tags=["hide-input"]
display(Markdown(markdown_table(measure.shortcut_rows(), findings.SHORTCUT_COLUMNS)))

# %% [markdown]
# ## Table 1, regenerated
#
# The ImageNet architectures, built by `paper_repro.models.resnet(depth)` (option B). Layers are
# counted as the paper counts them (convolutions on the main path plus the FC layer);
# multiply-adds come from `torch.utils.flop_counter` for one 224×224 image; the parameter counts
# equal those of torchvision's `resnet18`…`resnet152` exactly (a test checks it).

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
t1 = measure.table1_rows()
display(Markdown(markdown_table(t1, findings.TABLE1_COLUMNS)))

# %% tags=["hide-input"]
worst = max(t1, key=lambda r: abs(r["diff_pct"]))
assert all(abs(r["diff_pct"]) < 5 for r in t1)
print(f"Every net's multiply-adds are within {abs(worst['diff_pct']):.1f}% of Table 1 "
      f"(largest gap: {worst['net']}, {worst['gmacs']:.2f} G against {worst['paper_gmacs']:.1f} G).")

# %% [markdown]
# ## The CIFAR-10 networks (§4.2) and Table 6's parameter column
#
# $6n+2$ layers: a 3×3 convolution with 16 filters, three stages of $n$ basic blocks on 32×32,
# 16×16 and 8×8 maps with 16, 32 and 64 filters, global average pooling and a 10-way FC layer.
# With option A the ResNets have exactly as many parameters as the plain nets.

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
t6 = measure.cifar_param_rows()
display(Markdown(markdown_table(t6, [("net", "net"), ("params", "parameters"), ("ours", "ours, rounded"),
                                        ("paper", "Table 6"), ("plain_params", "plain counterpart")])))
assert all(r["ours"] == r["paper"] for r in t6), "parameter counts must round to Table 6"
print("All six parameter counts round to Table 6's values.")
print("Shapes for 1-channel (Fashion-MNIST) and 3-channel (CIFAR-10) input:")
for name in ("resnet20", "plain56", "resnet110"):
    for ch in (1, 3):
        shape = tuple(build_model(name, in_channels=ch)(torch.randn(2, ch, 32, 32)).shape)
        print(f"  {name:>9}, {ch} channel(s): {shape}")
