"""GANTrainer: the slide's algorithm, exact resume, reproducibility, NaN handling, checkpoints."""

import warnings

import pytest
import torch
from torch import nn

import eep596gan.train.gan as gan_module
from eep596gan.data import TensorSampler, sample_2d
from eep596gan.losses import discriminator_loss, generator_loss_nonsaturating
from eep596gan.models import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator
from eep596gan.train import (
    GANTrainer,
    SampleSnapshots,
    atomic_save,
    d_step,
    g_step,
    make_adam,
)


def _mlp_pair(seed=0, latent=4, shape=(2,), num_classes=None):
    torch.manual_seed(seed)
    return (MLPGenerator(latent, shape, hidden=(16, 16), num_classes=num_classes),
            MLPDiscriminator(shape, hidden=(16, 16), num_classes=num_classes))


def _params(*modules):
    return torch.cat([p.detach().flatten() for m in modules for p in m.parameters()])


def test_history_has_one_float_per_step_and_probabilities_in_0_1():
    g, d = _mlp_pair()
    t = GANTrainer(g, d, latent_dim=4, k=2, device="cpu")
    h = t.fit(sample_2d("ring8", 500, seed=0), steps=7, batch_size=16, progress=False)
    assert set(h) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(len(v) == 7 and all(isinstance(f, float) for f in v) for v in h.values())
    assert all(0 < p < 1 for p in h["d_real"] + h["d_fake"])
    t.fit(sample_2d("ring8", 500, seed=0), steps=3, batch_size=16, progress=False)
    assert len(t.history["g_loss"]) == 10 and t.step == 10


@pytest.mark.parametrize("k", [1, 3])
def test_k_discriminator_steps_per_generator_step(k):
    g, d = _mlp_pair()
    t = GANTrainer(g, d, latent_dim=4, k=k, device="cpu")
    counts = {"d": 0, "g": 0}
    t.d_optimizer.register_step_post_hook(lambda *a: counts.__setitem__("d", counts["d"] + 1))
    t.g_optimizer.register_step_post_hook(lambda *a: counts.__setitem__("g", counts["g"] + 1))
    t.fit(sample_2d("ring8", 100, seed=0), steps=5, batch_size=8, progress=False)
    assert counts == {"d": 5 * k, "g": 5}


@pytest.mark.parametrize("reuse_fake", [True, False])
def test_trainer_equals_a_plain_reference_loop(reuse_fake):
    """The trainer's updates equal the algorithm written out by hand (same RNG draws).

    reuse_fake=True: G's step reuses the last D step's G(z), as the DCGAN tutorial's loop does;
    False: fresh noise for G's step, as Algorithm 1 is printed on the slide.
    """
    x = sample_2d("ring8", 300, seed=1)
    g, d = _mlp_pair(seed=3)
    g_ref, d_ref = _mlp_pair(seed=3)
    t = GANTrainer(g, d, latent_dim=4, k=2, lr=1e-3, device="cpu", seed=5, reuse_fake=reuse_fake)
    t.fit(x, steps=6, batch_size=10, progress=False)

    rng = torch.Generator().manual_seed(5)
    opt_g = torch.optim.Adam(g_ref.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d_ref.parameters(), lr=1e-3, betas=(0.5, 0.999))
    for _ in range(6):
        for _ in range(2):
            x_real = x[torch.randint(len(x), (10,), generator=rng)]
            z = torch.randn(10, 4, generator=rng)
            loss = discriminator_loss(d_ref(x_real), d_ref(g_ref(z).detach()))
            opt_d.zero_grad()
            loss.backward()
            opt_d.step()
        if not reuse_fake:
            z = torch.randn(10, 4, generator=rng)
        loss = generator_loss_nonsaturating(d_ref(g_ref(z)))
        opt_g.zero_grad()
        loss.backward()
        opt_g.step()
    torch.testing.assert_close(_params(g, d), _params(g_ref, d_ref), rtol=1e-4, atol=1e-5)


def _algorithm_1(g, d, x, *, k, m, steps, seed, reuse_fake, use_library_steps):
    """Algorithm 1 of Goodfellow et al. (2014) written out, in our sign convention.

    For each step: k times (fresh real batch and noise, one Adam step on D minimising J^(D) with
    G held fixed), then fresh noise (unless reuse_fake) and one Adam step on G minimising the
    non-saturating J^(G). `use_library_steps`: the two updates by `d_step` / `g_step` instead of
    by hand. Draws batches and noise from one generator in GANTrainer's order. Returns the
    trainer's history columns: mean J^(D) of the k steps, J^(G), mean D(x) on the last real
    batch, mean D(G(z)) at G's step.
    """
    rng = torch.Generator().manual_seed(seed)
    opt_g = torch.optim.Adam(g.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=1e-3, betas=(0.5, 0.999))
    history = {"d_loss": [], "g_loss": [], "d_real": [], "d_fake": []}
    for _ in range(steps):
        d_losses = []
        for _ in range(k):
            x_real = x[torch.randint(len(x), (m,), generator=rng)]
            z = torch.randn(m, g.latent_dim, generator=rng)
            if use_library_steps:
                loss_d, real_logits, _ = d_step(g, d, opt_d, x_real, z,
                                                d_loss_fn=discriminator_loss)
            else:
                real_logits = d(x_real)
                loss_d = discriminator_loss(real_logits, d(g(z).detach()))  # G held fixed
                opt_d.zero_grad()
                loss_d.backward()
                opt_d.step()
            d_losses.append(loss_d.item())
        if not reuse_fake:
            z = torch.randn(m, g.latent_dim, generator=rng)
        if use_library_steps:
            loss_g, fake_logits = g_step(g, d, opt_g, z, g_loss_fn=generator_loss_nonsaturating)
        else:
            fake_logits = d(g(z))
            loss_g = generator_loss_nonsaturating(fake_logits)
            opt_g.zero_grad()
            loss_g.backward()  # also fills D's .grad: opt_d.zero_grad() clears it before D's step
            opt_g.step()
        history["d_loss"].append(sum(d_losses) / k)
        history["g_loss"].append(loss_g.item())
        history["d_real"].append(torch.sigmoid(real_logits).mean().item())
        history["d_fake"].append(torch.sigmoid(fake_logits).mean().item())
    return history


@pytest.mark.parametrize("k, reuse_fake", [(2, False), (1, False), (3, False), (2, True)])
def test_trainer_and_d_step_g_step_equal_algorithm_1_written_out(k, reuse_fake):
    """The check lecture 06 section 1 once made with a hand-written loop, kept here instead.

    k=2, reuse_fake=False is the lecture's run (ring8, MLPs with one hidden layer of 16, m=32,
    5 steps, Adam lr 1e-3, seed 0): Algorithm 1 written out by hand, the same with `d_step` /
    `g_step`, and `GANTrainer` end with the same weights and record the same history. By hand and
    by d_step/g_step compute the same thing in the same order; the trainer (fused Adam, real and
    fake batches through D in one forward) agrees to float32 rounding.
    """
    x, m, steps, seed = sample_2d("ring8", 300, seed=0), 32, 5, 0

    def pair():
        torch.manual_seed(seed)
        return MLPGenerator(4, (2,), hidden=(16,)), MLPDiscriminator((2,), hidden=(16,))

    runs = {}
    for by in ("hand", "d_step/g_step"):
        g, d = pair()
        history = _algorithm_1(g, d, x, k=k, m=m, steps=steps, seed=seed, reuse_fake=reuse_fake,
                               use_library_steps=by != "hand")
        runs[by] = (_params(g, d), history)
    t = GANTrainer(*pair(), latent_dim=4, k=k, lr=1e-3, device="cpu", seed=seed,
                   reuse_fake=reuse_fake)
    t.fit(x, steps, batch_size=m, progress=False)
    trainer = (_params(t.generator, t.discriminator), t.history)

    torch.testing.assert_close(runs["d_step/g_step"], runs["hand"], rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(trainer[0], runs["hand"][0], rtol=1e-4, atol=1e-5)
    for column, values in runs["hand"][1].items():
        assert len(trainer[1][column]) == steps
        torch.testing.assert_close(trainer[1][column], values, rtol=1e-4, atol=1e-5)
    # the weights moved: the comparison is not of two untrained pairs
    assert not torch.allclose(trainer[0], _params(*pair()), rtol=1e-3, atol=1e-4)


def test_d_step_leaves_g_alone_and_g_step_leaves_d_alone():
    g, d = _mlp_pair()
    opt_g, opt_d = torch.optim.SGD(g.parameters(), lr=0.1), torch.optim.SGD(d.parameters(), lr=0.1)
    before_g, before_d = _params(g), _params(d)
    d_step(g, d, opt_d, torch.randn(8, 2), torch.randn(8, 4), d_loss_fn=discriminator_loss)
    assert torch.equal(_params(g), before_g) and not torch.equal(_params(d), before_d)
    before_d = _params(d)
    g_step(g, d, opt_g, torch.randn(8, 4), g_loss_fn=generator_loss_nonsaturating)
    assert torch.equal(_params(d), before_d) and not torch.equal(_params(g), before_g)


def test_a_given_fake_batch_is_used_as_is_and_detached_for_d():
    """d_step/g_step given x_fake (the trainer's one-G-forward path) equal those that call G."""
    z, x_real = torch.randn(8, 4), torch.randn(8, 2)
    results = []
    for reuse in (False, True):
        g, d = _mlp_pair(seed=2)
        opt_g = torch.optim.SGD(g.parameters(), lr=0.1)
        opt_d = torch.optim.SGD(d.parameters(), lr=0.1)
        x_fake = g(z) if reuse else None  # with a graph back to G
        d_loss, _, _ = d_step(g, d, opt_d, x_real, z, d_loss_fn=discriminator_loss, x_fake=x_fake)
        assert all(p.grad is None for p in g.parameters())  # D's step sent nothing to G
        g_loss, _ = g_step(g, d, opt_g, z, g_loss_fn=generator_loss_nonsaturating, x_fake=x_fake)
        results.append((d_loss, g_loss, _params(g, d)))
    torch.testing.assert_close(results[0], results[1])


def _adam_params(seed=0):
    """Parameters of several shapes (one of them skipped on some step by `_adam_steps`)."""
    torch.manual_seed(seed)
    return [nn.Parameter(torch.randn(s)) for s in [(5, 3), (3,), (7,), (2, 2)]]


def _copy(params):
    return [nn.Parameter(p.detach().clone()) for p in params]


def _adam_steps(pairs, steps, seed=1, skip=None):
    rng = torch.Generator().manual_seed(seed)
    for i in range(steps):
        grads = [torch.randn(p.shape, generator=rng) for p in pairs[0][0]]
        for params, opt in pairs:
            opt.zero_grad()
            for j, (p, g) in enumerate(zip(params, grads)):
                if (i, j) != skip:  # a parameter without a gradient this step keeps its state
                    p.grad = g.clone()
            opt.step()


def test_make_adam_is_torchs_fused_adam_where_the_device_supports_it():
    params = _adam_params()
    opt = make_adam((p for p in params), 1e-3)  # any iterable of parameters, as .parameters()
    assert type(opt) is torch.optim.Adam and opt.defaults["fused"] is True
    assert opt.defaults["lr"] == 1e-3 and opt.defaults["betas"] == (0.9, 0.999)  # Adam's
    assert all(a is b for a, b in zip(opt.param_groups[0]["params"], params, strict=True))
    opt = make_adam(_adam_params(), lr=1e-2, betas=(0.5, 0.999))
    assert opt.defaults["lr"] == 1e-2 and opt.defaults["betas"] == (0.5, 0.999)


def test_make_adam_takes_the_steps_of_the_reference_adam():
    """The fused kernel's update equals torch's single-tensor Adam (to float32 rounding)."""
    a = _adam_params()
    b = _copy(a)
    before = [p.detach().clone() for p in a]
    fused = make_adam(a, lr=1e-2, betas=(0.5, 0.999))
    reference = torch.optim.Adam(b, lr=1e-2, betas=(0.5, 0.999), foreach=False, fused=False)
    _adam_steps([(a, fused), (b, reference)], steps=6, skip=(2, 1))
    for p, q, p0 in zip(a, b, before):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)
        assert not torch.equal(p, p0)


@pytest.mark.parametrize("error", [RuntimeError, TypeError, ValueError])
def test_make_adam_falls_back_to_foreach_where_fused_raises(monkeypatch, error):
    """A device or dtype without the fused kernel: the foreach Adam, same update, same state."""
    adam = torch.optim.Adam

    class NoFusedAdam(adam):
        def __init__(self, params, *args, fused=None, **kwargs):
            if fused:
                raise error("no fused Adam kernel here")
            super().__init__(params, *args, fused=fused, **kwargs)

    monkeypatch.setattr(torch.optim, "Adam", NoFusedAdam)
    a = _adam_params()
    fallback = make_adam((p for p in a), lr=1e-2, betas=(0.5, 0.999))  # a one-pass iterable
    monkeypatch.undo()
    assert isinstance(fallback, NoFusedAdam) and fallback.defaults["foreach"] is True
    assert not fallback.defaults["fused"]
    assert all(x is y for x, y in zip(fallback.param_groups[0]["params"], a, strict=True))
    b = _copy(a)
    fused = make_adam(b, lr=1e-2, betas=(0.5, 0.999))
    assert fused.defaults["fused"] is True
    _adam_steps([(a, fallback), (b, fused)], steps=3, skip=(1, 0))
    # checkpoints load in either: swap the states and keep going as one optimizer would
    fallback_state, fused_state = fallback.state_dict(), fused.state_dict()
    fallback.load_state_dict(fused_state)
    fused.load_state_dict(fallback_state)
    _adam_steps([(a, fallback), (b, fused)], steps=3, seed=2)
    for p, q in zip(a, b):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)
    # a[0] had no gradient on step 1 (skip=(1, 0)): it kept its state that step
    assert [int(fallback.state[p]["step"]) for p in a] == [5, 6, 6, 6]


def test_amp_warns_where_bf16_is_emulated(monkeypatch):
    monkeypatch.setattr(gan_module, "native_bf16", lambda device=None: False)
    with pytest.warns(UserWarning, match="emulated.*amp=False"):
        GANTrainer(*_mlp_pair(), latent_dim=4, device="cpu", amp=True)
    monkeypatch.setattr(gan_module, "native_bf16", lambda device=None: True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GANTrainer(*_mlp_pair(), latent_dim=4, device="cpu", amp=True)


def test_same_seed_same_run_on_cpu():
    runs = []
    for _ in range(2):
        g, d = _mlp_pair(seed=1)
        t = GANTrainer(g, d, latent_dim=4, device="cpu", seed=9)
        t.fit(sample_2d("grid25", 200, seed=0), steps=5, batch_size=16, progress=False)
        runs.append((_params(g, d), t.sample(8)))
    assert torch.equal(runs[0][0], runs[1][0]) and torch.equal(runs[0][1], runs[1][1])


@pytest.mark.parametrize("make", ["mlp", "dcgan"])
def test_resume_is_bit_for_bit(tmp_path, make):
    """2N steps == N steps, save, new trainer, load, N steps (CPU, exact)."""
    def build():
        torch.manual_seed(0)
        if make == "mlp":
            return MLPGenerator(4, (2,), hidden=(16,)), MLPDiscriminator((2,), hidden=(16,))
        return DCGANGenerator(4, (1, 8, 8), width=4), DCGANDiscriminator((1, 8, 8), width=4)

    x = sample_2d("ring8", 300, seed=0) if make == "mlp" else torch.rand(50, 1, 8, 8) * 2 - 1
    full = GANTrainer(*build(), latent_dim=4, k=2, device="cpu", decay_steps=8)
    full.fit(x, 8, batch_size=8, progress=False)

    first = GANTrainer(*build(), latent_dim=4, k=2, device="cpu", decay_steps=8)
    first.fit(x, 4, batch_size=8, progress=False, checkpoint_path=tmp_path / "ck.pt")
    torch.manual_seed(123)  # a resumed process starts from other global RNG state
    second = GANTrainer(*build(), latent_dim=4, k=2, device="cpu", decay_steps=8)
    second.load(tmp_path / "ck.pt")
    assert second.step == 4
    second.fit(x, 4, batch_size=8, progress=False)
    assert torch.equal(_params(full.generator, full.discriminator),
                       _params(second.generator, second.discriminator))
    assert full.history == second.history
    for a, b in zip(full.d_optimizer.state_dict()["state"].values(),
                    second.d_optimizer.state_dict()["state"].values()):
        assert torch.equal(a["exp_avg"], b["exp_avg"])


class _NaNAfter(nn.Module):
    """A discriminator that starts returning NaN at its n-th forward call."""

    def __init__(self, inner, n):
        super().__init__()
        self.inner, self.n, self.calls = inner, n, 0

    def forward(self, x):
        self.calls += 1
        out = self.inner(x)
        return out * float("nan") if self.calls >= self.n else out


def test_nan_loss_stops_training_and_names_the_step():
    g, d = _mlp_pair()
    # k=1, concat D: 1 D forward in d_step, 1 in g_step -> the 7th call is step 4's D step
    t = GANTrainer(g, _NaNAfter(d, 7), latent_dim=4, device="cpu", lr=1e-3)
    with pytest.raises(FloatingPointError,
                       match=r"d_loss became nan at step 4\b.*lower learning rate"):
        t.fit(sample_2d("ring8", 100, seed=0), steps=20, batch_size=8, progress=False,
              log_every=10)
    assert len(t.history["d_loss"]) == 3  # the finite steps before it


def test_bad_input_errors():
    g, d = _mlp_pair()
    with pytest.raises(ValueError, match="unknown loss 'bce'.*nonsaturating"):
        GANTrainer(g, d, latent_dim=4, loss="bce")
    with pytest.raises(ValueError, match="k"):
        GANTrainer(g, d, latent_dim=4, k=0)
    t = GANTrainer(g, d, latent_dim=4, device="cpu")
    with pytest.raises(ValueError, match=r"shape \(1, 8, 8\).*generator makes \(2,\)"):
        t.fit(torch.zeros(10, 1, 8, 8), 1, progress=False)
    with pytest.raises(ValueError, match="NaN"):
        t.fit(torch.full((10, 2), float("nan")), 1, progress=False)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        t.load("/nonexistent/ck.pt")


def test_conditional_training_and_snapshots():
    g, d = _mlp_pair(shape=(1, 8, 8), num_classes=10)
    t = GANTrainer(g, d, latent_dim=4, device="cpu")
    snaps = SampleSnapshots()
    x, y = torch.rand(40, 1, 8, 8) * 2 - 1, torch.arange(40) % 10
    t.fit(x, 6, batch_size=8, y=y, progress=False, callbacks=[snaps], callback_every=2)
    assert [s for s, _ in snaps.snapshots] == [2, 4, 6]
    assert snaps.snapshots[0][1].shape == (64, 1, 8, 8)
    with pytest.raises(ValueError, match="pass labels y"):
        t.fit(x, 1, progress=False)


@pytest.mark.parametrize("loss", ["minimax", "lsgan", "hinge", "wgan-gp"])
def test_every_loss_trains_without_error(loss):
    g, d = _mlp_pair()
    t = GANTrainer(g, d, latent_dim=4, device="cpu", loss=loss)
    h = t.fit(sample_2d("moons", 100, seed=0), 3, batch_size=8, progress=False)
    assert len(h["d_loss"]) == 3


def test_atomic_save_keeps_the_old_file_when_interrupted(tmp_path, monkeypatch):
    path = tmp_path / "ck.pt"
    atomic_save({"step": 1}, path)

    def boom(obj, f, *a, **k):
        f.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(KeyboardInterrupt):
        atomic_save({"step": 2}, path)
    monkeypatch.undo()
    assert torch.load(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["ck.pt"]


def test_sampler_and_trainer_stay_on_the_trainer_device():
    g, d = _mlp_pair()
    t = GANTrainer(g, d, latent_dim=4, device="cpu")
    assert t.sample(3).device.type == "cpu" and t.noise(3).shape == (3, 4)
    assert isinstance(t._prepare(torch.randn(5, 2), None), TensorSampler)


@pytest.mark.parametrize("make", ["mlp", "dcgan"])
def test_compiled_path_matches_eager(make):
    """torch.compile'd G and D (aot_eager: the graph capture without codegen) train like eager."""
    def build():
        torch.manual_seed(0)
        if make == "mlp":
            return MLPGenerator(4, (2,), hidden=(16,)), MLPDiscriminator((2,), hidden=(16,), pack=2)
        return DCGANGenerator(4, (1, 8, 8), width=4), DCGANDiscriminator((1, 8, 8), width=4)

    x = sample_2d("ring8", 200, seed=0) if make == "mlp" else torch.rand(40, 1, 8, 8) * 2 - 1
    runs = []
    for compile in (False, "aot_eager"):
        t = GANTrainer(*build(), latent_dim=4, k=2, device="cpu", compile=compile)
        t.fit(x, 4, batch_size=8, progress=False)
        runs.append((_params(t.generator, t.discriminator), t.history["d_loss"]))
    torch.testing.assert_close(runs[0][0], runs[1][0], rtol=1e-5, atol=1e-6)
    assert runs[0][1] == pytest.approx(runs[1][1], rel=1e-5)


def test_cuda_graph_compile_mode_is_refused_with_the_reason():
    g, d = _mlp_pair()
    with pytest.raises(ValueError, match="overwrites"):
        GANTrainer(g, d, latent_dim=4, compile="reduce-overhead")


def test_channels_last_and_bf16_autocast_paths_match_the_default_path():
    """The CUDA fast-path switches, exercised on the CPU: NHWC exactly, bf16 to bf16 precision."""
    def run(**kw):
        torch.manual_seed(0)
        t = GANTrainer(DCGANGenerator(4, (1, 8, 8), width=4),
                       DCGANDiscriminator((1, 8, 8), width=4),
                       latent_dim=4, device="cpu", **kw)
        x = torch.rand(40, 1, 8, 8, generator=torch.Generator().manual_seed(1)) * 2 - 1
        t.fit(x, 3, 8, progress=False)
        return t

    base, nhwc, bf16 = run(), run(channels_last=True), run(amp=True)
    assert base.config.amp is False and base.config.channels_last is False  # opt-in everywhere
    torch.testing.assert_close(_params(base.generator), _params(nhwc.generator),
                               rtol=1e-4, atol=1e-5)
    assert nhwc.sample(2).shape == (2, 1, 8, 8)
    assert bf16.history["d_loss"][0] == pytest.approx(base.history["d_loss"][0], abs=2e-2)
    assert all(torch.isfinite(torch.tensor(v)).all() for v in bf16.history.values())
