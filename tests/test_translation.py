"""Image-to-image translation: U-Net and PatchGAN shapes, pix2pix and cycle losses, toy pairs."""

import numpy as np
import pytest
import torch

from eep596gan.models.translation import (
    PAIRED_KINDS,
    PatchDiscriminator,
    UNetGenerator,
    cycle_consistency_loss,
    edge_map,
    paired_digits,
    pix2pix_discriminator_loss,
    pix2pix_generator_loss,
)


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


def test_cycle_consistency_loss_is_zero_for_identical_images_and_the_mean_absolute_error():
    g = torch.Generator().manual_seed(0)
    x, x_cycled = torch.randn(4, 1, 8, 8, generator=g), torch.randn(4, 1, 8, 8, generator=g)
    assert cycle_consistency_loss(x, x.clone()).item() == 0.0
    expected = np.abs(x.numpy().astype(np.float64) - x_cycled.numpy().astype(np.float64)).mean()
    got = cycle_consistency_loss(x, x_cycled).item()
    assert expected - 1e-6 < got < expected + 1e-6 and got > 0
    with pytest.raises(ValueError, match="same shape"):
        cycle_consistency_loss(x, x[:2])


def test_pix2pix_losses_match_float64_references():
    g = torch.Generator().manual_seed(1)
    fake_logits, real_logits = torch.randn(4, 1, 2, 2, generator=g, dtype=torch.float64) * 3, torch.randn(
        4, 1, 2, 2, generator=g, dtype=torch.float64
    )
    fake, target = torch.rand(4, 1, 8, 8, generator=g, dtype=torch.float64), torch.rand(
        4, 1, 8, 8, generator=g, dtype=torch.float64
    )
    sig = torch.sigmoid
    adversarial = -0.5 * torch.log(sig(fake_logits)).mean()  # non-saturating, over all patches
    l1 = (fake - target).abs().mean()
    got = pix2pix_generator_loss(fake_logits, fake, target, l1_weight=100)
    torch.testing.assert_close(got, adversarial + 100 * l1, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(pix2pix_generator_loss(fake_logits, fake, target, l1_weight=0), adversarial)
    d_ref = -0.5 * torch.log(sig(real_logits)).mean() - 0.5 * torch.log(1 - sig(fake_logits)).mean()
    torch.testing.assert_close(pix2pix_discriminator_loss(real_logits, fake_logits), d_ref, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="same shape"):
        pix2pix_generator_loss(fake_logits, fake, target[:, :, :4])


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
