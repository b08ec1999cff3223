"""The data sets every task reads, as files on disk: Fashion-MNIST (Debian's package or
torchvision's download), CIFAR-10 (torchvision), and a synthetic set for tests, each as one uint8
tensor of images and one of labels (:class:`TensorData`), with the seeded subsets and splits the
profiles use. Classification (``classification.data``) and detection (``detection.data``) build
their loaders on these.
"""

from __future__ import annotations

import gzip
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from filelock import FileLock

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
FASHION_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


class DataMissing(RuntimeError):
    """The data set is not on disk and could not be downloaded; the message says how to get it."""


# --------------------------------------------------------------------------- raw tensors
@dataclass
class TensorData:
    """A whole image classification split as tensors: uint8 images (N, C, H, W), int64 labels."""

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: torch.Tensor) -> TensorData:
        return TensorData(self.images[index], self.labels[index], self.classes)


def _fashion_raw_folder(root: Path) -> Path:
    return Path(root) / "FashionMNIST" / "raw"


@contextmanager
def _preparing(root: str | os.PathLike):
    """One process at a time unpacks or downloads into ``root``: runs started together (a sweep,
    ``gpu_evidence``'s full-length points) share one data folder, and two unpacking the same file
    at once made one of them fail."""
    Path(root).mkdir(parents=True, exist_ok=True)
    with FileLock(str(Path(root) / ".prepare.lock")):
        yield


def ensure_fashion_mnist(root: str | os.PathLike = "data", download: bool = True) -> Path:
    """Make torchvision's FashionMNIST layout exist under ``root``; return the raw folder.

    Looks, in order, for the four unpacked files in the raw folder, for the four gzip files in the
    raw folder or in ``root`` itself (any gzip of the original files: Debian's are compressed anew,
    so their checksums are not torchvision's), in Debian's package ``dataset-fashion-mnist``
    (``/usr/share/datasets/fashion-mnist``), unpacking the gzip files once, then asks torchvision to
    download them. Safe to call from several processes at once.
    """
    raw = _fashion_raw_folder(Path(root))
    if all((raw / f).exists() for f in FASHION_FILES):
        return raw
    with _preparing(root):
        return _prepare_fashion_mnist(root, raw, download)


def _prepare_fashion_mnist(root: str | os.PathLike, raw: Path, download: bool) -> Path:
    if all((raw / f).exists() for f in FASHION_FILES):  # another process prepared them meanwhile
        return raw
    for source in (raw, Path(root), DEBIAN_FASHION_MNIST):
        if all((source / f"{f}.gz").exists() for f in FASHION_FILES):
            raw.mkdir(parents=True, exist_ok=True)
            for f in FASHION_FILES:
                tmp = raw / f"{f}.tmp"
                with gzip.open(source / f"{f}.gz", "rb") as src, open(tmp, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                os.replace(tmp, raw / f)
            return raw
    if download:
        import torchvision  # noqa: PLC0415 - imported where data is read: a fast --help

        try:
            torchvision.datasets.FashionMNIST(str(root), train=True, download=True)
            torchvision.datasets.FashionMNIST(str(root), train=False, download=True)
            return raw
        except Exception:
            pass
    raise DataMissing(
        f"Fashion-MNIST not found in {raw} or {DEBIAN_FASHION_MNIST} and the download failed; "
        "install it with `apt-get install dataset-fashion-mnist` (Debian), put its four .gz files in "
        f"{root}, or run once with internet (torchvision downloads it to {raw})"
    )


def load_fashion_mnist(root: str | os.PathLike = "data", train: bool = True, download: bool = True) -> TensorData:
    """Fashion-MNIST through torchvision, zero-padded from 28x28 to 32x32 (one channel)."""

    import torchvision  # noqa: PLC0415 - imported where data is read: a fast --help

    ensure_fashion_mnist(root, download)
    ds = torchvision.datasets.FashionMNIST(str(root), train=train, download=False)
    images = torch.nn.functional.pad(ds.data, (2, 2, 2, 2)).unsqueeze(1).contiguous()
    return TensorData(images, ds.targets.long(), FASHION_CLASSES)


def load_cifar10(root: str | os.PathLike = "data", train: bool = True, download: bool = True) -> TensorData:
    """CIFAR-10 through torchvision's dataset class (downloaded when online)."""

    import torchvision  # noqa: PLC0415 - imported where data is read: a fast --help

    try:
        try:
            ds = torchvision.datasets.CIFAR10(str(root), train=train, download=False)
        except RuntimeError:  # not there yet: one process at a time downloads and unpacks it
            if not download:
                raise
            with _preparing(root):
                ds = torchvision.datasets.CIFAR10(str(root), train=train, download=True)
    except (RuntimeError, OSError) as e:  # torchvision: "Dataset not found or corrupted"; offline download
        raise DataMissing(
            f"CIFAR-10 not found in {Path(root) / 'cifar-10-batches-py'} and the download failed "
            f"({e.__class__.__name__}); run once with internet, or copy the python version of CIFAR-10 there"
        ) from None
    images = torch.from_numpy(np.ascontiguousarray(ds.data.transpose(0, 3, 1, 2)))
    return TensorData(images, torch.tensor(ds.targets, dtype=torch.long), tuple(ds.classes))


def make_synthetic(
    n: int = 10000, channels: int = 3, size: int = 32, num_classes: int = 10, seed: int = 0
) -> TensorData:
    """A learnable synthetic set (class-dependent pattern plus noise), for benchmarks and tests."""
    g = torch.Generator().manual_seed(seed)
    prototypes = torch.rand(num_classes, channels, size, size, generator=g) * 255
    labels = torch.randint(0, num_classes, (n,), generator=g)
    noise = torch.randn(n, channels, size, size, generator=g) * 40
    images = (prototypes[labels] * 0.5 + 64 + noise).clamp(0, 255).to(torch.uint8)
    return TensorData(images, labels, tuple(f"class {i}" for i in range(num_classes)))


def load_tensor_dataset(
    name: str, root: str | os.PathLike = "data", train: bool = True, download: bool = True
) -> TensorData:
    if name == "fashion-mnist":
        return load_fashion_mnist(root, train, download)
    if name == "cifar10":
        return load_cifar10(root, train, download)
    if name == "synthetic":
        # the synthetic "test" set is drawn from the same distribution with another seed
        return make_synthetic(n=10000 if train else 2000, seed=0 if train else 1)
    raise ValueError(f"not a tensor dataset: {name!r}")


def train_val_split(n: int, val_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded split of range(n) into train and val indices (45k/5k on CIFAR-10, §4.2)."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return perm[val_size:].sort().values, perm[:val_size].sort().values


def seeded_subset(data: TensorData, n: int | None, seed: int) -> TensorData:
    """A seeded random subset of n images (the smoke and cpu profiles' smaller data)."""
    if n is None or n >= len(data):
        return data
    perm = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed + 7919))
    return data.subset(perm[:n].sort().values)


def pixel_mean(images: torch.Tensor) -> torch.Tensor:
    """The per-pixel mean (C, H, W) of the training images, in [0, 1] units (§4.2)."""
    return images.double().mean(0).div(255).float()


# --------------------------------------------------------------------------- the loader


class EpochLoader:
    """What the project's loaders share: a run's position in its data is (epoch, position), the
    next batch to produce, and that is the loader's whole state (``state_dict``). A resumed run
    gets exactly the batches an uninterrupted run gets, because every random choice of a batch is
    a function of (seed, epoch, batch). Subclasses give ``__len__`` (batches per epoch) and
    ``_batches(start)`` (the current epoch's batches from batch ``start`` on)."""

    epoch: int = 0
    position: int = 0

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.position = int(state["epoch"]), int(state["position"])

    def _batches(self, start: int):
        raise NotImplementedError

    def __iter__(self):
        """One epoch, from the current position; afterwards the loader points at the next epoch."""
        for batch in self._batches(self.position):
            self.position += 1
            yield batch
        self.epoch, self.position = self.epoch + 1, 0

    def forever(self):
        """Batches across epochs without end (the training loops count iterations, not epochs)."""
        while True:
            yield from self.__iter__()


@dataclass(frozen=True)
class Destination:
    """Where a loader's batches go: the device, the memory format, and this process's share of
    each global batch (``rank`` of ``world`` processes, DistributedDataParallel)."""

    device: str | torch.device = "cpu"
    channels_last: bool = False
    rank: int = 0
    world: int = 1
