"""Detection metrics: COCO-style mAP with pycocotools' COCOeval, and VOC07 11-point AP.

* :func:`coco_map` builds a COCO ground-truth object in memory from the common targets, loads
  the detections with ``loadRes`` and runs ``COCOeval`` (iouType "bbox"): ``stats[0]`` is
  mAP@[.5,.95] (Table 8's "mAP@[.5, .95]"), ``stats[1]`` mAP@.5 (Table 8's "mAP@.5"). No part of
  the matching or the averaging is done here.
* :func:`voc07_map` is PASCAL VOC 2007's metric (Table 7's mAP), which pycocotools does not
  provide: per class, detections sorted by score are matched greedily to the unmatched ground
  truth of highest IoU (> 0.5); matches to 'difficult' objects count neither way; AP is the
  11-point interpolated average precision, mean of max precision at recall >= 0, 0.1, .., 1.
  This is ``voc_eval`` of the VOC devkit / py-faster-rcnn, with continuous pixel extents (which
  give the same widths as the devkit's inclusive ``x2 - x1 + 1``).

Boxes are x1, y1, x2, y2 in pixels; labels 1..K; ``gts`` and ``dets`` are lists, one entry per
image, of dicts with ``image_id``, ``boxes``, ``labels`` (and ``scores`` for detections;
``width``/``height``, ``difficult``, ``iscrowd`` optional for ground truth).
"""

from __future__ import annotations

import contextlib
import io

import numpy as np


def _np(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().float().numpy() if x.is_floating_point() else x.detach().cpu().numpy()
    return np.asarray(x)


def _ignored(gt: dict) -> np.ndarray:
    n = len(_np(gt["labels"]))
    flags = np.zeros(n, dtype=bool)
    for key in ("iscrowd", "difficult"):
        if key in gt:
            flags |= _np(gt[key]).astype(bool)
    return flags


def coco_ground_truth(gts: list[dict], num_classes: int):
    """A pycocotools COCO object holding ``gts``. VOC 'difficult' objects and COCO crowd regions
    are marked iscrowd, which COCOeval ignores (a detection on one is neither right nor wrong)."""
    from pycocotools.coco import COCO  # noqa: PLC0415 - optional: the [detection] extra

    images, annotations = [], []
    for g in gts:
        boxes = _np(g["boxes"]).reshape(-1, 4).astype(float)
        w = float(g.get("width") or (boxes[:, 2].max() if len(boxes) else 1))
        h = float(g.get("height") or (boxes[:, 3].max() if len(boxes) else 1))
        images.append({"id": int(g["image_id"]), "width": w, "height": h})
        for box, label, crowd in zip(boxes, _np(g["labels"]), _ignored(g)):
            x1, y1, x2, y2 = map(float, box)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": int(g["image_id"]),
                    "category_id": int(label),
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "area": (x2 - x1) * (y2 - y1),
                    "iscrowd": int(crowd),
                }
            )
    coco = COCO()
    coco.dataset = {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": k} for k in range(1, num_classes + 1)],
    }
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def coco_detections(dets: list[dict]) -> list[dict]:
    out = []
    for d in dets:
        for box, score, label in zip(_np(d["boxes"]).reshape(-1, 4), _np(d["scores"]), _np(d["labels"])):
            x1, y1, x2, y2 = map(float, box)
            out.append(
                {
                    "image_id": int(d["image_id"]),
                    "category_id": int(label),
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "score": float(score),
                }
            )
    return out


def coco_map(gts: list[dict], dets: list[dict], num_classes: int) -> dict:
    """{"map": mAP@[.5,.95], "map50": mAP@.5, "map75": mAP@.75, "ap50_per_class": [...]} from
    COCOeval, averaged over the classes that have ground truth (COCOeval's rule)."""
    from pycocotools.cocoeval import COCOeval  # noqa: PLC0415 - optional: the [detection] extra

    gt = coco_ground_truth(gts, num_classes)
    results = coco_detections(dets)
    if not results:  # loadRes cannot take an empty list; no detection means AP 0 everywhere
        return {"map": 0.0, "map50": 0.0, "map75": 0.0, "ap50_per_class": [0.0] * num_classes, "detections": 0}
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, iouType="bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    # precision: [T iou thresholds, R recall points, K classes, A area ranges, M max-dets]
    prec = ev.eval["precision"][0, :, :, 0, -1]
    per_class = []
    for k in range(prec.shape[1]):
        p = prec[:, k]
        per_class.append(float(p[p > -1].mean()) if (p > -1).any() else None)
    s = [max(0.0, float(v)) for v in ev.stats[:3]]  # -1 means "no ground truth"
    return {"map": s[0], "map50": s[1], "map75": s[2], "ap50_per_class": per_class, "detections": len(results)}


# --------------------------------------------------------------------------- VOC07
def voc07_ap(recall: np.ndarray, precision: np.ndarray) -> float:
    """11-point interpolated AP (VOC 2007): the mean over t = 0, 0.1, .., 1 of the highest
    precision at recall >= t (0 where recall never reaches t)."""
    ap = 0.0
    for t in np.arange(0.0, 1.1, 0.1):
        p = precision[recall >= t]
        ap += (p.max() if p.size else 0.0) / 11.0
    return float(ap)


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    ix1, iy1 = np.maximum(boxes[:, 0], box[0]), np.maximum(boxes[:, 1], box[1])
    ix2, iy2 = np.minimum(boxes[:, 2], box[2]), np.minimum(boxes[:, 3], box[3])
    inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
    union = (box[2] - box[0]) * (box[3] - box[1]) + (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) - inter
    return inter / np.maximum(union, 1e-12)


def voc07_map(gts: list[dict], dets: list[dict], num_classes: int, iou_threshold: float = 0.5) -> dict:
    """{"map50": VOC07 mAP@.5 over the classes with ground truth, "ap50_per_class": [...]}."""
    gt_by_image = {int(g["image_id"]): g for g in gts}
    per_class: list[float | None] = []
    for k in range(1, num_classes + 1):
        truth, npos = {}, 0
        for image_id, g in gt_by_image.items():
            m = _np(g["labels"]) == k
            difficult = _ignored(g)[m]
            truth[image_id] = (_np(g["boxes"]).reshape(-1, 4)[m].astype(float), difficult, np.zeros(m.sum(), bool))
            npos += int((~difficult).sum())
        found = []
        for d in dets:
            m = _np(d["labels"]) == k
            for box, score in zip(_np(d["boxes"]).reshape(-1, 4)[m], _np(d["scores"])[m]):
                found.append((float(score), int(d["image_id"]), box.astype(float)))
        if npos == 0:
            per_class.append(None)
            continue
        found.sort(key=lambda x: -x[0])
        tp, fp = np.zeros(len(found)), np.zeros(len(found))
        for i, (_, image_id, box) in enumerate(found):
            boxes, difficult, used = truth.get(image_id, (np.zeros((0, 4)), np.zeros(0, bool), np.zeros(0, bool)))
            if len(boxes):
                iou = _iou(box, boxes)
                j = int(iou.argmax())
                if iou[j] > iou_threshold:
                    if difficult[j]:
                        continue  # neither a true nor a false positive
                    if not used[j]:
                        tp[i], used[j] = 1, True
                    else:
                        fp[i] = 1  # a duplicate detection
                    continue
            fp[i] = 1
        tp, fp = np.cumsum(tp), np.cumsum(fp)
        recall = tp / npos
        precision = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
        per_class.append(voc07_ap(recall, precision))
    valid = [a for a in per_class if a is not None]
    return {"map50": float(np.mean(valid)) if valid else 0.0, "ap50_per_class": per_class}
