"""Datasets and the device-resident batch loader.

CIFAR-10 and Fashion-MNIST are read through torchvision's dataset classes, then kept as one
uint8 tensor on the training device. :class:`DeviceLoader` does the paper's augmentation (§4.2:
pad 4 pixels on each side, random 32x32 crop, random horizontal flip) on whole batches with
tensor ops, no per-sample PIL, and iterates like a DataLoader. Its randomness is a pure function
of (seed, epoch, batch), so a resumed run sees exactly the batches an uninterrupted run sees.

ImageNet-style folders go through torchvision's ImageFolder and a DataLoader with §3.4's scale
augmentation and 10-crop testing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from paper_repro.runs.datasets import (
    DataMissing,
    Destination,
    EpochLoader,
    TensorData,
    load_tensor_dataset,
    pixel_mean,
    seeded_subset,
    train_val_split,
)

DATASETS_HELP = "cifar10, fashion-mnist, synthetic or imagenet:PATH (an ImageFolder root with train/ and val/)"


def parse_dataset(spec: str) -> tuple[str, str | None]:
    """``"imagenet:/data/in"`` -> ``("imagenet", "/data/in")``; raise ValueError on unknown names."""
    spec = str(spec).strip()
    name, _, path = spec.partition(":")
    name = name.lower()
    if name in ("cifar10", "fashion-mnist", "synthetic") and not path:
        return name, None
    if name == "imagenet" and path:
        return name, path
    raise ValueError(f"unknown dataset {spec!r}; allowed: {DATASETS_HELP}")


def _batch_generator(seed: int, epoch: int, batch: int) -> torch.Generator:
    # Every random choice of a batch comes from a generator seeded by (seed, epoch, batch):
    # the loader's whole state is two counters, and resuming is exact.
    return torch.Generator().manual_seed((seed * 1_000_003 + epoch) * 1_000_003 + batch)


def random_crop_flip(x: torch.Tensor, pad: int, gen: torch.Generator) -> torch.Tensor:
    """Pad ``pad`` pixels on each side, take a random crop of the original size per image, and
    flip half of the images horizontally; all on the whole batch at once (§4.2)."""
    b, c, h, w = x.shape
    dev = x.device
    ox = torch.randint(0, 2 * pad + 1, (b,), generator=gen).to(dev)
    oy = torch.randint(0, 2 * pad + 1, (b,), generator=gen).to(dev)
    flip = (torch.rand(b, generator=gen) < 0.5).to(dev)
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    rows = (oy[:, None] + torch.arange(h, device=dev))[:, None, :, None]
    cols = ox[:, None] + torch.arange(w, device=dev)
    cols = torch.where(flip[:, None], cols.flip(1), cols)[:, None, None, :]  # a flip is a reversed column index
    bi = torch.arange(b, device=dev)[:, None, None, None]
    ci = torch.arange(c, device=dev)[None, :, None, None]
    return padded[bi, ci, rows, cols]


class DeviceLoader(EpochLoader):
    """Batches from a dataset held as one tensor on ``device``; stands in for a DataLoader.

    ``train=True``: a fresh seeded permutation every epoch, the last partial batch dropped,
    pad-4 random crop and horizontal flip. ``train=False``: the images in order, unaugmented.
    Images are mean-subtracted (per-pixel mean of the training set, §4.2) and, where asked,
    returned in channels_last memory format. With ``to.world > 1`` each rank returns its slice
    of the same global batch (DistributedDataParallel).
    """

    def __init__(
        self,
        data: TensorData,
        batch_size: int,
        mean: torch.Tensor,
        to: Destination | None = None,
        train: bool = True,
        seed: int = 0,
        pad: int = 4,
    ):
        to = to or Destination()
        self.device = torch.device(to.device)
        self.images = data.images.to(self.device)
        self.labels = data.labels.to(self.device)
        self.mean = mean.to(self.device)
        self.batch_size, self.train, self.seed, self.pad = batch_size, train, seed, pad
        self.channels_last, self.rank, self.world_size = to.channels_last, to.rank, to.world
        self.epoch, self.position = 0, 0

    def __len__(self) -> int:
        n = len(self.labels)
        return n // self.batch_size if self.train else -(-n // self.batch_size)

    def _order(self) -> torch.Tensor:
        if not self.train:
            return torch.arange(len(self.labels))
        return torch.randperm(len(self.labels), generator=_batch_generator(self.seed, self.epoch, -1))

    def _make(self, index: torch.Tensor, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.world_size > 1:
            index = index.tensor_split(self.world_size)[self.rank]
        index = index.to(self.device)
        x = self.images[index].float().div_(255).sub_(self.mean)
        if self.train:
            # padding the mean-subtracted image with zeros pads with the mean pixel
            x = random_crop_flip(x, self.pad, _batch_generator(self.seed, self.epoch, batch))
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, self.labels[index]

    def _batches(self, start: int):
        order = self._order()
        for b in range(start, len(self)):
            yield self._make(order[b * self.batch_size : (b + 1) * self.batch_size], b)


class FolderLoader(EpochLoader):
    """A resumable DataLoader over an ImageFolder (ImageNet, §3.4): the epoch's order is a seeded
    permutation, the transforms run in ``workers`` processes, seeded by (seed, epoch, position)."""

    def __init__(self, dataset, batch_size: int, seed: int, workers: int, train: bool, to: Destination, subset=None):
        self.dataset, self.batch_size, self.seed, self.workers = dataset, batch_size, seed, workers
        self.train, self.device, self.channels_last = train, to.device, to.channels_last
        self.rank, self.world = to.rank, to.world
        self.n = len(dataset) if subset is None else min(subset, len(dataset))
        self.epoch, self.position = 0, 0

    def __len__(self):
        return self.n // self.batch_size if self.train else -(-self.n // self.batch_size)

    def _batches(self, start: int):
        if self.train:
            order = torch.randperm(
                len(self.dataset), generator=torch.Generator().manual_seed(self.seed * 7919 + self.epoch)
            )[: self.n]
        else:
            order = torch.arange(self.n)
        batches = [order[i * self.batch_size : (i + 1) * self.batch_size] for i in range(start, len(self))]
        batches = [b.tensor_split(self.world)[self.rank].tolist() for b in batches]
        loader = torch.utils.data.DataLoader(
            self.dataset,
            batch_sampler=batches,
            num_workers=self.workers,
            pin_memory=self.device.type == "cuda",
            generator=torch.Generator().manual_seed(self.seed * 104729 + self.epoch * 1009 + start),
        )
        for x, y in loader:
            x = x.to(self.device, non_blocking=True)
            if self.channels_last and x.dim() == 4:
                x = x.contiguous(memory_format=torch.channels_last)
            yield x, y.to(self.device, non_blocking=True)


# --------------------------------------------------------------------------- a run's data
@dataclass
class Data:
    """The loaders of a classification run and what the summary says about them."""

    train: EpochLoader
    eval: EpochLoader
    in_channels: int
    num_classes: int
    train_size: int
    eval_size: int
    eval_name: str
    final_eval: EpochLoader | None = None  # the final evaluation's loader when it covers more images than ``eval``
    final_eval_size: int | None = None


def build_data(cfg, speed, data_root: str = "data", rank: int = 0, world: int = 1) -> Data:
    """The loaders a RunConfig asks for, on ``speed.device`` (``runs.speed.resolve_speed``)."""
    name, path = parse_dataset(cfg.dataset)
    if name == "imagenet":
        return _imagenet_data(cfg, path, speed, rank, world)
    train = load_tensor_dataset(name, data_root, train=True)
    if cfg.split == "val":
        tr, va = train_val_split(len(train), min(cfg.val_size, len(train) // 2), seed=0)
        train, held_out, eval_name = train.subset(tr), train.subset(va), "val"
    else:
        held_out, eval_name = load_tensor_dataset(name, data_root, train=False), "test"
    # fixed subsets (seed 0): every seed and every depth of a profile sees the same images
    whole = held_out
    train, held_out = seeded_subset(train, cfg.train_subset, 0), seeded_subset(held_out, cfg.eval_subset, 1)
    final = seeded_subset(whole, cfg.final_eval_subset, 1)
    mean = pixel_mean(train.images)
    to = Destination(speed.device, speed.channels_last, rank, world)
    tl = DeviceLoader(train, (cfg.batch_size // world) * world, mean, to, train=True, seed=cfg.seed)

    def loader(d):
        return DeviceLoader(d, 500 * world, mean, to, train=False)

    data = Data(tl, loader(held_out), train.images.shape[1], len(train.classes), len(train), len(held_out), eval_name)
    if len(final) > len(held_out):  # Table 6's number: the whole split, not the curves' subset
        data.final_eval, data.final_eval_size = loader(final), len(final)
    return data


def _imagenet_data(cfg, path, speed, rank, world) -> Data:
    train, val = imagenet_folders(path)
    to = Destination(speed.device, speed.channels_last, rank, world)
    tl = FolderLoader(train, (cfg.batch_size // world) * world, cfg.seed, cfg.workers, True, to, cfg.train_subset)
    el = FolderLoader(
        val, 25 * world, 0, cfg.workers, False, Destination(speed.device, False, rank, world), cfg.eval_subset
    )
    return Data(tl, el, 3, len(train.classes), tl.n, el.n, "val")


# --------------------------------------------------------------------------- ImageNet folders
IMAGENET_MEAN = (0.485, 0.456, 0.406)
# AlexNet-style PCA colour augmentation ("standard colour augmentation [21]", §3.4)
_EIGVAL = torch.tensor([0.2175, 0.0188, 0.0045])
_EIGVEC = torch.tensor([[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]])


class Lighting:
    """PCA lighting noise of Krizhevsky et al. [21] (std 0.1), on a [0, 1] tensor image."""

    def __init__(self, alphastd: float = 0.1):
        self.alphastd = alphastd

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        alpha = torch.randn(3) * self.alphastd
        rgb = (_EIGVEC * alpha * _EIGVAL).sum(1)
        return img + rgb[:, None, None]


class SubtractMean:
    """Mean subtraction without division by a std, as the paper does (§3.4)."""

    def __init__(self, mean=IMAGENET_MEAN):
        self.mean = torch.tensor(mean)[:, None, None]

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        return img - self.mean


def imagenet_train_transform(crop: int = 224, scale: tuple[int, int] = (256, 480)):
    """§3.4: shorter side resized to a random size in [256, 480], a random 224 crop or its flip,
    mean subtracted, standard colour augmentation."""
    from torchvision.transforms import v2  # noqa: PLC0415 - imported where data is read: a fast --help

    return v2.Compose(
        [
            v2.PILToTensor(),
            v2.RandomResize(scale[0], scale[1] + 1, antialias=True),
            v2.RandomCrop(crop),
            v2.RandomHorizontalFlip(),
            v2.ToDtype(torch.float32, scale=True),
            Lighting(),
            SubtractMean(),
        ]
    )


def stack_crops(crops) -> torch.Tensor:
    return torch.stack(list(crops))


def imagenet_tencrop_transform(crop: int = 224, size: int = 256):
    """Standard 10-crop testing [21]: the four corners and the centre, and their flips."""
    from torchvision.transforms import v2  # noqa: PLC0415 - imported where data is read: a fast --help

    return v2.Compose(
        [
            v2.PILToTensor(),
            v2.Resize(size, antialias=True),
            v2.ToDtype(torch.float32, scale=True),
            SubtractMean(),
            v2.TenCrop(crop),
            stack_crops,
        ]
    )


def imagenet_missing(path: str | os.PathLike) -> list[str]:
    """The splits an ImageNet folder lacks (it needs ``train/`` and ``val/``)."""
    return [d for d in ("train", "val") if not (Path(path) / d).is_dir()]


def imagenet_folders(
    path: str | os.PathLike, crop: int = 224, scale: tuple[int, int] = (256, 480), test_size: int = 256
):
    """``path/train`` and ``path/val`` as torchvision ImageFolders with the paper's transforms."""
    import torchvision  # noqa: PLC0415 - imported where data is read: a fast --help

    root = Path(path)
    missing = imagenet_missing(root)
    if missing:
        raise DataMissing(
            f"ImageNet folder {root} lacks {', '.join(missing)}/: expected {root}/train/<class>/*.JPEG "
            f"and {root}/val/<class>/*.JPEG (torchvision ImageFolder layout)"
        )
    train = torchvision.datasets.ImageFolder(str(root / "train"), imagenet_train_transform(crop, scale))
    val = torchvision.datasets.ImageFolder(str(root / "val"), imagenet_tencrop_transform(crop, test_size))
    return train, val
