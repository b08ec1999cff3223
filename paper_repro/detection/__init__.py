"""Object detection with ResNet-101 (§4.3, Appendix A; Tables 7 and 8).

Faster R-CNN is torchvision's :class:`~torchvision.models.detection.FasterRCNN` (its RPN, RoI
heads and losses); this package supplies what the paper changes: the "C4" ResNet-101 backbone
(conv1..conv4_x shared at stride 16, RoI pooling before conv5_1, conv5_x and global average
pooling per region, frozen BN) and the VGG-16 baseline (conv5_3 features, fc6/fc7 head).

Modules: :mod:`.backbones` (the two backbones and their ImageNet weight mappings), :mod:`.config`
(``DetectConfig`` and the profiles), :mod:`.data` (Fashion-MNIST canvases, PASCAL VOC, COCO),
:mod:`.evaluate` (COCOeval mAP and VOC07 AP) and :mod:`.train` (``fit_detector`` through the run
store). The command line (``python -m paper_repro detect``) is in ``paper_repro.cli``, what
the book's chapter calls in ``paper_repro.experiments.runs`` and ``paper_repro.book.detection``,
and the paper's numbers in ``paper_repro.paper.detection``.

The package imports :mod:`.train`, which registers ``fit_detector`` as the training function of
``DetectConfig`` (``runs.registry``): whatever imports the config has its training function too.
"""

from paper_repro.detection import train as train
