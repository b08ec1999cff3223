"""The paper's reported numbers, as data (He et al. 2016; see ../shared/PAPER.md).

Every comparison in the book reads its "paper" column from here, with the table or figure it
comes from.
"""

# Table 1 (layers per stage and multiply-adds) is models.ARCHITECTURES: the builders read it.

# §4.2: "terminate training at 64k iterations" (lr ÷10 at 32k and 48k), the CIFAR-10 schedule
ITERATIONS = 64000

# Table 2: top-1 error (%, 10-crop, ImageNet val)
TABLE2_TOP1 = {"plain18": 27.94, "plain34": 28.54, "resnet18": 27.88, "resnet34": 25.03}

# Table 6: CIFAR-10 test error (%) and parameters; ResNet-110: best of 5 runs, mean±std 6.61±0.16
TABLE6_ERROR = {20: 8.75, 32: 7.51, 44: 7.17, 56: 6.97, 110: 6.43, 1202: 7.93}
TABLE6_PARAMS = {20: "0.27M", 32: "0.46M", 44: "0.66M", 56: "0.85M", 110: "1.7M", 1202: "19.4M"}
TABLE6_RESNET110_MEAN_STD = (6.61, 0.16)
