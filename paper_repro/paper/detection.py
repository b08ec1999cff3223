"""The paper's detection numbers (§4.3), in percent, as printed in Tables 7 and 8."""

from __future__ import annotations

# Table 7: Faster R-CNN mAP (%) on PASCAL VOC. "07+12": VOC 2007 trainval + 2012 trainval,
# tested on VOC 2007 test; "07++12": 2007 trainval+test + 2012 trainval, tested on VOC 2012 test.
VOC07_TEST = "VOC 2007 test (train 07+12)"  # the Table 7 column chapter 5 compares with
TABLE7 = {
    ("vgg16", VOC07_TEST): 73.2,
    ("resnet101", VOC07_TEST): 76.4,
    ("vgg16", "VOC 2012 test (train 07++12)"): 70.4,
    ("resnet101", "VOC 2012 test (train 07++12)"): 73.8,
}

# Table 8: Faster R-CNN on COCO val (trained on COCO train).
TABLE8 = {
    ("vgg16", "mAP@.5"): 41.5,
    ("resnet101", "mAP@.5"): 48.4,
    ("vgg16", "mAP@[.5,.95]"): 21.2,
    ("resnet101", "mAP@[.5,.95]"): 27.2,
}

BACKBONE_NAMES = {"resnet101": "ResNet-101", "vgg16": "VGG-16"}
