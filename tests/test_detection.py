"""Detection (§4.3): backbones and their ImageNet key mappings, frozen BN, the C4 shapes, the
datasets (canvases, VOC and COCO files in their true formats), COCOeval / VOC07 metrics, the
command line, the run store, and a short training that learns."""

import json
import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

import paper_repro.detection.train as T
from paper_repro.book.detection import comparison_sentence, report_rows
from paper_repro.cli import build_parser, cmd_detect, config_from_args, main
from paper_repro.detection import backbones as B
from paper_repro.detection.config import DetectConfig, profile_config
from paper_repro.detection.data import (
    COCOSet,
    FashionCanvases,
    VOCSet,
    build_detection_data,
    hflip,
    ink_box,
    parse_detection_dataset,
    training_target,
    voc_dataset,
)
from paper_repro.detection.evaluate import coco_map, voc07_ap, voc07_map
from paper_repro.detection.train import evaluate_detector, fit_detector, learning_rate, load_detector
from paper_repro.experiments.runs import DetectionRuns
from paper_repro.runs.datasets import DataMissing, load_fashion_mnist
from paper_repro.runs.run import Diverged, Result
from paper_repro.runs.speed import resolve_speed
from paper_repro.runs.store import read_metrics

torch.set_grad_enabled(True)


def _randomise_bn(model: torch.nn.Module, seed: int = 0) -> None:
    """Non-trivial BN statistics and affine parameters, so that a mapping mistake shows."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            with torch.no_grad():
                m.weight.copy_(0.5 + torch.rand(n, generator=g))
                m.bias.copy_(0.1 * torch.randn(n, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(n, generator=g))
                m.running_var.copy_(0.5 + torch.rand(n, generator=g))


def _close(out, ref, tol=1e-5):
    """Equal up to float rounding relative to the largest activation (101 layers with random BN
    statistics reach values of 1e4; FrozenBatchNorm2d and F.batch_norm round differently)."""
    assert out.shape == ref.shape
    assert float((out - ref).abs().max()) <= tol * float(ref.abs().max())


@pytest.fixture(scope="module")
def tv_resnet101():
    torch.manual_seed(0)
    net = torchvision.models.resnet101(weights=None)
    _randomise_bn(net)
    return net.eval()


@pytest.fixture(scope="module")
def tv_vgg16():
    torch.manual_seed(0)
    return torchvision.models.vgg16(weights=None).eval()


# --------------------------------------------------------------------------- key mappings
def test_resnet101_key_mapping_loads_strictly_and_reproduces_torchvision(tv_resnet101):
    sd = tv_resnet101.state_dict()
    parts = B.split_state_dict(sd, B.resnet101_key)
    assert set(parts["trunk"]) | set(parts["head"]) == {B.resnet101_key(k)[1] for k in sd if not k.startswith("fc.")}
    assert all(k.startswith("layer4.") for k in parts["head"]) and any(".shortcut." in k for k in parts["trunk"])
    trunk, head, roi = B.build_backbone("resnet101", sd)  # loads with strict=True inside
    assert roi == 14
    trunk.eval(), head.eval()
    x = torch.randn(1, 3, 96, 128)
    with torch.no_grad():
        t = tv_resnet101
        ref = t.layer3(t.layer2(t.layer1(t.maxpool(t.relu(t.bn1(t.conv1(x)))))))
        _close(trunk(x), ref)
        feat = torch.randn(3, 1024, 14, 14)
        _close(head(feat), torch.flatten(t.avgpool(t.layer4(feat)), 1))


def test_vgg16_key_mapping_loads_strictly_and_reproduces_torchvision(tv_vgg16):
    sd = tv_vgg16.state_dict()
    assert B.vgg16_key("features.28.weight") == ("trunk", "features.28.weight")  # conv5_3
    assert B.vgg16_key("classifier.0.weight") == ("head", "fc6.weight")
    assert B.vgg16_key("classifier.3.bias") == ("head", "fc7.bias")
    assert B.vgg16_key("classifier.6.weight") is None  # fc8: the ImageNet classifier is replaced
    trunk, head, roi = B.build_backbone("vgg16", sd)
    assert roi == 7
    trunk.eval(), head.eval()
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        torch.testing.assert_close(trunk(x), tv_vgg16.features[:30](x))
        pooled = torch.randn(2, 512, 7, 7)
        torch.testing.assert_close(head(pooled), tv_vgg16.classifier[:5](torch.flatten(pooled, 1)))
    # pretrained: conv1_x and conv2_x fixed (Fast R-CNN), conv3_1 and up trained
    assert not trunk.features[0].weight.requires_grad and trunk.features[10].weight.requires_grad


# --------------------------------------------------------------------------- frozen BN
def test_frozen_bn_really_frozen_after_a_training_step(tv_resnet101):
    model = B.build_faster_rcnn(
        "resnet101",
        3,
        tv_resnet101.state_dict(),
        B.BackboneOptions(roi_size=6, roi_op="align"),
        anchor_sizes=(16, 32, 64),
        min_size=64,
        max_size=64,
        rpn_batch_size_per_image=16,
        box_batch_size_per_image=8,
        rpn_post_nms_top_n_train=20,
    )
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    frozen = {n: m for n, m in model.named_modules() if isinstance(m, torchvision.ops.FrozenBatchNorm2d)}
    assert len(frozen) == 104  # every BN of ResNet-101 (conv1 + 33 blocks x 3 + 4 projections)
    before = {f"{n}.{k}": v.clone() for n, m in frozen.items() for k, v in m.named_buffers()}
    conv_before = model.backbone.layer3[0].conv1.weight.clone()
    params = [p for p in model.parameters() if p.requires_grad]
    assert not any(p is b for p in params for m in frozen.values() for b in m.buffers())
    opt = torch.optim.SGD(params, lr=0.1, momentum=0.9)
    model.train()
    images = [torch.rand(3, 64, 64), torch.rand(3, 64, 64)]
    targets = [
        {"boxes": torch.tensor([[8.0, 8.0, 40.0, 44.0]]), "labels": torch.tensor([1])},
        {"boxes": torch.tensor([[20.0, 4.0, 60.0, 30.0]]), "labels": torch.tensor([2])},
    ]
    loss = sum(model(images, targets).values())
    opt.zero_grad()
    loss.backward()
    opt.step()
    after = {f"{n}.{k}": v for n, m in frozen.items() for k, v in m.named_buffers()}
    for k, v in before.items():
        assert torch.equal(v, after[k]), k
    assert not torch.equal(conv_before, model.backbone.layer3[0].conv1.weight)  # the step did happen
    assert not model.backbone.layer1[0].conv1.weight.requires_grad  # conv1 + conv2_x fixed when pretrained


def test_freeze_batchnorm_equals_bn_in_eval_mode():
    bn = torch.nn.BatchNorm2d(4)
    _randomise_bn(torch.nn.Sequential(bn), 3)
    x = torch.randn(2, 4, 5, 5)
    ref = bn.eval()(x)
    frozen = B.freeze_batchnorm(torch.nn.Sequential(bn))[0]
    assert isinstance(frozen, torchvision.ops.FrozenBatchNorm2d) and not list(frozen.parameters())
    torch.testing.assert_close(frozen.train()(x), ref)


# --------------------------------------------------------------------------- C4 shapes
def test_c4_shapes_stride_16_trunk_and_flat_head():
    model = B.build_faster_rcnn(
        "resnet101",
        11,
        options=B.BackboneOptions(roi_size=14),
        anchor_sizes=(16, 32, 64),
        min_size=128,
        max_size=160,
        rpn_post_nms_top_n_test=10,
    )
    trunk, head, roi = model.backbone, model.roi_heads.box_head, model.roi_heads.box_roi_pool.output_size[0]
    assert isinstance(trunk, B.ResNetC4Trunk) and isinstance(head, B.ResNetC4Head)
    assert trunk.out_channels == 1024 and head.out_features == 2048
    x = torch.randn(1, 3, 128, 160)
    with torch.no_grad():
        f = trunk.eval()(x)
        assert f.shape == (1, 1024, 8, 10)  # stride 16
        pool = B.StrideRoIPool(roi, "pool")
        boxes = [torch.tensor([[0.0, 0.0, 64.0, 64.0], [32.0, 16.0, 128.0, 112.0], [5.0, 5.0, 20.0, 30.0]])]
        pooled = pool({"0": f}, boxes, [(128, 160)])
        assert pooled.shape == (3, 1024, 14, 14)  # RoI pooling before conv5_1
        assert head.layer4(pooled).shape == (3, 2048, 7, 7)  # conv5_1 strides 14x14 to 7x7
        assert head.eval()(pooled).shape == (3, 2048)  # conv5_x + global average pool: a flat vector
    vtrunk, vhead, vroi = B.build_backbone("vgg16")
    with torch.no_grad():
        vf = vtrunk(x)
        assert vf.shape == (1, 512, 8, 10)
        assert vhead.eval()(B.StrideRoIPool(vroi)({"0": vf}, boxes, [(128, 160)])).shape == (3, 4096)
    assert isinstance(model.roi_heads.box_predictor, torchvision.models.detection.faster_rcnn.FastRCNNPredictor)
    assert model.roi_heads.box_predictor.cls_score.out_features == 11
    with torch.no_grad():
        out = model.eval()([torch.rand(3, 128, 160)])
    assert set(out[0]) == {"boxes", "scores", "labels"}


# --------------------------------------------------------------------------- datasets
@pytest.fixture(scope="module")
def fashion_test(data_root):

    return load_fashion_mnist(data_root, train=False)


def test_canvases_are_seeded_and_boxes_are_the_pasted_extents(fashion_test):
    a = FashionCanvases(fashion_test, 20, size=96, items_per_canvas=(1, 3), seed=5)
    b = FashionCanvases(fashion_test, 20, size=96, items_per_canvas=(1, 3), seed=5)
    c = FashionCanvases(fashion_test, 20, size=96, items_per_canvas=(1, 3), seed=6)
    for i in range(20):
        (ia, ta), (ib, tb) = a[i], b[i]
        assert torch.equal(ia, ib) and torch.equal(ta["boxes"], tb["boxes"]) and torch.equal(ta["labels"], tb["labels"])
    assert any(not torch.equal(a[i][0], c[i][0]) for i in range(5))
    n_objects = 0
    for i in range(20):
        canvas, objects = a.layout(i)
        image, target = a[i]
        assert image.shape == (3, 96, 96) and torch.equal(image[0], canvas.float() / 255)
        outside = torch.ones_like(canvas, dtype=torch.bool)
        for o, box, label in zip(objects, target["boxes"], target["labels"]):
            x1, y1, x2, y2 = o.box
            assert box.tolist() == [x1, y1, x2, y2] and 0 <= x1 < x2 <= 96 and 0 <= y1 < y2 <= 96
            assert label == int(fashion_test.labels[o.source_index]) + 1  # the item's class (0 = background)
            assert canvas[y1:y2, x1:x2].amax() > 0
            outside[y1:y2, x1:x2] = False
            n_objects += 1
        assert canvas[outside].sum() == 0  # nothing drawn outside the boxes
        # no two boxes overlap
        bx = target["boxes"]
        if len(bx) > 1:
            assert torchvision.ops.box_iou(bx, bx).fill_diagonal_(0).max() == 0
    assert n_objects > 20


def test_canvas_item_at_scale_1_is_exactly_its_ink_crop(fashion_test):
    ds = FashionCanvases(fashion_test, 10, size=64, items_per_canvas=(1, 2), scales=(1.0, 1.0), seed=1)
    for i in range(10):
        canvas, objects = ds.layout(i)
        for o in objects:
            item = fashion_test.images[o.source_index, 0]
            y0, y1, x0, x1 = ink_box(item)
            bx1, by1, bx2, by2 = o.box
            assert (by2 - by1, bx2 - bx1) == (y1 - y0, x1 - x0)
            assert torch.equal(canvas[by1:by2, bx1:bx2], item[y0:y1, x0:x1])  # tight: ink touches all 4 sides


def test_hflip_flips_boxes_with_the_image():
    img = torch.zeros(3, 10, 20)
    img[:, 2:5, 1:4] = 1
    t = {"boxes": torch.tensor([[1.0, 2.0, 4.0, 5.0]]), "labels": torch.tensor([1])}
    fimg, ft = hflip(img, t)
    assert ft["boxes"].tolist() == [[16.0, 2.0, 19.0, 5.0]]
    assert fimg[0, 2:5, 16:19].min() == 1 and fimg.sum() == img.sum()


def _write_voc(root, year, names_by_split, objects):
    base = root / "VOCdevkit" / f"VOC{year}"
    for sub in ("JPEGImages", "Annotations", "ImageSets/Main"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    for name, objs in objects.items():
        Image.fromarray(np.full((40, 60, 3), 128, np.uint8)).save(base / "JPEGImages" / f"{name}.jpg")
        ann = ET.Element("annotation")
        ET.SubElement(ann, "filename").text = f"{name}.jpg"
        size = ET.SubElement(ann, "size")
        for k, v in (("width", 60), ("height", 40), ("depth", 3)):
            ET.SubElement(size, k).text = str(v)
        for cls, (xmin, ymin, xmax, ymax), difficult in objs:
            o = ET.SubElement(ann, "object")
            ET.SubElement(o, "name").text = cls
            ET.SubElement(o, "pose").text = "Unspecified"
            ET.SubElement(o, "truncated").text = "0"
            ET.SubElement(o, "difficult").text = str(difficult)
            bb = ET.SubElement(o, "bndbox")
            for k, v in zip(("xmin", "ymin", "xmax", "ymax"), (xmin, ymin, xmax, ymax)):
                ET.SubElement(bb, k).text = str(v)
        ET.ElementTree(ann).write(base / "Annotations" / f"{name}.xml")
    for split, names in names_by_split.items():
        (base / "ImageSets" / "Main" / f"{split}.txt").write_text("".join(n + "\n" for n in names))


def test_voc_reader_on_a_tiny_vocdevkit(tmp_path):
    objects = {
        "000001": [("dog", (10, 5, 30, 25), 0), ("person", (1, 1, 60, 40), 1)],
        "000002": [("car", (5, 6, 20, 30), 0)],
        "000003": [("tvmonitor", (2, 3, 4, 5), 0)],
    }
    _write_voc(
        tmp_path,
        "2007",
        {"train": ["000001"], "val": ["000002"], "trainval": ["000001", "000002"], "test": ["000003"]},
        objects,
    )
    _write_voc(tmp_path, "2012", {"trainval": ["000009"]}, {"000009": [("cat", (3, 3, 9, 9), 0)]})
    ds = VOCSet(tmp_path, "2007", "train")
    img, t = ds[0]
    assert img.shape == (3, 40, 60) and img.dtype == torch.float32 and abs(float(img.mean()) - 128 / 255) < 0.02
    assert t["boxes"].tolist() == [[9.0, 4.0, 30.0, 25.0], [0.0, 0.0, 60.0, 40.0]]  # 1-based inclusive -> extents
    assert t["labels"].tolist() == [12, 15]  # dog, person (1-based in VOC's class order)
    assert t["difficult"].tolist() == [False, True]
    assert len(VOCSet(tmp_path, "2007", "val")) == 1 and VOCSet(tmp_path, "2007", "test")[0][1]["labels"].tolist() == [
        20
    ]
    both = voc_dataset(tmp_path, "2007-trainval+2012-trainval")
    assert len(both) == 3 and both[2][1]["labels"].tolist() == [8]  # cat, from VOC 2012
    assert len({both[i][1]["image_id"] for i in range(3)}) == 3

    with pytest.raises(DataMissing, match="VOCdevkit"):
        VOCSet(tmp_path / "nowhere", "2007", "test")
    cfg = DetectConfig(dataset=f"voc:{tmp_path}", train_split="2007-trainval+2012-trainval", eval_split="2007-test")
    data = build_detection_data(cfg)
    assert len(data.train) == 3 and len(data.eval) == 1 and data.classes[0] == "aeroplane"


def test_coco_reader_on_a_tiny_coco_folder(tmp_path):
    (tmp_path / "val2017").mkdir()
    (tmp_path / "annotations").mkdir()
    for _i, name in ((7, "a.jpg"), (9, "b.jpg")):
        Image.fromarray(np.zeros((30, 50, 3), np.uint8)).save(tmp_path / "val2017" / name)
    ann = {
        "images": [
            {"id": 7, "file_name": "a.jpg", "width": 50, "height": 30},
            {"id": 9, "file_name": "b.jpg", "width": 50, "height": 30},
        ],
        "annotations": [
            {"id": 1, "image_id": 7, "category_id": 3, "bbox": [1, 2, 10, 20], "area": 200, "iscrowd": 0},
            {"id": 2, "image_id": 7, "category_id": 1, "bbox": [5, 5, 4, 4], "area": 16, "iscrowd": 1},
            {"id": 3, "image_id": 9, "category_id": 1, "bbox": [0, 0, 50, 30], "area": 1500, "iscrowd": 0},
        ],
        "categories": [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}],
    }
    (tmp_path / "annotations" / "instances_val2017.json").write_text(json.dumps(ann))
    ds = COCOSet(tmp_path, "val2017")
    assert ds.classes == ("person", "car") and len(ds) == 2
    img, t = ds[0]
    assert img.shape == (3, 30, 50) and t["image_id"] == 7
    assert t["boxes"].tolist() == [[1.0, 2.0, 11.0, 22.0], [5.0, 5.0, 9.0, 9.0]]  # x, y, w, h -> x1, y1, x2, y2
    assert t["labels"].tolist() == [2, 1] and t["iscrowd"].tolist() == [False, True]

    assert training_target(t)["labels"].tolist() == [2]  # crowd regions are not trained on


# --------------------------------------------------------------------------- metrics
def _gts():
    return [
        {
            "image_id": 1,
            "boxes": torch.tensor([[10.0, 10.0, 50.0, 50.0], [60.0, 10.0, 90.0, 70.0]]),
            "labels": torch.tensor([1, 2]),
            "width": 100,
            "height": 100,
        },
        {
            "image_id": 2,
            "boxes": torch.tensor([[0.0, 0.0, 30.0, 40.0]]),
            "labels": torch.tensor([1]),
            "width": 100,
            "height": 100,
        },
    ]


def test_cocoeval_map_is_one_for_perfect_predictions_and_lower_for_shifted_boxes():
    gts = _gts()
    perfect = [
        {
            "image_id": g["image_id"],
            "boxes": g["boxes"],
            "labels": g["labels"],
            "scores": torch.full((len(g["labels"]),), 0.9),
        }
        for g in gts
    ]
    m = coco_map(gts, perfect, 2)
    assert m["map"] == pytest.approx(1.0) and m["map50"] == pytest.approx(1.0)
    shifted = [{**d, "boxes": d["boxes"] + torch.tensor([4.0, 4.0, 4.0, 4.0])} for d in perfect]  # IoU ~0.6-0.8
    s = coco_map(gts, shifted, 2)
    assert s["map50"] == pytest.approx(1.0) and s["map"] < 0.8
    far = [{**d, "boxes": d["boxes"] + 25.0} for d in perfect]
    assert coco_map(gts, far, 2)["map50"] < 0.1
    wrong_class = [{**d, "labels": 3 - d["labels"]} for d in perfect]
    assert coco_map(gts, wrong_class, 2)["map50"] < 0.5
    assert coco_map(gts, [], 2)["map50"] == 0.0


def test_voc07_ap_on_a_hand_checked_case():
    gts = [
        {
            "image_id": 1,
            "boxes": torch.tensor([[0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 30.0, 30.0]]),
            "labels": torch.tensor([1, 1]),
        }
    ]
    dets = [
        {
            "image_id": 1,
            "boxes": torch.tensor([[0.0, 0.0, 10.0, 10.0], [50.0, 50.0, 60.0, 60.0], [20.0, 20.0, 30.0, 31.0]]),
            "scores": torch.tensor([0.9, 0.8, 0.7]),
            "labels": torch.tensor([1, 1, 1]),
        }
    ]
    # ranked: TP (r .5, p 1), FP (r .5, p .5), TP (r 1, p 2/3): 6 recall points at p 1, 5 at p 2/3
    assert voc07_map(gts, dets, 1)["map50"] == pytest.approx((6 * 1 + 5 * 2 / 3) / 11)
    assert voc07_ap(np.array([0.5, 1.0]), np.array([1.0, 0.5])) == pytest.approx((6 + 5 * 0.5) / 11)
    # a duplicate detection is a false positive; a detection of a 'difficult' object counts neither way
    dup = [
        {
            "image_id": 1,
            "boxes": torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 10.0]]),
            "scores": torch.tensor([0.9, 0.8]),
            "labels": torch.tensor([1, 1]),
        }
    ]
    assert voc07_map(gts, dup, 1)["map50"] == pytest.approx(6 / 11)
    hard = [{**gts[0], "difficult": torch.tensor([False, True])}]
    assert voc07_map(hard, dets, 1)["map50"] == pytest.approx(1.0)


# --------------------------------------------------------------------------- config, CLI, run store
def test_dataset_names_and_config_validation():
    assert parse_detection_dataset("voc:/x") == ("voc", "/x")
    for bad in ("voc", "imagenet:/x", "fashion-canvas:/x", "pascal"):
        with pytest.raises(ValueError, match="fashion-canvas"):
            parse_detection_dataset(bad)
    with pytest.raises(ValueError, match="resnet101, vgg16"):
        DetectConfig(backbone="resnet50").validate()
    cfg = profile_config("cpu", "resnet101")
    assert (
        cfg.min_size == cfg.max_size == cfg.canvas_size and cfg.roi_size == 2 * profile_config("cpu", "vgg16").roi_size
    )
    full = DetectConfig()
    assert (full.lr, full.milestones, full.iterations, full.min_size, full.max_size) == (
        0.001,
        (60000,),
        80000,
        600,
        1000,
    )
    assert full.roi() == 14 and full.replace(backbone="vgg16").roi() == 7
    assert learning_rate(59999, full) == 0.001 and learning_rate(60000, full) == pytest.approx(0.0001)
    assert cfg.hash() == profile_config("cpu", "resnet101", experiment="elsewhere").hash()
    assert cfg.hash() != profile_config("cpu", "resnet101", seed=1).hash()


@pytest.mark.parametrize(
    "args, says",
    [
        (["--backbone", "resnet50"], "resnet101"),
        (["--dataset", "pascal"], "fashion-canvas"),
        (["--dataset", "voc"], "voc:PATH"),
        (["--profile", "huge"], "smoke"),
        (["--iterations", "0"], "positive integer"),
        (["--lr", "0"], "lr must be a number > 0"),
        (["--pretrained", "/no/such/file.pth"], "not found"),
    ],
)
def test_cli_bad_arguments_exit_2_with_one_line(capsys, tmp_path, args, says):

    with pytest.raises(SystemExit) as e:
        main(["detect", *args, "--out", str(tmp_path / "runs")])
    assert e.value.code == 2
    usage, line = capsys.readouterr().err.strip().splitlines()  # argparse's usage line, then the error
    assert usage.startswith("usage: python -m paper_repro detect [options]")
    assert says in line and line.startswith("python -m paper_repro detect: error:")
    assert not (tmp_path / "runs").exists()


def test_cli_bad_argument_exit_code_in_a_real_process(cli, tmp_path):
    r = cli("detect", "--backbone", "vgg19", "--out", tmp_path / "runs")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 2 and "vgg16" in r.stderr  # usage, error
    assert not (tmp_path / "runs").exists()


def test_cli_handler_is_importable_and_registered():

    args = build_parser().parse_args(["detect", "--backbone", "vgg16", "--profile", "smoke"])
    assert args.handler is cmd_detect and args.backbone == "vgg16" and args.dataset == "fashion-canvas"

    assert config_from_args(args).lr == profile_config("smoke", "vgg16").lr
    cfg = config_from_args(
        build_parser().parse_args(["detect", "--profile", "smoke", "--lr", "0.02", "--iterations", "8"])
    )
    assert (cfg.backbone, cfg.lr, cfg.iterations) == ("resnet101", 0.02, 8)
    assert cfg.hash() != profile_config("smoke", "resnet101", iterations=8).hash()


TINY = dict(
    canvas_size=64,
    min_items=1,
    max_items=2,
    min_scale=1.0,
    max_scale=1.5,
    train_images=16,
    eval_images=4,
    roi_size=3,
    rpn_post_nms_top_n_test=10,
    box_batch_size_per_image=8,
    rpn_batch_size_per_image=16,
)


def test_run_store_caches_and_resumes(tmp_path, data_root, monkeypatch):
    cfg = profile_config("smoke", "vgg16", iterations=4, **TINY).replace(log_interval=1, checkpoint_interval=2)
    monkeypatch.setenv("PAPER_REPRO_STOP_AT", "2")
    with pytest.raises(KeyboardInterrupt):
        fit_detector(cfg, out=tmp_path, data_root=data_root, progress=False)
    d = cfg.folder(tmp_path)
    assert (d / "config.json").exists() and not (d / "summary.json").exists()

    assert [m["iteration"] for m in read_metrics(d)] == [1, 2]
    monkeypatch.delenv("PAPER_REPRO_STOP_AT")
    r = fit_detector(cfg, out=tmp_path, data_root=data_root, progress=False)
    assert r.resumed_from == 2 and not r.cached and r.summary["status"] == "finished"
    assert [m["iteration"] for m in r.metrics] == [1, 2, 3, 4] and "map50" in r.metrics[-1]
    assert (d / "samples.json").exists()
    again = fit_detector(cfg, out=tmp_path, data_root=data_root, progress=False)
    assert again.cached and again.summary == r.summary
    model = load_detector(again)
    assert isinstance(model, torchvision.models.detection.FasterRCNN) and not model.training


def test_nan_loss_writes_a_diverged_summary(tmp_path, data_root, monkeypatch):

    real = T.build_detector

    def nan_after_one(*a, **k):
        model = real(*a, **k)
        forward, calls = model.forward, []

        def patched(images, targets=None):
            out = forward(images, targets)
            calls.append(1)
            if model.training and len(calls) >= 2:
                out = {k: v * math.nan for k, v in out.items()}
            return out

        model.forward = patched
        return model

    monkeypatch.setattr(T, "build_detector", nan_after_one)
    cfg = profile_config("smoke", "vgg16", iterations=4, **TINY)
    with pytest.raises(Diverged) as e:
        fit_detector(cfg, out=tmp_path, data_root=data_root, progress=False)
    assert e.value.iteration == 2 and e.value.summary["status"] == "diverged"
    with pytest.raises(Diverged):  # the stored verdict, without training again
        fit_detector(cfg, out=tmp_path, data_root=data_root, progress=False)


@pytest.mark.slow
def test_the_pipeline_learns_on_a_small_set(tmp_path, data_root):
    """A short training on 8 canvases: the loss falls clearly and mAP@.5 on those images is > 0."""
    cfg = profile_config(
        "smoke",
        "vgg16",
        iterations=60,
        canvas_size=64,
        min_items=1,
        max_items=2,
        min_scale=1.2,
        max_scale=1.6,
        train_images=8,
        eval_images=4,
        lr=0.01,
        warmup_iterations=10,
        milestones=(45,),
        roi_size=3,
        hflip=False,
        box_score_thresh=0.001,
    ).replace(log_interval=10, checkpoint_interval=60)
    r = fit_detector(cfg, out=tmp_path, data_root=data_root, progress=False)
    losses = [m["loss"] for m in r.metrics]
    assert losses[-1] < 0.6 * losses[0], losses
    data = build_detection_data(cfg, data_root)
    ev = evaluate_detector(load_detector(r), data.train, len(data.classes), resolve_speed(cfg))
    assert ev["map50"] > 0.05, ev


# --------------------------------------------------------------------------- the chapter's logic
def _fake_runs(map50_resnet, map50_vgg):

    runs = {}
    for b, m50 in (("resnet101", map50_resnet), ("vgg16", map50_vgg)):
        cfg = profile_config("cpu", b)
        s = {
            "map50": m50,
            "map": m50 / 3,
            "iterations_done": cfg.iterations,
            "eval_images": cfg.eval_images,
            "pretrained": False,
            "wall_time_s": 60.0,
            "commit": "abc",
            "hardware": "test",
        }
        runs[b] = Result(cfg.folder("/nowhere"), cfg, s)
    return DetectionRuns("cpu", {"fashion-canvas": runs})


def test_comparison_sentence_states_the_measured_numbers_and_no_verdict_from_one_seed():

    ahead = comparison_sentence(_fake_runs(0.229, 0.115))
    assert (
        "22.9%" in ahead and "11.5%" in ahead and "+11.40 points, n = 1 seed per net: **one run: no verdict**" in ahead
    )
    assert "holds" not in ahead
    behind = comparison_sentence(_fake_runs(0.05, 0.12))
    assert "-7.00 points" in behind and "one run: no verdict" in behind


def test_report_rows_put_tables_7_and_8_beside_what_ran():

    rows = {r["quantity"]: r for r in report_rows(_fake_runs(0.2, 0.1))}
    voc = rows["VOC 2007 test mAP@.5, Faster R-CNN ResNet-101 (07+12)"]
    assert voc["paper"] == 76.4 and voc["measured"] is None and voc["source"] == "Table 7"
    assert rows["COCO val mAP@[.5,.95], Faster R-CNN VGG-16"]["paper"] == 21.2
    canvas = rows["Fashion-MNIST canvases mAP@.5, Faster R-CNN ResNet-101"]
    assert canvas["measured"] == pytest.approx(20.0) and canvas["paper"] is None
    gain = rows["ResNet-101 − VGG-16 mAP@.5 (canvases)"]
    assert gain["paper"] == pytest.approx(3.2) and gain["measured"] == pytest.approx(10.0)
    assert gain["claim"] == "detection" and gain["verdict"] == "one run: no verdict"
