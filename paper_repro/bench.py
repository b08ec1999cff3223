"""`bench`: this engine against the training loop most reproductions write.

(a) this engine: ``fit`` itself, with the dataset held on the device, batch augmentation with
    tensor ops, the device's default precision and memory format, foreach/fused SGD, no
    per-iteration host sync;
(b) the usual loop: a DataLoader whose workers apply torchvision's per-sample
    ``RandomCrop(32, padding=4)`` and ``RandomHorizontalFlip`` to PIL images (as
    torchvision's CIFAR10 class hands them out), fp32, NCHW, eager, ``loss.item()`` every
    iteration for the running average, as in akamaster/pytorch_resnet_cifar10's trainer.
Same model, same batch size, same data. Steady-state images/s excludes warm-up iterations and
evaluation.
"""
from __future__ import annotations

import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .config import RunConfig
from .data import load_tensor_dataset
from .models import build_model
from .train import fit, resolve_speed


class PILDataset(torch.utils.data.Dataset):
    """Images as HWC uint8 arrays, each handed out as a PIL image through a transform
    (what ``torchvision.datasets.CIFAR10.__getitem__`` does)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        img = self.images[i]
        img = Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img)
        return self.transform(img), int(self.labels[i])


def baseline_images_per_sec(model_name: str, data, batch_size: int, device: torch.device, iterations: int,
                            warmup: int, workers: int) -> float:
    import torchvision.transforms as T

    images = data.images.permute(0, 2, 3, 1).numpy()
    mean = tuple((data.images.float().mean((0, 2, 3)) / 255).tolist())
    std = tuple((data.images.float().std((0, 2, 3)) / 255).tolist())
    transform = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(mean, std)])
    loader = torch.utils.data.DataLoader(PILDataset(images, data.labels.numpy(), transform), batch_size=batch_size,
                                         shuffle=True, num_workers=workers, pin_memory=device.type == "cuda",
                                         drop_last=True, persistent_workers=workers > 0)
    torch.manual_seed(0)
    model = build_model(model_name, num_classes=len(data.classes), in_channels=data.images.shape[1]).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    model.train()
    done, t0, running = 0, None, 0.0
    while done < iterations + warmup:
        for x, y in loader:
            if done == warmup:
                if device.type == "cuda":
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
            x, y = x.to(device), y.to(device)
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            running += loss.item()
            done += 1
            if done == iterations + warmup:
                break
    if device.type == "cuda":
        torch.cuda.synchronize()
    return iterations * batch_size / (time.perf_counter() - t0)


def engine_images_per_sec(model_name: str, dataset: str, batch_size: int, device: str, iterations: int,
                          warmup: int) -> tuple[float, dict]:
    interval = max(1, min(warmup, iterations // 4))
    total = interval + (iterations // interval) * interval  # first interval = warm-up, excluded by fit
    cfg = RunConfig(model=model_name, dataset=dataset, experiment="bench", iterations=total, batch_size=batch_size,
                    milestones=(total,), eval_interval=interval, checkpoint_interval=total, eval_subset=500,
                    device=device)
    with tempfile.TemporaryDirectory() as out:
        result = fit(cfg, out=out, progress=False)
    return result.summary["images_per_sec"], result.summary


def bench(model: str = "resnet20", batch_size: int = 128, device: str = "auto", dataset: str = "synthetic",
          iterations: int | None = None, warmup: int | None = None, workers: int = 2) -> dict:
    speed = resolve_speed(RunConfig(device=device))
    gpu = speed.device.type == "cuda"
    iterations = iterations or (300 if gpu else 40)
    warmup = warmup or (50 if gpu else 8)
    data = load_tensor_dataset(dataset, train=True)
    ours, summary = engine_images_per_sec(model, dataset, batch_size, str(speed.device), iterations, warmup)
    base = baseline_images_per_sec(model, data, batch_size, speed.device, iterations, warmup, workers)
    return {"model": model, "batch_size": batch_size, "dataset": dataset, "device": str(speed.device),
            "hardware": summary["hardware"], "commit": summary["commit"], "iterations": iterations, "warmup": warmup,
            "engine_images_per_sec": ours, "engine_precision": summary["precision"],
            "engine_channels_last": summary["channels_last"], "baseline_images_per_sec": base,
            "baseline_workers": workers, "ratio": ours / base}
