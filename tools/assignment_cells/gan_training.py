"""Assignment gan_training: the lecture's minimax training loop, graded apart from the losses.

The hidden tests run train_gan on a tiny float64 G and D with plain SGD, logging every batch the
samplers return, what G and D are given, and the optimizer steps. Batches are recognised by their
values: the reference loop is replayed on the batches the answer gave each step, so the order of
the sampler calls does not matter (G's noise drawn first, all batches up front), and whether each
step got fresh batches is its own test (test_fresh_batches). A frozen player (learning rate 0)
isolates the other one's updates, so a mistake in the D step and one in the G step lose different
points. Every hidden block is self-contained, like in gan_losses.
"""

import textwrap

from ._cells import (
    answer,
    before_you_submit,
    colab_install,
    hidden,
    isolated,
    locked,
    markdown,
    setup,
    test,
    test_helpers,
    visible,
    visible_summary,
    written,
)

# The library's training loop: train_gan may not call it (the grader reads this from the notebook).
REFERENCE_IMPLEMENTATIONS = ("eep596gan.train.gan:GANTrainer", "eep596gan.train.gan:d_step",
                             "eep596gan.train.gan:g_step")

PREAMBLE = '''
import contextlib
import io
import math
import warnings

import torch
import torch.nn.functional as F

''' + isolated(
    'eep596gan.train', 'reference loop',
    """[getattr(lib, "d_step", None), getattr(lib, "g_step", None),
                   getattr(getattr(lib, "GANTrainer", None), "fit", None)]""",
    'the loop') + '''

class _Logged(torch.nn.Module):
    """A network that logs what it is given and what it returns (called or .forward-ed)."""

    def __init__(self, net, name, log):
        super().__init__()
        self.net, self._name, self._log = net, name, log

    def forward(self, x):
        out = self.net(x)
        self._log.append((self._name, x.detach().clone(), out.detach().clone()))
        return out


def _tiny(seed=0, d_lr=0.1, g_lr=0.1):
    """Tiny float64 G and D on 2-D points, their SGD optimizers, seeded samplers and an
    event log: the batches drawn, what G and D saw, and the optimizer steps."""
    init = torch.Generator().manual_seed(seed)
    log = []

    def mlp(n_in, n_out, name):
        net = torch.nn.Sequential(torch.nn.Linear(n_in, 3), torch.nn.Tanh(),
                                  torch.nn.Linear(3, n_out)).double()
        with torch.no_grad():
            for p in net.parameters():
                p.copy_(0.7 * torch.randn(p.shape, generator=init, dtype=torch.float64))
        return _Logged(net, name, log)

    generator, discriminator = mlp(2, 2, "G"), mlp(2, 1, "D")
    real_rng, noise_rng = (torch.Generator().manual_seed(seed + 1),
                           torch.Generator().manual_seed(seed + 2))

    def sample_real(m):
        batch = torch.tensor([1.5, -0.5], dtype=torch.float64) + 0.4 * torch.randn(
            m, 2, generator=real_rng, dtype=torch.float64)
        log.append(("real", m, batch.clone()))
        return batch

    def sample_noise(m):
        batch = torch.randn(m, 2, generator=noise_rng, dtype=torch.float64)
        log.append(("noise", m, batch.clone()))
        return batch

    g_opt = torch.optim.SGD(generator.parameters(), lr=g_lr)
    d_opt = torch.optim.SGD(discriminator.parameters(), lr=d_lr)
    d_opt.register_step_post_hook(lambda *args: log.append(("D.step", None, None)))
    g_opt.register_step_post_hook(lambda *args: log.append(("G.step", None, None)))
    return generator, discriminator, g_opt, d_opt, sample_real, sample_noise, log


def _rows(x):
    return [tuple(row) for row in x.reshape(len(x), -1).tolist()]


def _windows(log):
    """The steps of the answer's loop and the batches each was given, recognised by value.

    Reads the log of _tiny. Every optimizer step closes a window: the real samples D saw since
    the previous step and the noise behind the fakes it saw (G's inputs), each row once. A window
    is a D step if D saw a real batch in it that no earlier step saw (whichever optimizer stepped),
    or saw real samples and d_optimizer stepped; otherwise a G step. A window that saw no batch is
    left out, and back-to-back G windows are one G step: how many steps the optimizers took is
    test_optimizer_steps's business. Returns (steps, drawn): steps is [(role, rows)], role "D" or
    "G", rows {"real": [...], "noise": [...], "other": n (rows D saw that are neither)}; drawn
    maps every drawn row to its batch, ("real" or "noise", index).
    """
    drawn, made, steps, seen = {}, {}, [], set()
    count = {"real": 0, "noise": 0}
    rows = {"real": [], "noise": [], "other": 0}
    for event, a, b in log:
        if event in ("real", "noise"):
            for row in _rows(b):
                drawn[row] = (event, count[event])
            count[event] += 1
        elif event == "G":
            made.update(zip(_rows(b), _rows(a)))  # G's output row -> its noise row
        elif event == "D":
            for row in _rows(a):
                if drawn.get(row, ("",))[0] == "real":
                    kind = "real"
                elif row in made:
                    kind, row = "noise", made[row]
                else:
                    rows["other"] += 1
                    continue
                if row not in rows[kind]:
                    rows[kind].append(row)
        else:  # an optimizer step closes the window
            if rows["real"] or rows["noise"]:
                fresh = any(drawn[row] not in seen for row in rows["real"])
                role = "D" if fresh or (rows["real"] and event == "D.step") else "G"
                if role == "G" and steps and steps[-1][0] == "G":
                    last = steps[-1][1]
                    last["noise"] += [row for row in rows["noise"] if row not in last["noise"]]
                else:
                    steps.append((role, rows))
                seen.update(drawn[row] for row in rows["real"])
            rows = {"real": [], "noise": [], "other": 0}
    return steps, drawn
'''

REFERENCE = '''
def _nonsaturating(fake_logits):
    return 0.5 * F.softplus(-fake_logits).mean()


def _minimax(fake_logits):
    return -0.5 * F.softplus(fake_logits).mean()


def _batch(windows, player, index, what):
    """The rows of `what` ("real" or "noise") that the index-th step of `player` was given."""
    steps = [rows for role, rows in windows if role == player]
    assert index < len(steps), (
        f"the loop took {len(steps)} {player} steps; the reference needs at least {index + 1}")
    rows = steps[index][what]
    assert rows, (
        f"{player} step {index + 1} (counting from 1): could not find the {what} batch it was "
        f"given among those drawn from sample_{what} (D saw {steps[index]['other']} rows that are "
        "neither drawn real samples nor G's outputs on drawn noise)")
    return torch.tensor(rows, dtype=torch.float64)


def _reference(seed, log, steps, k, d_lr=0.1, g_lr=0.1, g_loss=_nonsaturating):
    """The slide's algorithm with plain SGD by hand, replayed on the batches the answer gave each
    step (read from `log`, whatever order they were drawn in): returns G, D and the losses.

    A frozen player (learning rate 0) is not replayed: its steps need no batches.
    """
    generator, discriminator, _, _, _, _, _ = _tiny(seed, d_lr, g_lr)
    windows, _ = _windows(log)
    d_losses, g_losses = [], []
    for step in range(steps):
        for j in range(k if d_lr else 0):  # (1) k steps on D: minimise J^(D), G held fixed
            x_real = _batch(windows, "D", step * k + j, "real")
            z = _batch(windows, "D", step * k + j, "noise")
            real_logits, fake_logits = discriminator(x_real), discriminator(generator(z).detach())
            loss = 0.5 * F.softplus(-real_logits).mean() + 0.5 * F.softplus(fake_logits).mean()
            grads = torch.autograd.grad(loss, list(discriminator.parameters()))
            with torch.no_grad():
                for p, g in zip(discriminator.parameters(), grads):
                    p -= d_lr * g
            d_losses.append(loss.item())
        if not g_lr:
            continue
        z = _batch(windows, "G", step, "noise")  # (2) one step on G
        loss = g_loss(discriminator(generator(z)))
        grads = torch.autograd.grad(loss, list(generator.parameters()))
        with torch.no_grad():
            for p, g in zip(generator.parameters(), grads):
                p -= g_lr * g
        g_losses.append(loss.item())
    return generator, discriminator, d_losses, g_losses


def _same_parameters(model, reference, what):
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        gap = (p.detach() - q.detach()).abs().max().item()
        assert gap <= 1e-9, (
            f"{what}: parameter {name} differs from the reference loop's by {gap:.3g} "
            "(the reference is replayed on the batches your loop gave each step)")
'''

STEP_COUNTS = '''
for steps, k in ((3, 2), (2, 1)):
    generator, discriminator, g_opt, d_opt, sample_real, sample_noise, log = _tiny()
    with _isolated():
        train_gan(generator, discriminator, g_opt, d_opt, sample_real, sample_noise,
                  steps=steps, k=k, batch_size=4)
    order = [event for event, _, _ in log if event.endswith(".step")]
    assert order.count("D.step") == k * steps, (
        f"steps={steps}, k={k}: d_optimizer.step() was called {order.count('D.step')} times, "
        f"expected k * steps = {k * steps}")
    assert order.count("G.step") == steps, (
        f"steps={steps}, k={k}: g_optimizer.step() was called {order.count('G.step')} times, "
        f"expected steps = {steps}")
    assert order == (["D.step"] * k + ["G.step"]) * steps, (
        f"steps={steps}, k={k}: the optimizer steps came in the order {order}; "
        "each iteration is k D steps, then one G step")
'''

SAMPLER_CALLS = '''
steps, k, m = 2, 3, 5
generator, discriminator, g_opt, d_opt, sample_real, sample_noise, log = _tiny()
with _isolated():
    train_gan(generator, discriminator, g_opt, d_opt, sample_real, sample_noise,
              steps=steps, k=k, batch_size=m)
noise = [size for event, size, _ in log if event == "noise"]
real = [size for event, size, _ in log if event == "real"]
assert len(noise) == steps * (k + 1), (
    f"steps={steps}, k={k}: sample_noise was called {len(noise)} times, expected {steps * (k + 1)} "
    "(fresh noise for every D step and for every G step)")
assert len(real) == steps * k, (
    f"steps={steps}, k={k}: sample_real was called {len(real)} times, expected {steps * k} "
    "(once per D step)")
assert set(noise) | set(real) == {m}, (
    f"batch_size={m}: the samplers were asked for batches of sizes "
    f"{sorted(set(noise) | set(real))}")
# Which batches went where, recognised by value (the order they were drawn in does not matter):
# each D step one whole real batch and one whole noise batch, each G step one whole noise
# batch, and no batch given to two steps.
windows, drawn = _windows(log)
given, count = {}, {"D": 0, "G": 0}
for role, rows in windows:
    count[role] += 1
    step = f"steps={steps}, k={k}: {role} step {count[role]} (counting from 1)"
    for what in ("real", "noise") if role == "D" else ("noise",):
        assert all(row in drawn for row in rows[what]), (
            f"{step} was given {what} that sample_{what} did not return: draw every batch "
            f"with sample_{what}(batch_size)")
        batches = {drawn[row] for row in rows[what]}
        assert len(batches) == 1 and len(rows[what]) == m, (
            f"{step} was given {len(rows[what])} {what} rows from {len(batches)} batches; "
            f"expected one whole batch of sample_{what}(batch_size)")
        batch = batches.pop()
        assert batch not in given, (
            f"{step} was given the {what} batch already given to {given.get(batch)}: "
            "every step draws its own")
        given[batch] = f"{role} step {count[role]}"
'''

GENERATOR_LOSS = '''
calls = []


def _recording_loss(fake_logits):
    calls.append(isinstance(fake_logits, torch.Tensor) and fake_logits.requires_grad)
    return 0.5 * F.softplus(-fake_logits).mean()


generator, discriminator, g_opt, d_opt, sample_real, sample_noise, log = _tiny()
with _isolated():
    train_gan(generator, discriminator, g_opt, d_opt, sample_real, sample_noise, steps=3, k=2,
              batch_size=4, generator_loss=_recording_loss)
assert len(calls) >= 3, (
    f"the generator_loss passed in was called {len(calls)} times in 3 steps: use the argument")
assert all(calls), (
    "generator_loss must get D's logits on G(z) with their graph (G must learn from them)")
'''

HISTORY = '''
generator, discriminator, g_opt, d_opt, sample_real, sample_noise, log = _tiny(seed=1)
with _isolated():
    history = train_gan(generator, discriminator, g_opt, d_opt, sample_real, sample_noise,
                        steps=3, k=2)
assert isinstance(history, dict) and "d_loss" in history and "g_loss" in history, (
    "train_gan must return a dict with lists 'd_loss' and 'g_loss'")
for key, n in (("d_loss", 6), ("g_loss", 3)):
    values = list(history[key])
    assert len(values) == n, (
        f"steps=3, k=2: history['{key}'] has {len(values)} entries, expected {n}")
    assert all(isinstance(v, float) and math.isfinite(v) for v in values), (
        f"history['{key}'] must hold finite Python floats (use loss.item()), "
        f"got {[type(v).__name__ for v in values]}")
_, _, d_losses, _ = _reference(seed=1, log=log, steps=1, k=1, g_lr=0.0)
assert abs(history["d_loss"][0] - d_losses[0]) <= 1e-9 * max(1.0, abs(d_losses[0])), (
    f"history['d_loss'][0] is {history['d_loss'][0]}, "
    f"but J^(D) on the first batches is {d_losses[0]}")
'''

D_TRAJECTORY = '''
generator, discriminator, g_opt, d_opt, sample_real, sample_noise, log = _tiny(
    seed=2, d_lr=0.2, g_lr=0.0)
with _isolated():
    train_gan(generator, discriminator, g_opt, d_opt, sample_real, sample_noise, steps=3, k=2)
_, reference, _, _ = _reference(seed=2, log=log, steps=3, k=2, d_lr=0.2, g_lr=0.0)
_same_parameters(discriminator, reference,
                 "with G frozen (learning rate 0), D after 3 steps with k=2")
'''

G_TRAJECTORY = '''
generator, discriminator, g_opt, d_opt, sample_real, sample_noise, log = _tiny(
    seed=3, d_lr=0.0, g_lr=0.2)
with _isolated():
    train_gan(generator, discriminator, g_opt, d_opt, sample_real, sample_noise, steps=3, k=2,
              generator_loss=_minimax)
reference, _, _, _ = _reference(seed=3, log=log, steps=3, k=2, d_lr=0.0, g_lr=0.2,
                               g_loss=_minimax)
_same_parameters(generator, reference,
                 "with D frozen (learning rate 0), G after 3 steps with k=2 and the minimax loss")
'''

FULL_TRAJECTORY = '''
for seed, k in ((4, 2), (5, 1)):
    generator, discriminator, g_opt, d_opt, sample_real, sample_noise, log = _tiny(seed=seed)
    with _isolated():
        train_gan(generator, discriminator, g_opt, d_opt, sample_real, sample_noise, steps=3, k=k)
    g_ref, d_ref, _, _ = _reference(seed=seed, log=log, steps=3, k=k)
    _same_parameters(discriminator, d_ref, f"D after 3 steps with k={k}")
    _same_parameters(generator, g_ref, f"G after 3 steps with k={k}")
'''

VISIBLE = '''
# Visible test: a few steps on a tiny GAN return the history in the right shape.
history = quietly(train_gan, *make_tiny_gan(), steps=3, k=2, batch_size=8)
assert isinstance(history, dict), f"train_gan must return a dict, got {type(history).__name__}"
assert len(history["d_loss"]) == 6 and len(history["g_loss"]) == 3, (
    "with steps=3 and k=2, expected 6 entries in history['d_loss'] and 3 in history['g_loss']")
assert all(isinstance(v, float) for v in history["d_loss"] + history["g_loss"]), (
    "the history must hold Python floats (loss.item()), not tensors")
print("visible test passed")
'''

_CALL = "_ = quietly(train_gan, *make_tiny_gan(), steps=1)"


def _hidden_test(grade_id: str, points: int, comment: str, *blocks: str) -> dict:
    visible = textwrap.dedent(comment).strip("\n") + "\n" + _CALL
    return test(grade_id, points, hidden(visible, PREAMBLE, *blocks))


CELLS = [
    markdown("intro", r"""
        # Assignment: the GAN training loop

        *EEP 596, Lecture 7: Generative Adversarial Networks.*

        You write the training algorithm of the slides *"Optimization in NN"* (Goodfellow et
        al. 2014, Algorithm 1). For each of `steps` iterations:

        1. **k discriminator steps**, each on a fresh batch: sample $m$ noise vectors
           $z^{(1)}, \dots, z^{(m)}$ and $m$ real samples $x^{(1)}, \dots, x^{(m)}$, then take one
           optimizer step on the discriminator that *minimises*
           $J^{(D)} = -\tfrac12\,\mathbb{E}_x \log D(x) - \tfrac12\,\mathbb{E}_z \log(1 - D(G(z)))$.
           The generator is held fixed: no gradient of $J^{(D)}$ may reach it.
        2. **One generator step**: sample $m$ fresh noise vectors and take one optimizer step on the
           generator that *minimises* its cost $J^{(G)}$, `generator_loss(D(G(z)))`. Only the
           generator's parameters change.

        Both players minimise their own cost (the convention of the `gan_losses` assignment; the
        slide *"Optimization in NN"* has a sign slip). The losses are given: the setup cell imports
        `discriminator_loss`, `generator_loss_minimax` and `generator_loss_nonsaturating` from the
        course library, so this assignment is graded apart from them. They take **logits**, which is
        what the discriminators here return, of shape `(m, 1)`. Run the first two code cells first:
        the first installs the course library in Colab (elsewhere it does nothing), the second is
        the setup.
        """),
    colab_install(),
    setup("""
        import contextlib
        import io
        import math
        import warnings

        import matplotlib.pyplot as plt
        import torch

        from eep596gan.data import TensorSampler, load_images, mode_centers, sample_2d
        from eep596gan.device import get_device, pick, quick_mode, seed_everything
        from eep596gan.losses import (
            discriminator_loss,
            generator_loss_minimax,
            generator_loss_nonsaturating,
        )
        from eep596gan.models import MLPDiscriminator, MLPGenerator
        from eep596gan.viz import image_grid, plot_2d, plot_losses
        """),
    markdown("spec", """
        ## Your task: `train_gan`

        `train_gan(generator, discriminator, g_optimizer, d_optimizer, sample_real, sample_noise, *,
        steps, k=1, batch_size=64, generator_loss=generator_loss_nonsaturating)`

        * `sample_real(m)` returns a batch of $m$ real samples and `sample_noise(m)` a batch of $m$
          noise vectors, both already on the right device. Call them with `batch_size`, once per
          batch: every discriminator step draws its own real batch and its own noise, and the
          generator step draws its own noise; no batch is used by two steps. When you draw them is
          up to you (a batch at a time, or several up front): the tests recognise each batch by its
          values and replay the steps on the batches your loop gave them.
        * Use the optimizers you are given: `d_optimizer` for the discriminator's parameters,
          `g_optimizer` for the generator's. Remember what `loss.backward()` does to gradients that
          are already there, and which parameters a backward pass through
          `discriminator(generator(z))` reaches.
        * Return `{"d_loss": [...], "g_loss": [...]}`: the value of $J^{(D)}$ at each of the
          `steps * k` discriminator steps and of $J^{(G)}$ at each of the `steps` generator steps,
          as Python floats (`loss.item()`), each computed before its update. Extra keys are fine.
        """),
    answer("answer_train_gan", '''
        def train_gan(generator, discriminator, g_optimizer, d_optimizer, sample_real, sample_noise,
                      *, steps, k=1, batch_size=64, generator_loss=generator_loss_nonsaturating):
            """Train a GAN with the lecture's algorithm: k discriminator steps, then one
            generator step.

            Args:
                generator: maps noise (m, latent_dim) to samples.
                discriminator: maps samples to logits (m, 1).
                g_optimizer, d_optimizer: optimizers over the generator's / discriminator's
                    parameters.
                sample_real: sample_real(m) -> a batch of m real samples.
                sample_noise: sample_noise(m) -> a batch of m noise vectors.
                steps: number of iterations (generator steps).
                k: discriminator steps per generator step.
                batch_size: m, the size of every batch.
                generator_loss: J^(G) as a function of D's logits on G(z).
            Returns:
                {"d_loss": [float] * (steps * k), "g_loss": [float] * steps}.
            """
            ### BEGIN SOLUTION
            history = {"d_loss": [], "g_loss": []}
            for _ in range(steps):
                # (1) k steps on D: minimise J^(D), i.e. maximise log D(x) + log(1 - D(G(z)))
                for _ in range(k):
                    z = sample_noise(batch_size)
                    x_real = sample_real(batch_size)
                    x_fake = generator(z).detach()  # G is held fixed: no gradient reaches it
                    d_loss = discriminator_loss(discriminator(x_real), discriminator(x_fake))
                    d_optimizer.zero_grad()
                    d_loss.backward()
                    d_optimizer.step()
                    history["d_loss"].append(d_loss.item())
                # (2) one step on G: minimise J^(G) on fresh noise. The backward pass also fills D's
                # gradients; only g_optimizer steps, and D's are cleared before its next step.
                z = sample_noise(batch_size)
                g_loss = generator_loss(discriminator(generator(z)))
                g_optimizer.zero_grad()
                g_loss.backward()
                g_optimizer.step()
                history["g_loss"].append(g_loss.item())
            return history
            ### END SOLUTION
        '''),
    markdown("about-tests", """
        The test cells below check your loop; most of their checks are hidden and run when your
        notebook is graded. They run it on a tiny GAN in float64 with plain SGD and compare the
        parameters with a reference loop's, replayed on the batches your loop gave each step; they
        count the optimizer steps and the sampler calls, check that every step got fresh batches,
        and check the history. They run your function through `quietly`, which captures warnings and
        printed output (nbgrader gives 0 points to a test cell that writes to stderr).
        """),
    test_helpers('''
        def make_tiny_gan(seed=0, lr=0.05):
            """A tiny G and D on 2-D points (float64), their SGD optimizers and two seeded
            samplers."""
            torch.manual_seed(seed)
            generator = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(),
                                            torch.nn.Linear(4, 2)).double()
            discriminator = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(),
                                                torch.nn.Linear(4, 1)).double()
            real_rng, noise_rng = (torch.Generator().manual_seed(seed + 1),
                                   torch.Generator().manual_seed(seed + 2))

            def sample_real(m):
                return 1.0 + 0.3 * torch.randn(m, 2, generator=real_rng, dtype=torch.float64)

            def sample_noise(m):
                return torch.randn(m, 2, generator=noise_rng, dtype=torch.float64)

            return (generator, discriminator, torch.optim.SGD(generator.parameters(), lr=lr),
                    torch.optim.SGD(discriminator.parameters(), lr=lr), sample_real, sample_noise)
        '''),
    visible("check_train_gan", "train_gan", """
        def _run_tiny(steps=3, k=2, m=8, **kwargs):
            \"\"\"train_gan on make_tiny_gan(), logging optimizer steps and sampler calls.\"\"\"
            generator, discriminator, g_opt, d_opt, real, noise = make_tiny_gan()
            log, before = [], [p.detach().clone() for p in generator.parameters()]
            before_d = [p.detach().clone() for p in discriminator.parameters()]
            d_opt.register_step_post_hook(lambda *args: log.append("D.step"))
            g_opt.register_step_post_hook(lambda *args: log.append("G.step"))

            def sample_real(n):
                log.append(("real", n))
                return real(n)

            def sample_noise(n):
                log.append(("noise", n))
                return noise(n)

            history = train_gan(generator, discriminator, g_opt, d_opt, sample_real, sample_noise,
                                steps=steps, k=k, batch_size=m, **kwargs)
            changed = (any((p - q).abs().max() > 0 for p, q in zip(generator.parameters(), before)),
                       any((p - q).abs().max() > 0
                           for p, q in zip(discriminator.parameters(), before_d)))
            return history, log, changed


        def _lengths():
            history = _run_tiny()[0]
            return {key: len(history[key]) for key in ("d_loss", "g_loss")}


        def _value_kinds():
            history = _run_tiny()[0]
            return sorted({"float" if isinstance(v, float) and math.isfinite(v)
                           else f"not a finite float: {v!r}"
                           for key in ("d_loss", "g_loss") for v in history[key]})


        def _sampler_calls():
            log = _run_tiny()[1]
            return {kind: (sum(1 for e in log if e[0] == kind), sorted({e[1] for e in log
                                                                      if e[0] == kind}))
                    for kind in ("real", "noise")}


        def _loss_calls():
            calls = []

            def recording_loss(fake_logits):
                calls.append(fake_logits.requires_grad)
                return generator_loss_nonsaturating(fake_logits)

            _run_tiny(generator_loss=recording_loss)
            return calls


        visible_check(PART, "steps=3, k=2: the history's keys and lengths",
                      "{'d_loss': 6, 'g_loss': 3}", _lengths,
                      lambda n: n == {"d_loss": 6, "g_loss": 3})
        visible_check(PART, "steps=3, k=2: the history's values",
                      "finite Python floats (loss.item())",
                      _value_kinds,
                      lambda kinds: kinds == ["float"])
        visible_check(PART, "steps=2, k=3: the optimizer steps, in order",
                      "(3 D steps, then 1 G step) twice",
                      lambda: [e for e in _run_tiny(steps=2, k=3)[1] if e in ("D.step", "G.step")],
                      lambda order: order == (["D.step"] * 3 + ["G.step"]) * 2)
        visible_check(PART, "steps=3, k=2, batch_size=8: the sampler calls (count, sizes)",
                      "{'real': (6, [8]), 'noise': (9, [8])}: a fresh batch for every step",
                      _sampler_calls,
                      lambda calls: calls == {"real": (6, [8]), "noise": (9, [8])})
        visible_check(PART, "steps=3: the generator_loss argument is used",
                      "called 3 times, on logits that carry G's graph", _loss_calls,
                      lambda calls: calls == [True] * 3)
        visible_check(PART, "steps=3, k=2: do G's and D's parameters change?",
                      "(True, True)", lambda: _run_tiny()[2],
                      lambda changed: changed == (True, True))
        """),

    test("test_train_gan_visible", 1, hidden(VISIBLE, PREAMBLE, """
        generator, discriminator, g_opt, d_opt, sample_real, sample_noise, _ = _tiny()
        with _isolated():
            train_gan(generator, discriminator, g_opt, d_opt, sample_real, sample_noise, steps=1)
        """)),
    _hidden_test("test_optimizer_steps", 2, """
        # Hidden tests: d_optimizer steps k * steps times and g_optimizer steps times,
        # in the order (k D steps, then one G step) per iteration.
        """, STEP_COUNTS),
    _hidden_test("test_fresh_batches", 2, """
        # Hidden tests: sample_noise is called k * steps + steps times and sample_real
        # k * steps times, always with batch_size.
        """, SAMPLER_CALLS),
    _hidden_test("test_generator_loss_is_used", 2, """
        # Hidden tests: the generator_loss argument is what the generator step minimises.
        """, GENERATOR_LOSS),
    _hidden_test("test_history", 1, """
        # Hidden tests: the history holds steps * k and steps Python floats, the losses of
        # the steps.
        """, REFERENCE, HISTORY),
    _hidden_test("test_discriminator_updates", 2, """
        # Hidden tests: with the generator frozen, D's parameters after a few steps equal those of a
        # reference loop (fresh batches, gradients of J^(D) only, k steps per iteration).
        """, REFERENCE, D_TRAJECTORY),
    _hidden_test("test_generator_updates", 2, """
        # Hidden tests: with the discriminator frozen, G's parameters after a few steps
        # (minimax loss) equal those of a reference loop (one step per iteration, gradients of
        # J^(G) only).
        """, REFERENCE, G_TRAJECTORY),
    _hidden_test("test_training_trajectory", 3, """
        # Hidden tests: both players learning, G's and D's parameters after a few steps equal
        # those of a reference loop, for k = 1 and k = 2.
        """, REFERENCE, FULL_TRAJECTORY),
    markdown("ring8-md", r"""
        ## Train it: eight Gaussians on a ring

        Your loop, a small MLP generator and discriminator, and `ring8` (8 Gaussians on a circle,
        $\sigma = 0.02$). The plot shows the fakes over the real data, with the discriminator's
        $D(x)$ behind them. (In quick mode, as when graded, this runs only a few steps.)

        Which modes does the generator find, and does it keep them? The next section compares
        the two generator costs and two values of $k$.
        """),
    locked("train-ring8", """
        latent_dim = 8
        gen = seed_everything(0)
        G = MLPGenerator(latent_dim, (2,), hidden=(128, 128)).to(device)
        D = MLPDiscriminator((2,), hidden=(128, 128)).to(device)
        g_opt = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999))
        d_opt = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999))


        def sample_ring(m):
            return sample_2d("ring8", m, generator=gen).to(device)  # (m, 2)


        def sample_z(m):
            return torch.randn(m, latent_dim, generator=gen).to(device)  # (m, latent_dim)


        history = train_gan(G, D, g_opt, d_opt, sample_ring, sample_z, steps=pick(3000, 150), k=1,
                            batch_size=256)
        with torch.no_grad():
            fakes = G(sample_z(1000)).cpu()
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
        plot_losses(history, ax=axes[0])
        plot_2d(fakes, real=sample_2d("ring8", 1000, seed=1), discriminator=D, ax=axes[1],
                centers=mode_centers("ring8")[0], lim=3, title="ring8: fakes, real data and D(x)")
        plt.show()
        """),
    markdown("compare-md", r"""
        ## Minimax against non-saturating, k = 1 against k = 5

        **Before you run the next cell**, read Question 1 below it and write down your prediction
        for its part (a).

        The cell trains four GANs on `ring8` with your loop, all from the same seed and the same
        networks as above: the non-saturating and the minimax cost, each with $k = 1$ and
        $k = 5$. Every tenth of the run it counts the modes the generator covers (a mode counts
        when a high-quality sample, within $3\sigma$ of its center, is nearest to it) and the
        fraction of high-quality samples, for one fixed batch of 2000 noise vectors. The run takes
        a few minutes on a laptop CPU (seconds on a GPU; in quick mode, as when graded, a few
        steps only).
        """),
    locked("compare-ring8", """
        from eep596gan.metrics import mode_coverage


        def ring8_run(generator_loss, k, steps, chunks=10, seed=0, latent_dim=8):
            \"\"\"Train on ring8 with train_gan in `chunks` pieces; the coverage after each.\"\"\"
            gen = seed_everything(seed)
            G = MLPGenerator(latent_dim, (2,), hidden=(128, 128)).to(device)
            D = MLPDiscriminator((2,), hidden=(128, 128)).to(device)
            g_opt = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999))
            d_opt = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999))
            probe = torch.randn(2000, latent_dim, generator=torch.Generator().manual_seed(1))
            run = {"step": [], "modes": [], "quality": [], "d_loss": [], "g_loss": []}
            for chunk in range(chunks):
                history = train_gan(G, D, g_opt, d_opt,
                                    lambda m: sample_2d("ring8", m, generator=gen).to(device),
                                    lambda m: torch.randn(m, latent_dim, generator=gen).to(device),
                                    steps=steps // chunks, k=k, batch_size=256,
                                    generator_loss=generator_loss)
                run["d_loss"] += history["d_loss"]
                run["g_loss"] += history["g_loss"]
                with torch.no_grad():
                    coverage = mode_coverage(G(probe.to(device)).cpu(), "ring8")
                run["step"].append((chunk + 1) * (steps // chunks))
                run["modes"].append(coverage["modes_captured"])
                run["quality"].append(coverage["high_quality_fraction"])
            with torch.no_grad():
                run["fakes"] = G(probe.to(device)).cpu()
            return run


        costs = {"non-saturating": generator_loss_nonsaturating, "minimax": generator_loss_minimax}
        runs = {(name, k): ring8_run(loss, k, steps=pick(2000, 20))
                for name, loss in costs.items() for k in (1, 5)}

        print(f"{'cost':<15} {'k':>2}  {'modes (of 8)':>12}  {'high quality':>12}  "
              f"{'J(D), last 10%':>14}  {'J(G), last 10%':>14}")
        for (name, k), run in runs.items():
            tail_d = run["d_loss"][-max(1, len(run["d_loss"]) // 10):]
            tail_g = run["g_loss"][-max(1, len(run["g_loss"]) // 10):]
            print(f"{name:<15} {k:>2}  {run['modes'][-1]:>12}  {run['quality'][-1]:>12.3f}  "
                  f"{sum(tail_d) / len(tail_d):>14.3f}  {sum(tail_g) / len(tail_g):>14.3f}")

        fig, axes = plt.subplots(1, 6, figsize=(22, 3.8))
        for (name, k), run in runs.items():
            axes[0].plot(run["step"], run["modes"], marker="o", label=f"{name}, k={k}")
            axes[1].plot(run["step"], run["quality"], marker="o", label=f"{name}, k={k}")
        axes[0].set(xlabel="G steps", ylabel="modes covered", ylim=(0, 8.5))
        axes[1].set(xlabel="G steps", ylabel="high-quality fraction", ylim=(0, 1))
        axes[0].legend(fontsize=8)
        for ax, ((name, k), run) in zip(axes[2:], runs.items()):
            plot_2d(run["fakes"], real=sample_2d("ring8", 1000, seed=1), ax=ax,
                    centers=mode_centers("ring8")[0], lim=3, title=f"{name}, k={k}")
        plt.show()
        """),
    markdown("q-ring8", r"""
        **Question 1 (4 points): what your loop found.** Answer from a full run (not quick mode)
        of the cell above, with its numbers.

        * **(a) 1 point.** Your prediction, written before running: with $k = 5$ instead of
          $k = 1$, what happens to $D$ and to the generator's progress, for each cost, and why?
          Then: did the runs bear it out? (A wrong prediction, reasoned and then corrected, earns
          the point.)
        * **(b) 1 point.** Report the table: modes covered and high-quality fraction of the four
          runs, and one thing the curves show that the final numbers do not.
        * **(c) 1 point.** Explain the minimax runs with the generator's gradient (Question 1 of
          `gan_losses`): what do $J^{(D)}$ and $J^{(G)}_\text{minimax}$ near the end say about
          $D(G(z))$, and what does that do to the gradient the generator gets?
        * **(d) 1 point.** Did a non-saturating run cover fewer than 8 modes, or cover them at
          some point and lose them? Against the optimal discriminator, the non-saturating
          generator's expected gradient is that of
          $\mathrm{KL}(p_\text{model}\,\|\,p_\text{data}) - 2\,\mathrm{JSD}(p_\text{data}\,\|\,
          p_\text{model})$ (Arjovsky and Bottou 2017). Use the asymmetry of that KL to explain why
          this cost can drop modes, and connect it to your runs.
        """),
    written("written_ring8_analysis", 4, r"""
        (Numbers differ by machine and library version; the rubric grades the reasoning about
        the student's own table. One full run of the solution on a 2-core CPU printed, as modes
        of 8 and high-quality fraction: non-saturating $k = 1$: 8, 0.498; non-saturating
        $k = 5$: 1, 0.703; minimax $k = 1$: 7, 0.194; minimax $k = 5$: 4, 0.005, with
        $J^{(D)} = 0.024$ and $J^{(G)}_\text{minimax} = -0.017$ over the last 10% of steps.)

        (a) With $k = 5$, $D$ is trained closer to $D^*$ for the current $G$ before each
        generator step, so it separates the fakes better. For the minimax cost that means
        $D(G(z)) \to 0$ and a vanishing generator gradient, so slower progress or a stall; for the
        non-saturating cost the gradient stays strong, but it follows a sharper $D$, which pulls
        the fakes onto whatever modes $D$ rates most real and can collapse them there.

        (b) The four rows of the table with their numbers. The curves show what the end does not:
        e.g. that a run covered all modes early and lost them, or that the high-quality fraction
        rose while the number of modes fell.

        (c) $J^{(G)}_\text{minimax} = \tfrac12\mathbb{E}\log(1 - D(G(z)))$ near 0 means
        $D(G(z)) \approx 0$, and $J^{(D)}$ near 0 means $D$ separates real from fake almost
        perfectly. There $\partial J^{(G)}/\partial\ell = -\tfrac12 D(G(z)) \approx 0$: the
        generator gets almost no gradient, so its samples barely move (few modes, low quality);
        more D steps make it worse.

        (d) $\mathrm{KL}(p_\text{model}\|p_\text{data}) = \int p_\text{model}\log
        (p_\text{model}/p_\text{data})$ is huge where the generator puts mass and the data has
        none (fakes off the ring are punished hard), but nearly free where the data has mass and
        the generator none (a missing mode costs almost nothing): it is mode-seeking. The
        $-2\,\mathrm{JSD}$ term is bounded and does not make up for it. So a generator on a few
        modes with sharp, high-quality samples is a good solution for this cost, and a sharper
        $D$ (larger $k$) pushes towards it. In the runs: the non-saturating $k = 5$ curve (or
        whichever dropped modes) loses modes while its high-quality fraction stays high.
        """, [
        ("a", 1, """A prediction for each cost with a reason (D closer to optimal per G step;
         saturation for minimax, a sharper pull for non-saturating), and an honest comparison with
         the runs. Full credit for a wrong but reasoned prediction that is then corrected; half a
         point for a prediction without a reason or without the comparison."""),
        ("b", 1, """The four runs' modes and high-quality fractions as the table printed them
         (consistent with the student's own output), plus one observation from the curves. Half a
         point for the table without the curves, or numbers not from a full run."""),
        ("c", 1, """From the losses: D(G(z)) near 0 (J^(G) minimax near 0, J^(D) small), and the
         minimax gradient proportional to D(G(z)) hence vanishing. Half a point for the saturation
         argument without reading it off the losses."""),
        ("d", 1, """Reverse KL's asymmetry (fakes off the data punished, missing modes nearly
         free: mode-seeking) and a link to the student's own curves (which run lost modes, or that
         none did in their run, with the reason it still can). Half a point for "mode collapse"
         named without the asymmetry argument."""),
    ]),
    markdown("digits-md", """
        ## Train it: handwritten digits

        The same loop on the 8x8 digits that ship with scikit-learn (1500 training images in
        $[-1, 1]$). Do the samples look like digits? Are all ten classes there?
        """),
    locked("train-digits", """
        x_digits, _ = load_images("digits", device=device)  # (1500, 1, 8, 8) in [-1, 1]
        latent_dim = 32
        seed_everything(0)
        G = MLPGenerator(latent_dim, (1, 8, 8), hidden=(256, 256)).to(device)
        D = MLPDiscriminator((1, 8, 8), hidden=(256, 256)).to(device)
        g_opt = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        d_opt = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        history = train_gan(G, D, g_opt, d_opt, TensorSampler(x_digits),
                            lambda m: torch.randn(m, latent_dim, device=device),
                            steps=pick(5000, 100), k=1, batch_size=64)
        with torch.no_grad():
            samples = G(torch.randn(64, latent_dim, device=device)).cpu()  # (64, 1, 8, 8)
        fig, axes = plt.subplots(1, 3, figsize=(14, 4.5))
        plot_losses(history, ax=axes[0])
        image_grid(samples, ax=axes[1], title="generated")
        image_grid(x_digits[:64].cpu(), ax=axes[2], title="real")
        plt.show()
        """),
    markdown("visible-summary-md", """
        ## Your visible checks

        The table counts the visible checks (not graded) that passed, and says how many points
        the graded test cells decide: mostly hidden tests, which run when your notebook is graded.
        """),
    "VISIBLE_SUMMARY",
    before_you_submit("gan_training", "the visible test and the visible checks should pass "
                      "(see the table above), the trainings should run, and the numbers in your "
                      "answer to Question 1 should be those of this run"),
]
CELLS[CELLS.index("VISIBLE_SUMMARY")] = visible_summary(CELLS)
