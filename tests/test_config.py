"""config.py: the profiles keep the paper's recipe and only shrink the scale."""

from paper_repro.classification.config import PROFILES


def test_profiles_keep_the_recipe_and_only_shrink_scale():
    for p in PROFILES.values():
        cfg = p.run_config("resnet110", "x")
        assert (cfg.batch_size, cfg.lr, cfg.momentum, cfg.weight_decay) == (128, 0.1, 0.9, 1e-4)
        assert cfg.milestones == (cfg.iterations // 2, cfg.iterations * 3 // 4) and cfg.uses_warmup()
    assert PROFILES["full"].dataset == "cifar10" and PROFILES["full"].iterations == 64000
    assert 1202 in PROFILES["smoke"].deep_depths and 1202 in PROFILES["full"].deep_depths
