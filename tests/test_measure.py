"""models/measure.py: Fig. 7's layer responses as the paper defines them, and BN's |gamma|."""

import pytest
import torch

from paper_repro.models import cifar_resnet
from paper_repro.models.measure import bn_gammas, layer_responses, response_layers


def test_layer_responses_are_the_std_after_bn_before_relu_or_addition():
    torch.manual_seed(0)
    model = cifar_resnet(8).eval()
    x = torch.randn(10, 3, 32, 32)
    got = layer_responses(model, [(x[:6], None), (x[6:], None)])
    assert list(got) == [name for name, _ in response_layers(model)]
    # by hand: the first block's second BN output, before the shortcut is added
    with torch.no_grad():
        h = model.relu(model.bn1(model.conv1(x)))
        b = model.layer1[0]
        out = b.bn2(b.conv2(b.relu(b.bn1(b.conv1(h)))))
    assert got["layer1.0.bn2"] == pytest.approx(out.double().std(unbiased=False).item(), rel=1e-4)
    assert got["bn1"] == pytest.approx(model.bn1(model.conv1(x)).detach().double().std(unbiased=False).item(), rel=1e-4)


def test_bn_gammas_start_at_one_and_follow_the_weights():

    model = cifar_resnet(8)
    g = bn_gammas(model)
    assert list(g) == [name for name, _ in response_layers(model)] and all(v == 1.0 for v in g.values())
    with torch.no_grad():
        model.layer1[0].bn2.weight.fill_(-0.5)
    assert bn_gammas(model)["layer1.0.bn2"] == pytest.approx(0.5)
