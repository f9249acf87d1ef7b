"""Image-to-image translation: U-Net and PatchGAN shapes, toy pairs, and the pix2pix and CycleGAN
trainers (eep596gan.models.translation, eep596gan.train.translation).

The pix2pix and cycle losses themselves are checked in test_losses.py.
"""

import pytest
import torch

from eep596gan.data import load_images
from eep596gan.losses import pix2pix_discriminator_loss, pix2pix_generator_loss
from eep596gan.models import DCGANDiscriminator
from eep596gan.models.translation import (
    PAIRED_KINDS,
    PatchDiscriminator,
    UNetGenerator,
    edge_map,
    paired_digits,
)
from eep596gan.train.translation import fit_cyclegan, fit_pix2pix


@pytest.mark.parametrize("size, patches", [(8, 2), (28, 7)])
def test_unet_and_patch_discriminator_shapes(size, patches):
    torch.manual_seed(0)
    G, D = UNetGenerator(1, 1, width=8), PatchDiscriminator(2, width=8)
    x = torch.randn(3, 1, size, size)
    y = G(x)
    assert y.shape == (3, 1, size, size)
    assert y.min() >= -1 and y.max() <= 1  # tanh
    assert D(x, y).shape == (3, 1, patches, patches)
    G3 = UNetGenerator(in_channels=3, out_channels=2, width=4)
    assert G3(torch.randn(2, 3, size, size)).shape == (2, 2, size, size)


def test_translation_models_refuse_bad_shapes_with_clear_messages():
    G, D = UNetGenerator(width=4), PatchDiscriminator(width=4)
    with pytest.raises(ValueError, match="multiples of 4"):
        G(torch.zeros(2, 1, 10, 10))
    with pytest.raises(ValueError, match=r"shape \(m, 1, H, W\)"):
        G(torch.zeros(2, 3, 8, 8))
    with pytest.raises(ValueError, match="same m, H and W"):
        D(torch.zeros(2, 1, 8, 8), torch.zeros(2, 1, 28, 28))
    with pytest.raises(ValueError, match=r"shape \(m, 2, H, W\)"):
        D(torch.zeros(2, 2, 8, 8), torch.zeros(2, 1, 8, 8))


def test_edge_map_marks_only_the_boundary_of_a_step():
    x = -torch.ones(1, 1, 8, 8, dtype=torch.float64)
    assert torch.equal(edge_map(x), -torch.ones_like(x))  # constant image: no edges anywhere
    x[..., 4:] = 1.0  # a vertical step between columns 3 and 4
    e = edge_map(x)[0, 0]
    assert e.min() == -1 and e.max() == 1
    assert torch.all(e[:, 3:5] == 1) and torch.all(e[:, :3] == -1) and torch.all(e[:, 5:] == -1)


def test_paired_digits_builds_the_three_toy_tasks():
    for kind in PAIRED_KINDS:
        source, target = paired_digits(kind, split="test")
        assert source.shape == target.shape == (297, 1, 8, 8)
        assert source.min() >= -1 and source.max() <= 1
    source, target = paired_digits("invert", split="test")
    assert torch.equal(source, -target)
    source, target = paired_digits("rotate", split="test")
    assert torch.equal(torch.rot90(source, -1, dims=(2, 3)), target)
    source, target = paired_digits("edges", split="test")
    assert torch.equal(source, edge_map(target))
    with pytest.raises(ValueError, match="kind must be one of"):
        paired_digits("colorize")


def test_tiny_pix2pix_learns_edges_to_digits():
    torch.manual_seed(0)
    source, target = paired_digits("edges")
    test_source, test_target = paired_digits("edges", split="test")
    G, D = UNetGenerator(width=8), PatchDiscriminator(width=8)
    opt_g = torch.optim.Adam(G.parameters(), 1e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), 1e-3, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(0)

    def held_out_l1():
        G.eval()
        with torch.no_grad():
            return (G(test_source) - test_target).abs().mean().item()

    before = held_out_l1()
    for _ in range(60):
        G.train()
        idx = torch.randint(len(source), (32,), generator=gen)
        x, y = source[idx], target[idx]
        fake = G(x)
        # (1) D: minimise J^(D) on real pairs (x, y) vs fake pairs (x, G(x))
        d_loss = pix2pix_discriminator_loss(D(x, y), D(x, fake.detach()))
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        # (2) G: fool D on every patch and stay close to y in L1
        g_loss = pix2pix_generator_loss(D(x, fake), fake, y)
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
    assert 0 < held_out_l1() < before / 2


# ---------------------------------------------------------------------------------- trainers
def test_fit_pix2pix_learns_the_inverse_of_a_negative():
    torch.manual_seed(0)
    source, target = paired_digits("invert")
    g, d = UNetGenerator(width=8), PatchDiscriminator(width=8)
    history = fit_pix2pix(g, d, source, target, steps=40, batch_size=32, lr=1e-3, device="cpu",
                          progress=False)
    assert set(history) == {"d_loss", "g_loss", "l1"}
    assert all(len(v) == 40 for v in history.values())
    g.eval()
    with torch.no_grad():
        l1 = (g(source[:200]) - target[:200]).abs().mean().item()
    baseline = (source[:200] - target[:200]).abs().mean().item()  # copying the input
    assert 0 < l1 < baseline / 3


def test_fit_pix2pix_and_cyclegan_refuse_unpaired_or_bad_arguments():
    g, d = UNetGenerator(width=4), PatchDiscriminator(width=4)
    x = torch.zeros(10, 1, 8, 8)
    with pytest.raises(ValueError, match="needs pairs"):
        fit_pix2pix(g, d, x, x[:5], steps=1, device="cpu", progress=False)
    with pytest.raises(ValueError, match="steps must be"):
        fit_pix2pix(g, d, x, x, steps=-1, device="cpu", progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        fit_cyclegan(g, UNetGenerator(width=4), d, PatchDiscriminator(width=4), x, x, steps=1,
                     batch_size=0, device="cpu", progress=False)


def test_fit_cyclegan_makes_the_round_trip_close_to_identity():
    torch.manual_seed(0)
    digits, _ = load_images("digits")
    x, y = digits[:700], -digits[700:1400]  # unpaired: different digits in the two domains
    g, f = UNetGenerator(width=8), UNetGenerator(width=8)
    d_x, d_y = DCGANDiscriminator((1, 8, 8), width=8), DCGANDiscriminator((1, 8, 8), width=8)
    history = fit_cyclegan(g, f, d_x, d_y, x, y, steps=40, batch_size=32, lr=1e-3, device="cpu",
                           progress=False)
    assert set(history) == {"d_loss", "g_loss", "cycle"}
    assert all(len(v) == 40 for v in history.values())
    first, last = sum(history["cycle"][:5]) / 5, sum(history["cycle"][-5:]) / 5
    assert 0 < last < first / 2
