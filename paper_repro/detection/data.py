"""Detection data: Fashion-MNIST canvases (the embedded default), PASCAL VOC and COCO.

Every dataset returns ``(image, target)``: ``image`` a float tensor (3, H, W) in [0, 1], and
``target`` the one common format ``{"boxes": float (N, 4) x1 y1 x2 y2 in pixels, "labels": int64
(N,) in 1..K (0 is the background), "image_id": int}``, plus ``"difficult"`` (VOC) or
``"iscrowd"`` (COCO) as bool (N,) where the source has them. ``dataset.classes`` names the K
object classes.

* ``fashion-canvas``: real Fashion-MNIST items (the training split for training canvases, the
  test split for held-out ones) pasted at random places and scales on a larger black canvas,
  several per image, without overlap. An item is first cropped to its ink (the bounding box of
  its non-zero pixels), so the box of an object is exactly the extent it was pasted at, and its
  label is the item's class. Canvas ``i`` is a pure function of (seed, i): reproducible.
* ``voc:PATH``: torchvision's VOCDetection layout, ``PATH/VOCdevkit/VOC2007`` (and ``VOC2012``)
  with ``JPEGImages``, ``Annotations`` and ``ImageSets/Main/<split>.txt``.
* ``coco:PATH``: torchvision's CocoDetection over ``PATH/<split>/`` images and
  ``PATH/annotations/instances_<split>.json``.
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from paper_repro.runs.datasets import FASHION_CLASSES, DataMissing, EpochLoader, load_fashion_mnist

DATASETS_HELP = (
    "fashion-canvas, voc:PATH (PATH/VOCdevkit/VOC2007 [and VOC2012], torchvision's VOCDetection layout) "
    "or coco:PATH (PATH/annotations/instances_<split>.json and PATH/<split>/, CocoDetection layout)"
)
VOC_CLASSES = (
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
)
# default splits: Table 7 trains on VOC 2007 trainval + 2012 trainval and tests on 2007 test;
# Table 8 trains on COCO train and evaluates on val.
DEFAULT_SPLITS = {
    "fashion-canvas": ("train", "test"),
    "voc": ("2007-trainval+2012-trainval", "2007-test"),
    "coco": ("train2017", "val2017"),
}


def parse_detection_dataset(spec: str) -> tuple[str, str | None]:
    """``"voc:/data/voc"`` -> ``("voc", "/data/voc")``; ValueError naming what is allowed."""
    spec = str(spec).strip()
    name, _, path = spec.partition(":")
    name = name.lower()
    if name == "fashion-canvas" and not path:
        return name, None
    if name in ("voc", "coco") and path:
        return name, path
    raise ValueError(f"unknown detection dataset {spec!r}; allowed: {DATASETS_HELP}")


def empty_target(image_id: int) -> dict:
    return {"boxes": torch.zeros((0, 4)), "labels": torch.zeros((0,), dtype=torch.int64), "image_id": image_id}


# --------------------------------------------------------------------------- Fashion-MNIST canvases
def ink_box(item: torch.Tensor) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1), half-open, of the non-zero pixels of a 2-D uint8 image."""
    rows = torch.nonzero(item.amax(1) > 0).flatten()
    cols = torch.nonzero(item.amax(0) > 0).flatten()
    if len(rows) == 0:
        return 0, item.shape[0], 0, item.shape[1]
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


@dataclass
class CanvasObject:
    box: tuple[int, int, int, int]  # x1, y1, x2, y2 (half-open pixel extent it was pasted at)
    label: int  # Fashion-MNIST class 0..9
    source_index: int  # index of the item in the Fashion-MNIST split


class FashionCanvases(torch.utils.data.Dataset):
    """``n`` canvases of ``size`` x ``size`` pixels with ``items_per_canvas`` = (min, max)
    Fashion-MNIST items each, every item scaled by a factor in ``scales`` = (min, max) after
    cropping it to its ink. Items do not overlap (a ``gap`` of free pixels between them)."""

    classes = FASHION_CLASSES

    def __init__(
        self,
        items,
        n: int,
        size: int = 128,
        items_per_canvas: tuple[int, int] = (1, 3),
        scales: tuple[float, float] = (1.0, 2.0),
        seed: int = 0,
        gap: int = 2,
    ):
        (min_items, max_items), (min_scale, max_scale) = items_per_canvas, scales
        if not 1 <= min_items <= max_items:
            raise ValueError(f"need 1 <= min_items <= max_items, got {min_items}, {max_items}")
        if not 0 < min_scale <= max_scale or 28 * max_scale > size:
            raise ValueError(f"item scales [{min_scale}, {max_scale}] must be > 0 and fit a {size}-pixel canvas")
        self.images = items.images[:, 0]  # (N, 32, 32) uint8, 28x28 items zero-padded by 2
        self.labels = items.labels
        self.n, self.size, self.min_items, self.max_items = n, size, min_items, max_items
        self.min_scale, self.max_scale, self.seed, self.gap = min_scale, max_scale, seed, gap

    def __len__(self) -> int:
        return self.n

    def _generator(self, index: int) -> torch.Generator:
        return torch.Generator().manual_seed(self.seed * 1_000_003 + index)

    def layout(self, index: int) -> tuple[torch.Tensor, list[CanvasObject]]:
        """Canvas ``index`` as a uint8 (size, size) tensor and the objects pasted on it."""
        if not 0 <= index < self.n:
            raise IndexError(index)
        g = self._generator(index)
        canvas = torch.zeros(self.size, self.size, dtype=torch.uint8)
        k = int(torch.randint(self.min_items, self.max_items + 1, (1,), generator=g))
        objects: list[CanvasObject] = []
        for _ in range(k):
            src = int(torch.randint(len(self.labels), (1,), generator=g))
            item = self.images[src]
            y0, y1, x0, x1 = ink_box(item)
            item = item[y0:y1, x0:x1]
            s = self.min_scale + (self.max_scale - self.min_scale) * float(torch.rand(1, generator=g))
            h, w = max(1, round(item.shape[0] * s)), max(1, round(item.shape[1] * s))
            for _attempt in range(30):
                x = int(torch.randint(0, self.size - w + 1, (1,), generator=g))
                y = int(torch.randint(0, self.size - h + 1, (1,), generator=g))
                if all(
                    x >= o.box[2] + self.gap
                    or x + w + self.gap <= o.box[0]
                    or y >= o.box[3] + self.gap
                    or y + h + self.gap <= o.box[1]
                    for o in objects
                ):
                    break
            else:
                continue  # no free place: the canvas gets fewer items
            if (h, w) != tuple(item.shape):
                item = (
                    F.interpolate(
                        item[None, None].float(), size=(h, w), mode="bilinear", antialias=True, align_corners=False
                    )[0, 0]
                    .round()
                    .clamp(0, 255)
                    .to(torch.uint8)
                )
            canvas[y : y + h, x : x + w] = torch.maximum(canvas[y : y + h, x : x + w], item)
            objects.append(CanvasObject((x, y, x + w, y + h), int(self.labels[src]), src))
        return canvas, objects

    def __getitem__(self, index: int):
        canvas, objects = self.layout(index)
        image = canvas.float().div(255).expand(3, -1, -1).contiguous()  # grey items on 3 channels
        if not objects:
            return image, empty_target(index)
        boxes = torch.tensor([o.box for o in objects], dtype=torch.float32)
        labels = torch.tensor([o.label + 1 for o in objects], dtype=torch.int64)
        return image, {"boxes": boxes, "labels": labels, "image_id": index}


def fashion_canvases(root: str | os.PathLike, train: bool, n: int, **kw) -> FashionCanvases:
    """Canvases from the Fashion-MNIST training split (``train``) or its test split. The layout
    seed is fixed per split (0 / 1), so every run of a profile sees the same canvases."""
    items = load_fashion_mnist(root, train=train)
    return FashionCanvases(items, n, seed=0 if train else 1, **kw)


# --------------------------------------------------------------------------- PASCAL VOC
def _pil_to_tensor(img) -> torch.Tensor:
    arr = np.asarray(img.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).float().div_(255)


class VOCSet(torch.utils.data.Dataset):
    """One VOC year/split through torchvision's VOCDetection, in the common target format.

    VOC's boxes are 1-based inclusive pixel indices; ``x1 = xmin - 1, x2 = xmax`` makes them
    continuous pixel extents (the same widths as the devkit's ``xmax - xmin + 1``).
    """

    classes = VOC_CLASSES

    def __init__(self, root: str | os.PathLike, year: str, image_set: str, id_offset: int = 0):
        import torchvision  # noqa: PLC0415 - imported where data is read: a fast --help

        folder = Path(root) / "VOCdevkit" / f"VOC{year}"
        split_file = folder / "ImageSets" / "Main" / f"{image_set}.txt"
        if not split_file.exists():
            raise DataMissing(
                f"PASCAL VOC {year} {image_set} not found: expected {split_file} (and JPEGImages/, "
                f"Annotations/ beside ImageSets/) under {root} (torchvision VOCDetection layout)"
            )
        self.voc = torchvision.datasets.VOCDetection(str(root), year=year, image_set=image_set, download=False)
        self.year, self.image_set, self.id_offset = year, image_set, id_offset

    def __len__(self) -> int:
        return len(self.voc)

    def target(self, index: int, annotation: dict) -> dict:
        objects = annotation["annotation"].get("object", [])
        if isinstance(objects, dict):
            objects = [objects]
        boxes, labels, difficult = [], [], []
        for o in objects:
            b = o["bndbox"]
            boxes.append([float(b["xmin"]) - 1, float(b["ymin"]) - 1, float(b["xmax"]), float(b["ymax"])])
            labels.append(VOC_CLASSES.index(o["name"].strip()) + 1)
            difficult.append(str(o.get("difficult", "0")).strip() == "1")
        if not boxes:
            t = empty_target(self.id_offset + index)
            t["difficult"] = torch.zeros((0,), dtype=torch.bool)
            return t
        return {
            "boxes": torch.tensor(boxes, dtype=torch.float32),
            "labels": torch.tensor(labels, dtype=torch.int64),
            "difficult": torch.tensor(difficult, dtype=torch.bool),
            "image_id": self.id_offset + index,
        }

    def __getitem__(self, index: int):
        img, annotation = self.voc[index]
        return _pil_to_tensor(img), self.target(index, annotation)


class Concat(torch.utils.data.Dataset):
    """Datasets one after the other (VOC 07+12), with image ids unique across them."""

    def __init__(self, parts):
        self.parts = list(parts)
        self.classes = self.parts[0].classes
        self.offsets = np.cumsum([0] + [len(p) for p in self.parts])

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def __getitem__(self, index: int):
        k = int(np.searchsorted(self.offsets, index, side="right") - 1)
        img, t = self.parts[k][index - int(self.offsets[k])]
        return img, {**t, "image_id": index}


def voc_dataset(root: str | os.PathLike, splits: str) -> torch.utils.data.Dataset:
    """``"2007-trainval+2012-trainval"`` -> VOC 07+12 (Table 7); ``"2007-test"`` -> VOC 2007 test."""
    parts = []
    for part in splits.split("+"):
        year, _, image_set = part.partition("-")
        if not (year.isdigit() and image_set):
            raise ValueError(f"VOC split must look like 2007-trainval or 2007-trainval+2012-trainval, got {splits!r}")
        parts.append(VOCSet(root, year, image_set))
    return parts[0] if len(parts) == 1 else Concat(parts)


# --------------------------------------------------------------------------- COCO
class COCOSet(torch.utils.data.Dataset):
    """A COCO split through torchvision's CocoDetection; category ids become labels 1..K in
    sorted id order; boxes go from x, y, w, h to x1, y1, x2, y2; crowd regions are kept with
    ``iscrowd`` set (training drops them, COCOeval ignores them)."""

    def __init__(self, root: str | os.PathLike, split: str):
        import torchvision  # noqa: PLC0415 - imported where data is read: a fast --help

        ann = Path(root) / "annotations" / f"instances_{split}.json"
        images = Path(root) / split
        if not ann.exists() or not images.is_dir():
            raise DataMissing(
                f"COCO {split} not found: expected {ann} and {images}/ (torchvision CocoDetection layout)"
            )
        with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its loading times
            self.coco = torchvision.datasets.CocoDetection(str(images), str(ann))
        cats = sorted(self.coco.coco.cats)
        self.category_ids = tuple(cats)
        self.label_of = {c: i + 1 for i, c in enumerate(cats)}
        self.classes = tuple(self.coco.coco.cats[c]["name"] for c in cats)

    def __len__(self) -> int:
        return len(self.coco)

    def __getitem__(self, index: int):
        img, anns = self.coco[index]
        boxes, labels, crowd = [], [], []
        for a in anns:
            x, y, w, h = a["bbox"]
            if w <= 0 or h <= 0:
                continue
            boxes.append([x, y, x + w, y + h])
            labels.append(self.label_of[a["category_id"]])
            crowd.append(bool(a.get("iscrowd", 0)))
        target = {
            "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
            "labels": torch.tensor(labels, dtype=torch.int64),
            "iscrowd": torch.tensor(crowd, dtype=torch.bool),
            "image_id": int(self.coco.ids[index]),
        }
        return _pil_to_tensor(img), target


# --------------------------------------------------------------------------- subsets and the loader
class Subset(torch.utils.data.Dataset):
    """The first ``n`` images of a seeded permutation (smaller profiles), keeping ``classes``."""

    def __init__(self, dataset, n: int | None, seed: int = 0):
        self.dataset, self.classes = dataset, dataset.classes
        if n is None or n >= len(dataset):
            self.index = list(range(len(dataset)))
        else:
            perm = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed + 7919))
            self.index = perm[:n].sort().values.tolist()

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int):
        return self.dataset[self.index[i]]


def hflip(image: torch.Tensor, target: dict) -> tuple[torch.Tensor, dict]:
    """Horizontal flip of an image and its boxes (Faster R-CNN's only training augmentation)."""
    w = image.shape[-1]
    t = dict(target)
    b = target["boxes"].clone()
    b[:, [0, 2]] = w - target["boxes"][:, [2, 0]]
    t["boxes"] = b
    return image.flip(-1), t


def training_target(target: dict) -> dict:
    """What the detector trains on: boxes and labels, without crowd regions (COCO) and VOC's
    'difficult' objects (as Faster R-CNN's VOC training does)."""
    keep = torch.ones(len(target["labels"]), dtype=torch.bool)
    for flag in ("iscrowd", "difficult"):
        if flag in target:
            keep &= ~target[flag]
    return {"boxes": target["boxes"][keep], "labels": target["labels"][keep]}


def _collate(batch):
    return batch


class DetectionLoader(EpochLoader):
    """Batches of (images, targets) lists. ``train``: a seeded permutation per epoch and a
    seeded horizontal flip per image; the state is (epoch, position) (``EpochLoader``), so a
    resumed run sees the batches an uninterrupted run sees."""

    def __init__(
        self, dataset, batch_size: int, seed: int = 0, train: bool = True, flip: bool = True, workers: int = 0
    ):
        self.dataset, self.batch_size, self.seed, self.train = dataset, batch_size, seed, train
        self.flip, self.workers = flip and train, workers
        self.epoch, self.position = 0, 0

    def __len__(self) -> int:
        n = len(self.dataset)
        return max(1, n // self.batch_size) if self.train else -(-n // self.batch_size)

    def _order(self) -> list[int]:
        if not self.train:
            return list(range(len(self.dataset)))
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return torch.randperm(len(self.dataset), generator=g).tolist()

    def _flips(self, batch: int) -> list[bool]:
        g = torch.Generator().manual_seed((self.seed * 1_000_003 + self.epoch) * 1_000_003 + batch)
        return (torch.rand(self.batch_size, generator=g) < 0.5).tolist()

    def _batches(self, start: int):
        order = self._order()
        batches = [order[b * self.batch_size : (b + 1) * self.batch_size] for b in range(len(self))]
        if self.workers > 0:
            source = iter(
                torch.utils.data.DataLoader(
                    self.dataset, batch_sampler=batches[start:], num_workers=self.workers, collate_fn=_collate
                )
            )
        else:
            source = ([self.dataset[i] for i in b] for b in batches[start:])
        for b, items in enumerate(source, start):
            if self.flip:
                items = [hflip(img, t) if f else (img, t) for (img, t), f in zip(items, self._flips(b))]
            yield [img for img, _ in items], [t for _, t in items]


@dataclass
class DetectionData:
    train: torch.utils.data.Dataset
    eval: torch.utils.data.Dataset
    classes: tuple[str, ...]
    name: str
    eval_name: str


def build_detection_data(cfg, data_root: str | os.PathLike = "data") -> DetectionData:
    """The training and evaluation sets a DetectConfig names (reads nothing else)."""
    name, path = parse_detection_dataset(cfg.dataset)
    train_split, eval_split = cfg.splits()
    if name == "fashion-canvas":
        kw = dict(
            size=cfg.canvas_size,
            items_per_canvas=(cfg.min_items, cfg.max_items),
            scales=(cfg.min_scale, cfg.max_scale),
        )
        train = fashion_canvases(data_root, True, cfg.train_images or 10000, **kw)
        held_out = fashion_canvases(data_root, False, cfg.eval_images or 2000, **kw)
        return DetectionData(train, held_out, FASHION_CLASSES, name, "Fashion-MNIST test items")
    if name == "voc":
        train, held_out = voc_dataset(path, train_split), voc_dataset(path, eval_split)
    else:
        train, held_out = COCOSet(path, train_split), COCOSet(path, eval_split)
    train, held_out = Subset(train, cfg.train_images, 0), Subset(held_out, cfg.eval_images, 1)
    return DetectionData(train, held_out, train.classes, name, eval_split)
