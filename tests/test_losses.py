"""The lecture's losses against independent float64 references (numpy logaddexp, quadrature,
torch's built-in losses and distributions): GAN costs, the registry, pix2pix/CycleGAN, the VAE."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import integrate, stats
from torch.distributions import Normal, kl_divergence

from eep596gan import losses as L
from eep596gan.models.vae import VAE


def _np_softplus(a):
    return np.logaddexp(0.0, np.asarray(a, dtype=np.float64))  # log(1 + e^a), exact in float64


LOGITS = [
    (torch.tensor([0.3, -1.2, 2.5]), torch.tensor([-0.7, 0.1])),
    (torch.randn(64, 1, generator=torch.Generator().manual_seed(0)) * 3,
     torch.randn(32, 1, generator=torch.Generator().manual_seed(1)) * 3),
    (torch.tensor([1000.0, -1000.0]), torch.tensor([-1000.0, 1000.0])),
]


@pytest.mark.parametrize("real,fake", LOGITS)
def test_discriminator_loss_matches_float64_reference(real, fake):
    ref = (0.5 * _np_softplus(-real.double().numpy()).mean()
           + 0.5 * _np_softplus(fake.double().numpy()).mean())
    got = L.discriminator_loss(real, fake)
    assert torch.isfinite(got)
    assert got.item() == pytest.approx(ref, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("real,fake", LOGITS)
def test_generator_losses_match_float64_reference(real, fake):
    f = fake.double().numpy()
    assert L.generator_loss_minimax(fake).item() == pytest.approx(
        -0.5 * _np_softplus(f).mean(), rel=1e-6, abs=1e-6)
    assert L.generator_loss_nonsaturating(fake).item() == pytest.approx(
        0.5 * _np_softplus(-f).mean(), rel=1e-6, abs=1e-6)


def test_losses_finite_with_finite_gradients_at_logits_of_1000():
    real = torch.tensor([1000.0, -1000.0], requires_grad=True)
    fake = torch.tensor([-1000.0, 1000.0], requires_grad=True)
    for loss in (L.discriminator_loss(real, fake), L.generator_loss_minimax(fake),
                 L.generator_loss_nonsaturating(fake)):
        real.grad = fake.grad = None
        loss.backward()
        assert torch.isfinite(loss)
        for g in (real.grad, fake.grad):
            assert g is None or torch.isfinite(g).all()
    # the gradient of -1/2 log D(G(z)) wrt a logit of -1000 is -1/2 (per sample, mean of 2): -0.25
    fake = torch.tensor([-1000.0, 1000.0], requires_grad=True)
    L.generator_loss_nonsaturating(fake).backward()
    assert fake.grad.tolist() == pytest.approx([-0.25, 0.0], abs=1e-12)


def test_gradients_match_autograd_of_naive_float64_formula():
    real = torch.randn(16, dtype=torch.float64, requires_grad=True)
    fake = torch.randn(16, dtype=torch.float64, requires_grad=True)
    naive = (-0.5 * torch.log(torch.sigmoid(real)).mean()
             - 0.5 * torch.log(1 - torch.sigmoid(fake)).mean())
    g_ref = torch.autograd.grad(naive, (real, fake))
    g_got = torch.autograd.grad(L.discriminator_loss(real, fake), (real, fake))
    for a, b in zip(g_ref, g_got):
        torch.testing.assert_close(a, b)


def test_minimax_is_minus_discriminator_loss_without_the_real_term():
    real, fake = torch.randn(8), torch.randn(8)
    real_term = 0.5 * torch.nn.functional.softplus(-real).mean()
    torch.testing.assert_close(L.generator_loss_minimax(fake),
                               -(L.discriminator_loss(real, fake) - real_term))


def test_shapes_m_and_m1_agree_and_mean_not_sum():
    x = torch.randn(10)
    torch.testing.assert_close(L.generator_loss_nonsaturating(x),
                               L.generator_loss_nonsaturating(x[:, None]))
    doubled = torch.cat([x, x])
    torch.testing.assert_close(L.generator_loss_nonsaturating(doubled),
                               L.generator_loss_nonsaturating(x))


def test_optimal_discriminator_is_half_when_densities_match():
    p = torch.tensor([0.0, 1e-30, 0.3, 5.0])
    torch.testing.assert_close(L.optimal_discriminator(p, p), torch.full((4,), 0.5))


def test_optimal_discriminator_values_broadcasting_and_zero_over_zero():
    d = L.optimal_discriminator(torch.tensor([[1.0], [0.0], [3.0]]),
                                torch.tensor([1.0, 3.0, 0.0, 0.0]))
    assert d.shape == (3, 4)
    expected = torch.tensor([[0.5, 0.25, 1.0, 1.0], [0.0, 0.0, 0.5, 0.5], [0.75, 0.5, 1.0, 1.0]])
    torch.testing.assert_close(d, expected)
    d_int = L.optimal_discriminator(torch.tensor([0, 2]), torch.tensor([0, 2]))
    assert d_int.tolist() == [0.5, 0.5]


def test_game_value_at_optimal_d_is_minus_log4_plus_2jsd():
    """V(D*, G) = -log 4 + 2 JSD(p_data || p_model), by quadrature on two 1-D Gaussians."""
    p, q = stats.norm(0.0, 1.0), stats.norm(1.5, 0.7)
    xs = torch.linspace(-12, 12, 200_001, dtype=torch.float64)
    pd, pm = torch.tensor(p.pdf(xs.numpy())), torch.tensor(q.pdf(xs.numpy()))
    d_star = L.optimal_discriminator(pd, pm)
    integrand = (pd * torch.log(d_star.clamp_min(1e-300))
                 + pm * torch.log((1 - d_star).clamp_min(1e-300)))
    value = torch.trapezoid(integrand, xs).item()

    def kl_to_mixture(a, b):
        def f(x):
            pa, mix = a.pdf(x), 0.5 * (a.pdf(x) + b.pdf(x))
            return pa * math.log(pa / mix) if pa > 0 else 0.0
        return integrate.quad(f, -12, 12, limit=200)[0]

    jsd = 0.5 * kl_to_mixture(p, q) + 0.5 * kl_to_mixture(q, p)
    assert 0.05 < jsd < math.log(2)
    assert value == pytest.approx(-math.log(4) + 2 * jsd, abs=1e-6)
    # and the same D* through the logit-based loss: logit(D*) evaluated on samples is game_value
    assert -math.log(4) < value < 0


def test_game_value_equals_minus_two_j_d():
    r, f = torch.randn(5), torch.randn(7)
    torch.testing.assert_close(L.game_value(r, f), -2 * L.discriminator_loss(r, f))


def test_variations_match_closed_forms():
    r, f = torch.tensor([2.0, -0.5]), torch.tensor([0.5, -3.0])
    assert L.lsgan_discriminator_loss(r, f).item() == pytest.approx(
        0.5 * (1 + 2.25) / 2 + 0.5 * (0.25 + 9) / 2)
    assert L.lsgan_generator_loss(f).item() == pytest.approx(0.5 * (0.25 + 16) / 2)
    assert L.hinge_discriminator_loss(r, f).item() == pytest.approx((0 + 1.5) / 2 + (1.5 + 0) / 2)
    assert L.hinge_generator_loss(f).item() == pytest.approx(1.25)
    assert L.wgan_critic_loss(r, f).item() == pytest.approx(-1.25 - 0.75)


def test_gradient_penalty_is_zero_for_unit_slope_critic_and_positive_otherwise():
    x_real, x_fake = torch.randn(8, 3), torch.randn(8, 3)
    unit = torch.nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        unit.weight.copy_(torch.tensor([[0.6, 0.8, 0.0]]))  # ||w|| = 1
    assert L.gradient_penalty(unit, x_real, x_fake).item() == pytest.approx(0.0, abs=1e-10)
    with torch.no_grad():
        unit.weight.mul_(3.0)  # ||grad|| = 3 -> (3 - 1)^2 = 4
    assert L.gradient_penalty(unit, x_real, x_fake).item() == pytest.approx(4.0, rel=1e-6)


def test_gaussian_kl_matches_closed_form_and_torch_distributions():
    mu, logvar = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    ref = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).sum(1)
    torch.testing.assert_close(L.gaussian_kl(mu, logvar), ref)


def test_bernoulli_and_gaussian_nll_match_torch_distributions():
    logits, x = torch.randn(3, 5, dtype=torch.float64), torch.randint(0, 2, (3, 5)).double()
    ref = -torch.distributions.Bernoulli(logits=logits).log_prob(x).sum(1)
    torch.testing.assert_close(L.bernoulli_nll(logits, x), ref)
    mean = torch.randn(3, 5, dtype=torch.float64)
    ref = -torch.distributions.Normal(mean, 0.5).log_prob(x).sum(1)
    torch.testing.assert_close(L.gaussian_nll(mean, x, sigma=0.5), ref)


@pytest.mark.parametrize("bad,match", [
    (torch.tensor([float("nan"), 0.0]), "NaN"),
    (torch.tensor([1, 2]), "floating-point"),
    (torch.randn(4, 2), r"one logit per sample"),
    ([0.1, 0.2], "torch.Tensor"),
])
def test_bad_logits_get_clear_errors(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        L.generator_loss_nonsaturating(bad)


def test_probabilities_from_sigmoid_are_refused():
    probs = torch.sigmoid(torch.randn(4, requires_grad=True))
    with pytest.raises(ValueError, match="sigmoid"):
        L.discriminator_loss(probs, torch.randn(4))


def test_unchecked_skips_only_the_nan_scan():
    with L.unchecked():
        assert torch.isnan(L.generator_loss_nonsaturating(torch.tensor([float("nan")])))
    with pytest.raises(ValueError):
        L.generator_loss_nonsaturating(torch.tensor([float("nan")]))


# ------------------------------------------------------------------------ the GAN_LOSSES registry
@pytest.mark.parametrize("name", list(L.GAN_LOSSES))
def test_every_registered_pair_is_a_gan_loss_finite_at_logits_of_1000(name):
    pair = L.GAN_LOSSES[name]
    assert isinstance(pair, L.GANLoss) and L.gan_loss(name) is pair
    assert pair.penalty is (name == "wgan-gp")  # only WGAN-GP adds the gradient penalty
    real = torch.tensor([1000.0, -1000.0], requires_grad=True)
    fake = torch.tensor([-1000.0, 1000.0], requires_grad=True)
    for loss in (pair.discriminator(real, fake), pair.generator(fake)):
        real.grad = fake.grad = None
        loss.backward()
        assert loss.dim() == 0 and torch.isfinite(loss)
        for g in (real.grad, fake.grad):
            assert g is None or torch.isfinite(g).all()


def test_gan_loss_refuses_an_unknown_name_listing_the_valid_ones():
    with pytest.raises(ValueError, match="unknown loss 'bogus'") as err:
        L.gan_loss("bogus")
    assert all(name in str(err.value) for name in L.GAN_LOSSES)


def test_registered_pairs_are_the_functions_of_this_module():
    pairs = {name: (p.discriminator, p.generator) for name, p in L.GAN_LOSSES.items()}
    assert pairs == {
        "nonsaturating": (L.discriminator_loss, L.generator_loss_nonsaturating),
        "minimax": (L.discriminator_loss, L.generator_loss_minimax),
        "lsgan": (L.lsgan_discriminator_loss, L.lsgan_generator_loss),
        "hinge": (L.hinge_discriminator_loss, L.hinge_generator_loss),
        "wgan-gp": (L.wgan_critic_loss, L.wgan_generator_loss),
    }


# ------------------------------------------------------------------------ image-to-image
def test_cycle_consistency_loss_is_zero_for_identical_images_and_the_mean_absolute_error():
    g = torch.Generator().manual_seed(0)
    x, x_cycled = torch.randn(4, 1, 8, 8, generator=g), torch.randn(4, 1, 8, 8, generator=g)
    assert L.cycle_consistency_loss(x, x.clone()).item() == 0.0
    expected = np.abs(x.numpy().astype(np.float64) - x_cycled.numpy().astype(np.float64)).mean()
    got = L.cycle_consistency_loss(x, x_cycled).item()
    assert expected - 1e-6 < got < expected + 1e-6 and got > 0
    builtin = F.l1_loss(x_cycled.double(), x.double()).item()  # torch's own mean |a - b|
    assert builtin - 1e-6 < got < builtin + 1e-6
    with pytest.raises(ValueError, match="same shape"):
        L.cycle_consistency_loss(x, x[:2])


def _pix2pix_inputs():
    g = torch.Generator().manual_seed(1)
    fake_logits = torch.randn(4, 1, 2, 2, generator=g, dtype=torch.float64) * 3
    real_logits = torch.randn(4, 1, 2, 2, generator=g, dtype=torch.float64)
    fake = torch.rand(4, 1, 8, 8, generator=g, dtype=torch.float64)
    target = torch.rand(4, 1, 8, 8, generator=g, dtype=torch.float64)
    return fake_logits, real_logits, fake, target


def test_pix2pix_losses_match_float64_references():
    fake_logits, real_logits, fake, target = _pix2pix_inputs()
    sig = torch.sigmoid
    adversarial = -0.5 * torch.log(sig(fake_logits)).mean()  # non-saturating, over all patches
    l1 = (fake - target).abs().mean()
    got = L.pix2pix_generator_loss(fake_logits, fake, target, l1_weight=100)
    torch.testing.assert_close(got, adversarial + 100 * l1, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(L.pix2pix_generator_loss(fake_logits, fake, target, l1_weight=0),
                               adversarial)
    d_ref = (-0.5 * torch.log(sig(real_logits)).mean()
             - 0.5 * torch.log(1 - sig(fake_logits)).mean())
    torch.testing.assert_close(L.pix2pix_discriminator_loss(real_logits, fake_logits), d_ref,
                               rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="same shape"):
        L.pix2pix_generator_loss(fake_logits, fake, target[:, :, :4])


def test_pix2pix_losses_match_torch_builtins_patch_by_patch():
    """Every patch is one sample of the BCE: F.binary_cross_entropy_with_logits, F.l1_loss."""
    fake_logits, real_logits, fake, target = _pix2pix_inputs()
    bce = F.binary_cross_entropy_with_logits
    d_ref = (0.5 * bce(real_logits, torch.ones_like(real_logits))
             + 0.5 * bce(fake_logits, torch.zeros_like(fake_logits))).item()
    d_got = L.pix2pix_discriminator_loss(real_logits, fake_logits).item()
    assert d_ref - 1e-12 < d_got < d_ref + 1e-12
    g_ref = (0.5 * bce(fake_logits, torch.ones_like(fake_logits))
             + 7.5 * F.l1_loss(fake, target)).item()
    g_got = L.pix2pix_generator_loss(fake_logits, fake, target, l1_weight=7.5).item()
    assert g_ref - 1e-12 < g_got < g_ref + 1e-12


# ------------------------------------------------------------------------ the VAE's objective
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_vae_loss_is_the_negative_elbo_in_float64(likelihood):
    torch.manual_seed(1)
    vae = VAE((1, 8, 8), latent_dim=5, likelihood=likelihood, sigma=0.3).double()
    x = torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(0),
                   dtype=torch.float64) * 2 - 1
    loss, parts = L.vae_loss(vae, x, generator=torch.Generator().manual_seed(7))
    assert set(parts) == {"recon", "kl"}

    # independent recomputation: same noise, torch.distributions for the KL and the Gaussian
    with torch.no_grad():
        h = vae.encoder(x.flatten(1))
        mu, logvar = h[:, :5], h[:, 5:]
        eps = torch.randn(6, 5, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
        out = vae.decoder(mu + torch.exp(logvar / 2) * eps).view(6, 1, 8, 8)
        if likelihood == "bernoulli":
            t, p = (x + 1) / 2, torch.sigmoid(out)
            recon = -(t * torch.log(p) + (1 - t) * torch.log(1 - p)).sum((1, 2, 3)).mean()
        else:
            recon = -Normal(out, 0.3).log_prob(x).sum((1, 2, 3)).mean()
        kl = kl_divergence(Normal(mu, torch.exp(logvar / 2)), Normal(0.0, 1.0)).sum(1).mean()
    torch.testing.assert_close(parts["recon"], recon, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(parts["kl"], kl, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(loss, recon + kl, rtol=1e-10, atol=1e-10)


def test_vae_loss_check_false_skips_only_the_input_check():
    torch.manual_seed(0)
    vae = VAE((1, 4, 4), latent_dim=2, hidden=(8,))
    bad = torch.full((3, 1, 4, 4), 2.0)  # outside [-1, 1]: refused when checked
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        L.vae_loss(vae, bad)
    loss, _ = L.vae_loss(vae, bad, generator=torch.Generator().manual_seed(0), check=False)
    again, _ = L.vae_loss(vae, bad, generator=torch.Generator().manual_seed(0), check=False)
    assert torch.isfinite(loss) and torch.equal(loss, again)  # seeded: the same draw of z


def test_reconstruction_nll_matches_torch_distributions():
    g = torch.Generator().manual_seed(3)
    out = torch.randn(4, 1, 3, 3, generator=g, dtype=torch.float64)
    x = torch.randint(0, 2, (4, 1, 3, 3), generator=g).double() * 2 - 1  # pixels in {-1, 1}
    ref = -torch.distributions.Bernoulli(logits=out).log_prob((x + 1) / 2).flatten(1).sum(1)
    torch.testing.assert_close(L.reconstruction_nll(out, x, "bernoulli"), ref,
                               rtol=1e-12, atol=1e-12)
    ref = -Normal(out, 0.25).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(L.reconstruction_nll(out, x, "gaussian", sigma=0.25), ref,
                               rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="'bernoulli' or 'gaussian'"):
        L.reconstruction_nll(out, x, "poisson")
