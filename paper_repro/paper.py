"""The paper's reported numbers, as data (He et al. 2016; see ../shared/PAPER.md).

Every comparison in the book reads its "paper" column from here, with the table or figure it
comes from.
"""

# Table 1: multiply-adds of the ImageNet nets
TABLE1_MULTIPLY_ADDS = {18: 1.8e9, 34: 3.6e9, 50: 3.8e9, 101: 7.6e9, 152: 11.3e9}

# Table 2: top-1 error (%, 10-crop, ImageNet val)
TABLE2_TOP1 = {"plain18": 27.94, "plain34": 28.54, "resnet18": 27.88, "resnet34": 25.03}

# Table 3: top-1 / top-5 error (%, 10-crop, ImageNet val)
TABLE3 = {
    "VGG-16": (28.07, 9.33), "plain-34": (28.54, 10.02), "ResNet-34 A": (25.03, 7.76), "ResNet-34 B": (24.52, 7.46),
    "ResNet-34 C": (24.19, 7.40), "ResNet-50": (22.85, 6.71), "ResNet-101": (21.75, 6.05), "ResNet-152": (21.43, 5.71),
}

# Table 6: CIFAR-10 test error (%) and parameters; ResNet-110: best of 5 runs, mean±std 6.61±0.16
TABLE6_ERROR = {20: 8.75, 32: 7.51, 44: 7.17, 56: 6.97, 110: 6.43, 1202: 7.93}
TABLE6_PARAMS = {20: "0.27M", 32: "0.46M", 44: "0.66M", 56: "0.85M", 110: "1.7M", 1202: "19.4M"}
TABLE6_RESNET110_MEAN_STD = (6.61, 0.16)
TABLE6_OTHERS = {"Maxout": 9.38, "NIN": 8.81, "DSN": 8.22, "FitNet-19 (2.5M)": 8.39, "Highway-19 (2.3M)": 7.54,
                 "Highway-32 (1.25M)": 8.80}

# A well-known reproduction (not the paper's recipe: 200 epochs, ImageNet normalisation)
AKAMASTER_ERROR = {20: 8.27, 32: 7.37, 44: 6.90, 56: 6.61, 110: 6.32, 1202: 6.18}

# Fig. 6 statements (read off the figure; the paper gives no table)
FIG6 = {
    "plain": "deeper plain nets have higher training and test error (plain-56 > plain-20); plain-110 > 60% error",
    "resnet": "deeper ResNets have lower training and test error (ResNet-110 < ... < ResNet-20)",
    "1202": "ResNet-1202 reaches < 0.1% training error and 7.93% test error (worse than ResNet-110: overfitting)",
}

# Fig. 7 statements
FIG7 = ("ResNets have generally smaller responses than their plain counterparts; "
        "the deeper ResNet has smaller magnitudes of responses")

# §4.2 / §4.3 schedule facts
CIFAR_SCHEDULE = {"batch": 128, "lr": 0.1, "milestones": (32000, 48000), "iterations": 64000, "weight_decay": 1e-4,
                  "momentum": 0.9, "warmup": "lr 0.01 until training error < 80% (ResNet-110/1202), then 0.1"}
