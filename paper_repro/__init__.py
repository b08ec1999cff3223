"""paper_repro: an executable reproduction of He et al., "Deep Residual Learning for Image
Recognition" (CVPR 2016).

``from paper_repro import load_trained; model, meta = load_trained("resnet56")``: a net that ships
with the book, trained (``paper_repro.runs.weights``; ``shipped()`` lists them).
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    """``load_trained`` and ``shipped``, imported when first asked for (``import paper_repro`` stays light)."""
    if name in ("load_trained", "shipped"):
        from paper_repro.runs import weights  # noqa: PLC0415 - lazy: importing any submodule stays free of torch

        return getattr(weights, name)
    raise AttributeError(f"module 'paper_repro' has no attribute {name!r}")
