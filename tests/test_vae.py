"""VAE: shapes, the reparameterization trick, training, and the decoder views.

The ELBO itself (`losses.vae_loss`) is checked against float64 references in test_losses.py.
"""

import pytest
import torch

from eep596gan.data import load_images
from eep596gan.losses import vae_loss
from eep596gan.models.vae import VAE, VAEDecoder, decode_grid
from eep596gan.train import VAETrainer


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
    # dz/dlogvar
    torch.testing.assert_close(logvar.grad, 0.5 * torch.exp(logvar.detach() / 2) * eps)


def test_vae_elbo_improves_on_digits_after_200_steps():
    x, _ = load_images("digits")
    torch.manual_seed(0)
    vae = VAE((1, 8, 8), latent_dim=8, hidden=(128, 64))

    def neg_elbo():
        with torch.no_grad():
            return vae_loss(vae, x, generator=torch.Generator().manual_seed(0))[0].item()

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
    trainer = VAETrainer(vae, device="cpu", seed=trainer_seed, sync_every=7)
    history = trainer.fit(x, steps, 32, progress=False)
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
        vae_loss(vae, torch.zeros(3, 64))
    with pytest.raises(ValueError, match="NaN"):
        vae_loss(vae, torch.full((3, 1, 8, 8), float("nan")))
    with pytest.raises(ValueError, match=r"\[-1, 1\].*rescale"):
        vae_loss(vae, torch.full((3, 1, 8, 8), 255.0))
    with pytest.raises(TypeError, match="floating-point"):
        vae_loss(vae, torch.zeros(3, 1, 8, 8, dtype=torch.int64))
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
    with pytest.raises(FloatingPointError,
                       match=r"step 7 \(lr=0.001;.*lower learning rate, e\.g\. lr=0\.0001"):
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
    assert all(torch.equal(a, b)
               for a, b in zip(resumed.model.parameters(), straight.model.parameters()))


# ------------------------------------------------------------------ decoder views
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_vae_decoder_gives_the_same_images_as_sample(likelihood):
    torch.manual_seed(0)
    vae = VAE((1, 4, 4), latent_dim=3, hidden=(8,), likelihood=likelihood)
    z = torch.randn(5, 3, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        images = VAEDecoder(vae)(z)
        out = vae.decode(z)
    expected = 2 * torch.sigmoid(out) - 1 if likelihood == "bernoulli" else out
    torch.testing.assert_close(images, expected)
    torch.testing.assert_close(vae.to_image(out), expected)
    torch.testing.assert_close(images, vae.sample(5, generator=torch.Generator().manual_seed(2)))


def test_decode_grid_lays_out_the_latent_plane_like_a_scatter_plot():
    torch.manual_seed(0)
    vae = VAE((1, 4, 4), latent_dim=2, hidden=(8,))
    n, lim = 4, 2.0
    grid = decode_grid(vae, n=n, lim=lim)
    t = torch.linspace(-lim, lim, n)
    # row r: z[1] = t[n-1-r]; column c: z[0] = t[c]
    for r, c in [(0, 0), (0, 3), (2, 1), (3, 3)]:
        with torch.no_grad():
            expected = VAEDecoder(vae)(torch.tensor([[t[c], t[n - 1 - r]]]))[0]
        torch.testing.assert_close(grid[r * n + c], expected)
    with pytest.raises(ValueError, match="latent_dim=2"):
        decode_grid(VAE((1, 4, 4), latent_dim=3, hidden=(8,)))
