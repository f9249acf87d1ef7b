"""Model shapes for every supported size, conditioning, and clear errors."""

import pytest
import torch

from eep596gan.models import (
    DCGAN_SIZES,
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
)


@pytest.mark.parametrize("size", DCGAN_SIZES)
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_shapes_for_every_supported_size(size, channels):
    shape = (channels, size, size)
    g, d = DCGANGenerator(16, shape, width=8), DCGANDiscriminator(shape, width=8)
    x = g(torch.randn(3, 16))
    assert x.shape == (3, *shape)
    assert x.min() >= -1 and x.max() <= 1
    assert d(x).shape == (3, 1)


@pytest.mark.parametrize("shape", [(2,), (1, 8, 8), (1, 28, 28)])
def test_mlp_shapes(shape):
    g, d = MLPGenerator(5, shape, hidden=(16,)), MLPDiscriminator(shape, hidden=(16,))
    x = g(torch.randn(4, 5))
    assert x.shape == (4, *shape) and d(x).shape == (4, 1)
    if len(shape) == 3:
        assert x.abs().max() <= 1  # tanh for images
    else:
        assert not any(isinstance(m, torch.nn.Tanh) for m in g.modules())  # unbounded for points


@pytest.mark.parametrize("make", [
    lambda: (MLPGenerator(4, (1, 8, 8), hidden=(8,), num_classes=10),
             MLPDiscriminator((1, 8, 8), hidden=(8,), num_classes=10)),
    lambda: (DCGANGenerator(4, (1, 8, 8), width=8, num_classes=10),
             DCGANDiscriminator((1, 8, 8), width=8, num_classes=10)),
])
def test_conditional_models_use_the_label(make):
    torch.manual_seed(0)
    g, d = make()
    g.eval()
    z = torch.randn(1, 4).repeat(2, 1)
    x = g(z, torch.tensor([3, 7]))
    assert x.shape == (2, 1, 8, 8) and not torch.allclose(x[0], x[1])
    assert d(x, torch.tensor([3, 7])).shape == (2, 1)
    with pytest.raises(ValueError, match="conditional"):
        g(z)
    with pytest.raises(ValueError, match="unconditional"):
        MLPGenerator(4, (2,))(z, torch.tensor([0, 1]))


def test_unsupported_image_size_is_refused_with_the_supported_list():
    with pytest.raises(ValueError, match=r"S in \(8, 16, 28, 32, 64\)"):
        DCGANGenerator(8, (1, 10, 10))
    with pytest.raises(ValueError, match="square"):
        DCGANDiscriminator((1, 8, 16))


def test_wrong_noise_shape_says_what_to_pass():
    g = MLPGenerator(8, (2,))
    with pytest.raises(ValueError, match=r"\(m, 8\).*torch.randn\(m, 8\)"):
        g(torch.randn(4, 3))
    with pytest.raises(ValueError, match="latent_dim"):
        g(torch.randn(8))


def test_wrong_discriminator_input_shape():
    with pytest.raises(ValueError, match=r"\(m, 1, 8, 8\)"):
        DCGANDiscriminator((1, 8, 8))(torch.randn(2, 1, 28, 28))


def test_same_seed_same_samples_on_cpu():
    outs = []
    for _ in range(2):
        torch.manual_seed(7)
        g = DCGANGenerator(8, (1, 28, 28), width=8).eval()
        outs.append(g(torch.randn(5, 8)))
    assert torch.equal(outs[0], outs[1])


def test_conditional_dcgan_discriminator_lets_the_label_interact_with_the_image():
    """Projection D: the effect of changing the label depends on the image (not a fixed bias)."""
    torch.manual_seed(0)
    d = DCGANDiscriminator((1, 8, 8), width=8, num_classes=10).eval()
    x = torch.randn(2, 1, 8, 8)
    with torch.no_grad():
        shift = d(x, torch.tensor([3, 3])) - d(x, torch.tensor([5, 5]))  # (2, 1)
    assert abs(shift[0].item() - shift[1].item()) > 1e-4
