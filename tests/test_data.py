"""data.py: the data sets in their true on-disk formats (CIFAR-10's python pickles, ImageNet-style
folders), Fashion-MNIST, and the resumable loaders with the paper's batch crop and flip."""

import gzip
import json
import multiprocessing
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
import torchvision.datasets.cifar as tv_cifar
from PIL import Image

from paper_repro.classification.config import RunConfig
from paper_repro.classification.data import DeviceLoader, imagenet_folders, random_crop_flip
from paper_repro.classification.train import fit
from paper_repro.runs import datasets, store
from paper_repro.runs.datasets import load_cifar10, load_fashion_mnist, pixel_mean


def write_tiny_cifar10(root, n_train=40, n_test=20, seed=0):
    """CIFAR-10's python version: data_batch_1..5 and test_batch pickles (uint8 rows of
    3072 = 3x32x32 in channel-major order, 'labels'), plus batches.meta."""
    rng = np.random.default_rng(seed)
    d = root / "cifar-10-batches-py"
    d.mkdir(parents=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        n = n_test if name == "test_batch" else n_train // 5
        batch = {
            "batch_label": name,
            "labels": rng.integers(0, 10, n).tolist(),
            "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            "filenames": [f"{name}_{i}.png" for i in range(n)],
        }
        with open(d / name, "wb") as f:
            pickle.dump(batch, f, protocol=2)  # the original files are Python 2 pickles
    meta = {
        "label_names": "airplane automobile bird cat deer dog frog horse ship truck".split(),
        "num_cases_per_batch": n_train // 5,
        "num_vis": 3072,
    }
    with open(d / "batches.meta", "wb") as f:
        pickle.dump(meta, f, protocol=2)
    return root


def write_tiny_imagefolder(root, classes=("n01440764", "n01443537"), per_class=3, seed=0):
    rng = np.random.default_rng(seed)
    for split in ("train", "val"):
        for c in classes:
            d = root / split / c
            d.mkdir(parents=True)
            for i in range(per_class):
                h, w = rng.integers(240, 320), rng.integers(240, 320)
                Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(d / f"{c}_{i}.JPEG", quality=90)
    return root


def write_fashion_mnist_gz(folder, n_train=3000, n_test=500, seed=0):
    """Fashion-MNIST's original files: gzip'd IDX (big-endian magic 2051 for images, 2049 for labels,
    then the sizes), as Debian's package and the download have them."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        header = np.array([2051, n, 28, 28], ">i4").tobytes()
        with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "wb") as f:
            f.write(header + rng.integers(0, 256, (n, 28, 28), dtype=np.uint8).tobytes())
        with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(np.array([2049, n], ">i4").tobytes() + rng.integers(0, 10, n, dtype=np.uint8).tobytes())
    return folder


def _ensure_after(barrier, root):
    barrier.wait()
    datasets.ensure_fashion_mnist(root, download=False)


def test_processes_preparing_one_data_folder_at_once_all_succeed(tmp_path, monkeypatch):
    # four runs started together on an empty data folder (a sweep, gpu_evidence's full-length points)
    # all unpack Fashion-MNIST; before the lock, one of two such runs failed on a vanished temp file
    monkeypatch.setattr(datasets, "DEBIAN_FASHION_MNIST", write_fashion_mnist_gz(tmp_path / "debian"))
    ctx = multiprocessing.get_context("fork")  # the children see the patched package folder
    barrier = ctx.Barrier(4)
    procs = [ctx.Process(target=_ensure_after, args=(barrier, tmp_path / "data")) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    train = load_fashion_mnist(tmp_path / "data", train=True, download=False)
    assert train.images.shape == (3000, 1, 32, 32) and len(load_fashion_mnist(tmp_path / "data", False, False)) == 500
    assert not list((tmp_path / "data" / "FashionMNIST" / "raw").glob("*.tmp"))


@pytest.mark.parametrize("where", ["root", "raw"])
def test_fashion_mnist_gzip_files_carried_in_the_data_folder_are_unpacked_offline(tmp_path, monkeypatch, where):
    # a GPU box gets the four .gz files in a folder of the tree: no Debian package, no internet, and
    # Debian's files are compressed anew (their md5 sums are not the ones torchvision checks)
    monkeypatch.setattr(datasets, "DEBIAN_FASHION_MNIST", tmp_path / "nowhere")
    root = tmp_path / "data"
    write_fashion_mnist_gz(root if where == "root" else root / "FashionMNIST" / "raw", n_train=20, n_test=10)
    raw = datasets.ensure_fashion_mnist(root, download=False)
    assert sorted(p.name for p in raw.iterdir() if not p.name.endswith(".gz")) == sorted(datasets.FASHION_FILES)
    train = load_fashion_mnist(root, train=True, download=False)
    assert train.images.shape == (20, 1, 32, 32) and len(load_fashion_mnist(root, False, False)) == 10


@pytest.fixture
def tiny_cifar(tmp_path, monkeypatch):
    # the real archive's md5 sums cannot match tiny files: only the md5 comparison is replaced by
    # an existence check; the files are read by torchvision's own CIFAR10 class

    monkeypatch.setattr(tv_cifar, "check_integrity", lambda fpath, md5=None: os.path.isfile(fpath))
    return write_tiny_cifar10(tmp_path / "data")


def test_cifar10_reader_and_a_training_run_on_the_true_format(tiny_cifar, tmp_path):

    train, test = (
        load_cifar10(tiny_cifar, train=True, download=False),
        load_cifar10(tiny_cifar, train=False, download=False),
    )
    assert train.images.shape == (40, 3, 32, 32) and test.images.shape == (20, 3, 32, 32)
    assert train.images.dtype == torch.uint8 and train.classes[0] == "airplane"
    with open(tiny_cifar / "cifar-10-batches-py" / "data_batch_1", "rb") as f:
        raw = pickle.load(f, encoding="latin1")
    assert torch.equal(train.images[0], torch.from_numpy(raw["data"][0].reshape(3, 32, 32)))
    assert train.labels[0] == raw["labels"][0]
    cfg = RunConfig(
        model="resnet8",
        dataset="cifar10",
        iterations=2,
        milestones=(1, 2),
        eval_interval=1,
        checkpoint_interval=1,
        batch_size=16,
        split="val",
        val_size=8,
    )
    r = fit(cfg, out=tmp_path / "runs", data_root=str(tiny_cifar), progress=False)
    assert r.summary["status"] == "finished" and r.summary["eval_split"] == "val"
    assert r.summary["train_images"] == 32 and r.summary["eval_images"] == 8


def test_imagenet_transforms_follow_section_3_4(tmp_path):

    train, val = imagenet_folders(write_tiny_imagefolder(tmp_path / "in"))
    x, y = train[0]
    assert x.shape == (3, 224, 224) and y == 0
    crops, _ = val[0]
    assert crops.shape == (10, 3, 224, 224)  # 10-crop testing
    # TenCrop takes the five crops of the mirrored image too: its top-left is the mirrored top-right
    torch.testing.assert_close(crops[5], crops[1].flip(-1))


def test_imagefolder_training_run(tmp_path):
    root = write_tiny_imagefolder(tmp_path / "in")
    cfg = RunConfig(
        model="resnet18",
        dataset=f"imagenet:{root}",
        iterations=2,
        milestones=(1, 2),
        eval_interval=2,
        checkpoint_interval=2,
        batch_size=4,
        workers=0,
        device="cpu",
        precision="fp32",
    )
    r = fit(cfg, out=tmp_path / "runs", progress=False)
    assert r.summary["status"] == "finished" and r.summary["eval_images"] == 6
    assert 0 <= r.summary["final_eval_error"] <= 1


def test_imagefolder_missing_split_is_one_clear_line(tmp_path, cli):
    (tmp_path / "in" / "train").mkdir(parents=True)
    r = cli("train", "resnet18", "--dataset", f"imagenet:{tmp_path / 'in'}", "--out", tmp_path / "runs")
    # a bad argument (issue 11): exit 2, argparse's usage and one error line, before anything is printed or written
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 2 and lines[0].startswith("usage: python -m paper_repro train")
    assert "has no val/ folder" in lines[1]
    assert not r.stdout and not (tmp_path / "runs").exists()


def test_two_process_distributed_run_with_gloo(tmp_path):
    env = dict(os.environ, PAPER_REPRO_BACKEND="gloo", OMP_NUM_THREADS="1")
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "paper_repro",
        "train",
        "resnet8",
        "--dataset",
        "synthetic",
        "--iterations",
        "4",
        "--eval-interval",
        "2",
        "--batch-size",
        "32",
        "--device",
        "cpu",
        "--out",
        str(tmp_path),
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    runs = store.find_runs(tmp_path)
    assert len(runs) == 1  # one run directory, written by rank 0 only
    summary = json.loads((runs[0] / "summary.json").read_text())
    assert summary["processes"] == 2 and summary["status"] == "finished" and summary["iterations_done"] == 4
    assert [m["iteration"] for m in store.read_metrics(runs[0])] == [2, 4]


def test_loader_is_seeded_and_resumable(data_root):

    d = load_fashion_mnist(data_root).subset(torch.arange(700))
    mean = pixel_mean(d.images)
    a = DeviceLoader(d, 128, mean, seed=5)
    epoch0 = list(a)
    assert len(epoch0) == len(a) == 5 and a.state_dict() == {"epoch": 1, "position": 0}
    b = DeviceLoader(d, 128, mean, seed=5)
    b.load_state_dict({"epoch": 0, "position": 2})
    assert all(torch.equal(x, y) for (x, _), (y, _) in zip(epoch0[2:], b))
    assert not torch.equal(epoch0[0][0], next(iter(DeviceLoader(d, 128, mean, seed=6)))[0])
    x = epoch0[0][0]
    assert x.shape == (128, 1, 32, 32) and abs(float(x.mean())) < 0.1  # mean-subtracted


def test_batch_crop_and_flip_are_real_crops_and_flips():

    x = torch.arange(2 * 1 * 6 * 6, dtype=torch.float32).view(2, 1, 6, 6)
    g = torch.Generator().manual_seed(0)
    out = random_crop_flip(x, 2, g)
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(2):  # every output is some 6x6 window of the padded image, or its mirror
        windows = [padded[i, :, r : r + 6, c : c + 6] for r in range(5) for c in range(5)]
        assert any(torch.equal(out[i], w) or torch.equal(out[i], w.flip(-1)) for w in windows)
