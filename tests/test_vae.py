"""VAE: shapes, the reparameterization trick, the ELBO against float64 references, and training."""

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from eep596gan.data import load_images
from eep596gan.likelihood import VAETrainer
from eep596gan.models.vae import VAE


def _images(m, shape, seed=0, dtype=torch.float32):
    return torch.rand(m, *shape, generator=torch.Generator().manual_seed(seed), dtype=dtype) * 2 - 1


@pytest.mark.parametrize("in_shape", [(1, 8, 8), (1, 28, 28)])
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_vae_shapes_and_ranges(in_shape, likelihood):
    torch.manual_seed(0)
    vae = VAE(in_shape, latent_dim=4, likelihood=likelihood)
    x = _images(5, in_shape)
    recon, mu, logvar = vae(x)
    assert recon.shape == (5, *in_shape)
    assert mu.shape == logvar.shape == (5, 4)
    for images in (vae.sample(7), vae.reconstruct(x)):
        assert images.shape[1:] == in_shape
        assert images.min() >= -1 and images.max() <= 1
    assert vae.sample(7).shape[0] == 7


def test_reparameterize_is_mu_plus_sigma_times_noise_and_passes_gradients():
    vae = VAE(latent_dim=3).double()
    mu = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    logvar = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    z = vae.reparameterize(mu, logvar, generator=torch.Generator().manual_seed(3))
    eps = torch.randn(4, 3, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    torch.testing.assert_close(z, mu + torch.exp(logvar / 2) * eps, rtol=1e-12, atol=1e-12)
    z.sum().backward()
    torch.testing.assert_close(mu.grad, torch.ones_like(mu))  # dz/dmu = 1
    torch.testing.assert_close(logvar.grad, 0.5 * torch.exp(logvar.detach() / 2) * eps)  # dz/dlogvar


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_vae_loss_is_the_negative_elbo_in_float64(likelihood):
    torch.manual_seed(1)
    vae = VAE((1, 8, 8), latent_dim=5, likelihood=likelihood, sigma=0.3).double()
    x = _images(6, (1, 8, 8), dtype=torch.float64)
    loss, parts = vae.loss(x, generator=torch.Generator().manual_seed(7))

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


def test_vae_elbo_improves_on_digits_after_200_steps():
    x, _ = load_images("digits")
    torch.manual_seed(0)
    vae = VAE((1, 8, 8), latent_dim=8, hidden=(128, 64))

    def neg_elbo():
        with torch.no_grad():
            return vae.loss(x, generator=torch.Generator().manual_seed(0))[0].item()

    before = neg_elbo()
    trainer = VAETrainer(vae, lr=1e-3, device="cpu", seed=0)
    history = trainer.fit(x, 200, batch_size=64, progress=False)
    after = neg_elbo()
    # floor: -ELBO >= E -log p(x|z) >= the targets' own binary entropy (KL >= 0)
    t = ((x + 1) / 2).double().clamp(1e-12, 1 - 1e-12)
    floor = -(t * t.log() + (1 - t) * (1 - t).log()).sum((1, 2, 3)).mean().item()
    assert floor < after < before - 10
    assert len(history["loss"]) == len(history["elbo"]) == len(history["kl"]) == 200 == trainer.step
    assert history["elbo"] == [-v for v in history["loss"]]
    assert sum(history["loss"][-20:]) / 20 < sum(history["loss"][:20]) / 20 - 5


def _train(model_seed, trainer_seed, steps=30):
    x, _ = load_images("digits")
    torch.manual_seed(model_seed)
    vae = VAE((1, 8, 8), latent_dim=4, hidden=(64,))
    history = VAETrainer(vae, device="cpu", seed=trainer_seed, sync_every=7).fit(x, steps, 32, progress=False)
    return history, vae


def test_seeded_vae_training_reproduces_exactly_on_cpu():
    (h1, v1), (h2, v2), (h3, _) = _train(0, 0), _train(0, 0), _train(0, 1)
    assert h1 == h2
    assert all(torch.equal(a, b) for a, b in zip(v1.parameters(), v2.parameters()))
    assert h1["loss"] != h3["loss"]  # the trainer's seed matters


def test_vae_history_accumulates_over_fit_calls():
    x, _ = load_images("digits")
    trainer = VAETrainer(VAE(hidden=(32,)), device="cpu")
    trainer.fit(x, 5, 16, progress=False)
    history = trainer.fit(x, 3, 16, progress=False)
    assert len(history["loss"]) == 8 and trainer.step == 8


def test_vae_refuses_bad_input_with_clear_messages():
    vae = VAE((1, 8, 8), latent_dim=2)
    with pytest.raises(ValueError, match=r"shape \(m, 1, 8, 8\)"):
        vae.loss(torch.zeros(3, 64))
    with pytest.raises(ValueError, match="NaN"):
        vae.loss(torch.full((3, 1, 8, 8), float("nan")))
    with pytest.raises(ValueError, match=r"\[-1, 1\].*rescale"):
        vae.loss(torch.full((3, 1, 8, 8), 255.0))
    with pytest.raises(TypeError, match="floating-point"):
        vae.loss(torch.zeros(3, 1, 8, 8, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"z must have shape \(m, 2\)"):
        vae.decode(torch.zeros(3, 5))
    with pytest.raises(ValueError, match="likelihood must be one of"):
        VAE(likelihood="poisson")
    with pytest.raises(ValueError, match="latent_dim must be a positive int"):
        VAE(latent_dim=0)
    with pytest.raises(ValueError, match=r"shape \(m, 1, 8, 8\)"):
        VAETrainer(vae, device="cpu").fit(torch.zeros(10, 1, 28, 28), 1, progress=False)


def test_vae_trainer_stops_on_nan_naming_the_step():
    x, _ = load_images("digits")
    vae = VAE(hidden=(32,))
    calls = {"n": 0}

    def poison_at_step_7(module, inputs, output):
        calls["n"] += 1
        return output * float("nan") if calls["n"] == 7 else output

    vae.decoder.register_forward_hook(poison_at_step_7)
    trainer = VAETrainer(vae, lr=1e-3, device="cpu", sync_every=50)
    with pytest.raises(FloatingPointError, match=r"step 7 \(lr=0.001\).*lower learning rate, e\.g\. lr=0\.0001"):
        trainer.fit(x, 20, 16, progress=False)
    assert len(trainer.history["loss"]) == 6  # the finite steps before it


def test_vae_trainer_resumes_from_a_checkpoint_exactly(tmp_path):
    x, _ = load_images("digits")
    torch.manual_seed(0)
    straight = VAETrainer(VAE(hidden=(32,)), device="cpu", seed=3)
    straight.fit(x, 20, 16, progress=False)

    torch.manual_seed(0)
    first = VAETrainer(VAE(hidden=(32,)), device="cpu", seed=3)
    first.fit(x, 12, 16, progress=False)
    first.save(tmp_path / "ckpt.pt")
    resumed = VAETrainer(VAE(hidden=(32,)), device="cpu", seed=99)
    resumed.load(tmp_path / "ckpt.pt")
    resumed.fit(x, 8, 16, progress=False)
    assert resumed.step == 20 and resumed.history == straight.history
    assert all(torch.equal(a, b) for a, b in zip(resumed.model.parameters(), straight.model.parameters()))
