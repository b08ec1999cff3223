"""The paper's architectural facts: Table 1, Table 6, §3.3 shortcut options."""

import pickle

import pytest
import torch
import torchvision

from paper_repro.models import (
    ShortcutA,
    build_model,
    cifar_plain,
    cifar_resnet,
    load_torchvision_state_dict,
    parse_model_name,
    plain,
    resnet,
)
from paper_repro.models.measure import count_layers, multiply_adds, num_parameters, response_layers

# Table 6 parameter counts, rounded as the paper rounds them (two significant figures below 1M,
# 1.7M and 19.4M above).
TABLE6_PARAMS = {20: "0.27M", 32: "0.46M", 44: "0.66M", 56: "0.85M", 110: "1.7M", 1202: "19.4M"}
TABLE1_MACS = {18: 1.8e9, 34: 3.6e9, 50: 3.8e9, 101: 7.6e9, 152: 11.3e9}


def paper_rounding(n: int, like: str) -> str:
    decimals = len(like.rstrip("M").split(".")[1])
    return f"{n / 1e6:.{decimals}f}M"


@pytest.mark.parametrize("depth", TABLE6_PARAMS)
def test_cifar_parameter_counts_match_table6(depth):
    n = num_parameters(cifar_resnet(depth))
    assert paper_rounding(n, TABLE6_PARAMS[depth]) == TABLE6_PARAMS[depth]


@pytest.mark.parametrize("depth", [20, 56, 110])
def test_plain_has_the_parameters_of_option_a_resnet_and_a_adds_none(depth):
    res, pl = cifar_resnet(depth, "A"), cifar_plain(depth)
    assert num_parameters(res) == num_parameters(pl)
    assert all(sum(p.numel() for p in m.parameters()) == 0 for m in res.modules() if isinstance(m, ShortcutA))
    assert any(isinstance(m, ShortcutA) for m in res.modules())  # option A is really used
    assert num_parameters(resnet(34, "A")) == num_parameters(plain(34))


def test_cifar_option_b_and_c_add_projections():
    a, b, c = (num_parameters(cifar_resnet(20, s)) for s in "ABC")
    assert a < b < c


@pytest.mark.parametrize("depth", [18, 34, 50, 101, 152])
def test_imagenet_option_b_matches_torchvision_parameters(depth):
    ours = resnet(depth, "B")
    theirs = getattr(torchvision.models, f"resnet{depth}")(weights=None)
    assert num_parameters(ours) == num_parameters(theirs)


@pytest.mark.parametrize("depth", [18, 34, 50, 101, 152])
def test_multiply_adds_within_5_percent_of_table1(depth):
    macs = multiply_adds(resnet(depth))
    assert abs(macs / TABLE1_MACS[depth] - 1) < 0.05, macs


def test_bottleneck_strides_first_1x1_as_the_paper():
    m = resnet(50)
    block = m.layer2[0]
    assert block.conv1.stride == (2, 2) and block.conv2.stride == (1, 1)


def test_layer_counts_are_the_depths():
    for d in (20, 56, 110):
        assert count_layers(cifar_resnet(d)) == d
    for d in (18, 34, 50, 101, 152):
        assert count_layers(resnet(d)) == d


def test_torchvision_weights_load_through_the_key_mapping():
    tv = torchvision.models.resnet18(weights=None)
    ours = resnet(18)
    load_torchvision_state_dict(ours, tv.state_dict())
    tv.eval(), ours.eval()
    x = torch.randn(2, 3, 64, 64)
    torch.testing.assert_close(ours(x), tv(x))  # basic blocks: identical computation


def test_bn_follows_every_conv_and_convs_have_no_bias():
    m = cifar_resnet(20)
    convs = [mod for mod in m.modules() if isinstance(mod, torch.nn.Conv2d)]
    assert all(c.bias is None for c in convs)
    assert len(response_layers(m)) == 19  # 3x3 layers of a 20-layer net: all but the FC


@pytest.mark.parametrize(
    "name", ["resnet20", "plain20", "resnet32", "plain32", "resnet44", "plain44", "resnet56", "plain56", "resnet110"]
)
@pytest.mark.parametrize("channels", [1, 3])
def test_cifar_output_shapes(name, channels):
    m = build_model(name, in_channels=channels)
    assert m(torch.randn(2, channels, 32, 32)).shape == (2, 10)


@pytest.mark.parametrize("name", ["resnet18", "plain18", "resnet34", "plain34", "resnet50", "resnet101", "resnet152"])
@pytest.mark.parametrize("channels", [1, 3])
def test_imagenet_output_shapes(name, channels):
    m = build_model(name, num_classes=7, in_channels=channels)
    assert m(torch.randn(1, channels, 64, 64)).shape == (1, 7)


@pytest.mark.parametrize("shortcut", ["A", "C"])
def test_imagenet_other_shortcuts_run(shortcut):
    assert resnet(50, shortcut, num_classes=5)(torch.randn(1, 3, 64, 64)).shape == (1, 5)


def test_resnet1202_forward_and_backward():
    m = build_model("resnet1202", in_channels=1)
    out = m(torch.randn(2, 1, 32, 32))
    out.sum().backward()
    assert out.shape == (2, 10)
    assert m.conv1.weight.grad is not None and torch.isfinite(m.conv1.weight.grad).all()


def test_models_pickle():
    m = cifar_resnet(20)
    m2 = pickle.loads(pickle.dumps(m))
    x = torch.randn(1, 3, 32, 32)
    m.eval(), m2.eval()
    torch.testing.assert_close(m(x), m2(x))


def test_names_resolve_to_the_paper_families():
    assert parse_model_name("resnet50") == ("imagenet", "resnet", 50)
    assert parse_model_name("cifar_resnet50") == ("cifar", "resnet", 50)
    assert parse_model_name("plain56") == ("cifar", "plain", 56)
    assert isinstance(build_model("resnet50"), torch.nn.Module)


@pytest.mark.parametrize(
    "call, allowed",
    [
        (lambda: cifar_resnet(21), "6n+2"),
        (lambda: cifar_plain(0), "6n+2"),
        (lambda: resnet(19), "18, 34, 50, 101, 152"),
        (lambda: cifar_resnet(20, shortcut="D"), "'A', 'B', 'C'"),
        (lambda: resnet(50, shortcut="D"), "'A', 'B', 'C'"),
        (lambda: plain(50), "18, 34"),
        (lambda: build_model("resnet21"), "6n+2"),
        (lambda: build_model("densenet121"), "resnetN or plainN"),
        (lambda: build_model("plain101"), "18, 34"),
    ],
)
def test_bad_input_names_the_allowed_values(call, allowed):
    with pytest.raises(ValueError) as e:
        call()
    assert allowed in str(e.value)
