"""Synthetic scale-map records shared by the tests of the pages that read them (evidence.py, scale_map.py,
explore.py): four nets, 3 seeds at 600 (no curves) and 1200 (curves and Fig. 7), seed 0 at 2400."""


def rec(net, seed, n, train, test, curves=False, fig7=None, commit="abc1234"):
    r = {
        "net": net,
        "seed": seed,
        "iterations": n,
        "dataset": "fashion-mnist",
        "final_train_error": train,
        "final_eval_error": test,
        "final_eval_images": 10000,
        "train_images": 60000,
        "commit": commit,
        "hardware": "test cpu",
        "precision": "bf16",
        "config_hash": f"{net}-{seed}-{n}",
    }
    if curves:
        r["curves"] = {
            "eval_images": 1000,
            "iteration": [10, 20],
            "lr": [0.1, 0.01],
            "train_error": [train + 0.1 + 0.01 * seed, train],
            "eval_error": [test + 0.1, test + 0.01 * seed],
        }
    if fig7 is not None:
        r["fig7"] = {
            "images": 1000,
            "layers": ["a", "b"],
            "response_std": [fig7, fig7 + 0.1 * seed],
            "bn_gamma": [fig7, fig7],
        }
    return r


NETS = ("plain20", "plain56", "resnet20", "resnet56")
TRAIN = {"plain20": 0.10, "plain56": 0.30, "resnet20": 0.08, "resnet56": 0.05}
OLD = [rec(n, s, 600, TRAIN[n] + 0.001 * s, 0.2) for n in NETS for s in range(3)]  # 600: 3 seeds, no curves
# 1200: 3 seeds with curves and fig7; 2400: only seed 0 so far
NEW = [
    rec(n, s, 1200, TRAIN[n] + 0.001 * s, 0.15, curves=True, fig7=1.0 if n.startswith("plain") else 0.5)
    for n in NETS
    for s in range(3)
] + [rec(n, 0, 2400, 0.01, 0.1, curves=True, fig7=0.4) for n in NETS]
