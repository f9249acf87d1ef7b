"""Submissions of gan_training: correct loops in other styles, and one planted mistake each.

Each variant is the solution's loop with a few lines changed, written out in full so that it
reads like a student's answer.
"""

ANSWER = "answer_train_gan"

VISIBLE, STEPS, BATCHES = "test_train_gan_visible", "test_optimizer_steps", "test_fresh_batches"
GEN_LOSS, HISTORY = "test_generator_loss_is_used", "test_history"
D_UPDATES, G_UPDATES = "test_discriminator_updates", "test_generator_updates"
TRAJECTORY = "test_training_trajectory"

_HEADER = """\
def train_gan(generator, discriminator, g_optimizer, d_optimizer, sample_real, sample_noise, *,
              steps, k=1, batch_size=64, generator_loss=generator_loss_nonsaturating):
"""

# The solution's loop; variants replace one marked piece of it.
_LOOP = """\
    history = {"d_loss": [], "g_loss": []}
    for _ in range(steps):
        for _ in range(k):
            z = sample_noise(batch_size)
            x_real = sample_real(batch_size)
            x_fake = generator(z).detach()
            d_loss = discriminator_loss(discriminator(x_real), discriminator(x_fake))
            d_optimizer.zero_grad()
            d_loss.backward()
            d_optimizer.step()
            history["d_loss"].append(d_loss.item())
        z = sample_noise(batch_size)
        g_loss = generator_loss(discriminator(generator(z)))
        g_optimizer.zero_grad()
        g_loss.backward()
        g_optimizer.step()
        history["g_loss"].append(g_loss.item())
    return history
"""


def _loop(*replacements: tuple[str, str], prelude: str = "") -> dict[str, str]:
    """The solution's loop with each (old, new) piece of source replaced (each must be found)."""
    body = _LOOP
    for old, new in replacements:
        assert old in body, f"variant edit not found: {old!r}"
        body = body.replace(old, new)
    return {ANSWER: prelude + _HEADER + body}


# ------------------------------------------------------------------ correct, in other styles
NO_GRAD = _loop(("x_fake = generator(z).detach()",
                 "with torch.no_grad():\n                x_fake = generator(z)"))

REAL_FIRST = _loop(("z = sample_noise(batch_size)\n            x_real = sample_real(batch_size)",
                    "x_real = sample_real(batch_size)\n            z = sample_noise(batch_size)"))

EXTRA_KEYS = _loop(
    ('history = {"d_loss": [], "g_loss": []}',
     'history = {"d_loss": [], "g_loss": [], "d_real": [], "steps": 0}'),
    ('history["g_loss"].append(g_loss.item())',
     'history["g_loss"].append(g_loss.item())\n        history["steps"] += 1'),
    ("d_loss = discriminator_loss(discriminator(x_real), discriminator(x_fake))",
     "real_logits = discriminator(x_real)\n"
     "            d_loss = discriminator_loss(real_logits, discriminator(x_fake))\n"
     "            history[\"d_real\"].append(torch.sigmoid(real_logits).mean().item())"),
)

NOISY = _loop(
    ('history["d_loss"].append(d_loss.item())',
     'history["d_loss"].append(d_loss.item())\n'
     '            print(f"D step: {d_loss.item():.4f}")\n'
     '            print("debugging output", file=sys.stderr)\n'
     '            warnings.warn("a student\'s warning")'),
    prelude="import sys\nimport warnings\n\n\n",
)

CONCATENATED = _loop(
    ("d_loss = discriminator_loss(discriminator(x_real), discriminator(x_fake))",
     "logits = discriminator(torch.cat([x_real, x_fake]))  # one forward for both batches\n"
     "            d_loss = discriminator_loss(logits[:batch_size], logits[batch_size:])"),
)

MODULE_ZERO_GRAD = _loop(
    ("d_optimizer.zero_grad()", "discriminator.zero_grad(set_to_none=False)"),
    ("g_optimizer.zero_grad()\n        g_loss.backward()",
     "generator.zero_grad(set_to_none=True)\n"
     "        g_loss.backward(inputs=list(generator.parameters()))"),
)

# correct, with the sampler calls in other orders (the tests replay the batches' roles)
G_NOISE_FIRST = _loop(  # G's noise drawn at the top of the iteration, before the D steps
    ("    for _ in range(steps):\n        for _ in range(k):",
     "    for _ in range(steps):\n        z_g = sample_noise(batch_size)\n"
     "        for _ in range(k):"),
    ("        z = sample_noise(batch_size)\n        g_loss = generator_loss(discriminator("
     "generator(z)))",
     "        g_loss = generator_loss(discriminator(generator(z_g)))"),
)

BATCHES_UP_FRONT = {ANSWER: _HEADER + """\
    history = {"d_loss": [], "g_loss": []}
    for _ in range(steps):
        # all of this iteration's batches at once: k real, k + 1 noise (the last one is G's)
        reals = [sample_real(batch_size) for _ in range(k)]
        noises = [sample_noise(batch_size) for _ in range(k + 1)]
        for x_real, z in zip(reals, noises[:k]):
            d_optimizer.zero_grad()
            with torch.no_grad():
                x_fake = generator(z)
            d_loss = discriminator_loss(discriminator(x_real), discriminator(x_fake))
            d_loss.backward()
            d_optimizer.step()
            history["d_loss"].append(float(d_loss))
        g_optimizer.zero_grad()
        g_loss = generator_loss(discriminator(generator(noises[-1])))
        g_loss.backward()
        g_optimizer.step()
        history["g_loss"].append(float(g_loss))
    return history
"""}

# every batch of the whole run drawn before training, noise first, in one batched forward of G
# per D step group; fakes made before D changes are still G's current fakes (G is fixed)
ALL_DRAWN_FIRST = {ANSWER: _HEADER + """\
    g_noise = [sample_noise(batch_size) for _ in range(steps)]
    d_noise = [[sample_noise(batch_size) for _ in range(k)] for _ in range(steps)]
    d_real = [[sample_real(batch_size) for _ in range(k)] for _ in range(steps)]
    d_losses, g_losses = [], []
    for t in range(steps):
        with torch.no_grad():
            fakes = generator(torch.cat(d_noise[t])).split(batch_size)
        for x_real, x_fake in zip(d_real[t], fakes):
            loss = discriminator_loss(discriminator(x_real), discriminator(x_fake))
            d_optimizer.zero_grad(set_to_none=True)
            loss.backward()
            d_optimizer.step()
            d_losses.append(loss.item())
        loss = generator_loss(discriminator(generator(g_noise[t])))
        g_optimizer.zero_grad()
        loss.backward()
        g_optimizer.step()
        g_losses.append(loss.item())
    return {"d_loss": d_losses, "g_loss": g_losses}
"""}

G_FORWARD_FIRST = _loop(  # G's fakes (with their graph) made first; D(G(z)) after the D steps
    ("    for _ in range(steps):\n        for _ in range(k):",
     "    for _ in range(steps):\n        g_fake = generator(sample_noise(batch_size))\n"
     "        for _ in range(k):"),
    ("        z = sample_noise(batch_size)\n        g_loss = generator_loss(discriminator("
     "generator(z)))",
     "        g_loss = generator_loss(discriminator(g_fake))"),
)

# ------------------------------------------------------------------ one mistake each
NO_ZERO_GRAD = _loop(("            d_optimizer.zero_grad()\n", ""),
                     ("        g_optimizer.zero_grad()\n", ""))

NO_D_ZERO_GRAD = _loop(("            d_optimizer.zero_grad()\n", ""))

# everything zeroed at the top of each D step only: G's .grad still holds the gradient of
# J^(D) (through the undetached fakes) when the generator steps
NOT_DETACHED = _loop(
    ("x_fake = generator(z).detach()", "x_fake = generator(z)"),
    ("d_optimizer.zero_grad()\n            d_loss.backward()",
     "d_loss.backward()"),
    ("            z = sample_noise(batch_size)\n            x_real",
     "            d_optimizer.zero_grad()\n            g_optimizer.zero_grad()\n"
     "            z = sample_noise(batch_size)\n            x_real"),
    ("        g_optimizer.zero_grad()\n        g_loss.backward()", "        g_loss.backward()"),
)

G_STEPPED_K_TIMES = _loop(
    ("""        g_loss = generator_loss(discriminator(generator(z)))
        g_optimizer.zero_grad()
        g_loss.backward()
        g_optimizer.step()""", """        for _ in range(k):
            g_loss = generator_loss(discriminator(generator(z)))
            g_optimizer.zero_grad()
            g_loss.backward()
            g_optimizer.step()"""),
)

REUSED_NOISE = _loop(
    ('history = {"d_loss": [], "g_loss": []}',
     'history = {"d_loss": [], "g_loss": []}\n    z = sample_noise(batch_size)'),
    ("            z = sample_noise(batch_size)\n", ""),
    ("        z = sample_noise(batch_size)\n", ""),
)

G_REUSES_D_NOISE = _loop(("        z = sample_noise(batch_size)\n        g_loss", "        g_loss"))

ONE_REAL_BATCH = _loop(
    ("    for _ in range(steps):\n        for _ in range(k):",
     "    for _ in range(steps):\n        x_real = sample_real(batch_size)\n"
     "        for _ in range(k):"),
    ("            x_real = sample_real(batch_size)\n", ""),
)

HISTORY_TENSORS = _loop(
    ('history["d_loss"].append(d_loss.item())', 'history["d_loss"].append(d_loss.detach())'),
    ('history["g_loss"].append(g_loss.item())', 'history["g_loss"].append(g_loss.detach())'))

IGNORES_GENERATOR_LOSS = _loop(("g_loss = generator_loss(",
                                "g_loss = generator_loss_nonsaturating("))

D_STEPPED_ON_G_LOSS = _loop(
    ("        g_optimizer.zero_grad()\n        g_loss.backward()\n        g_optimizer.step()",
     "        g_optimizer.zero_grad()\n        d_optimizer.zero_grad()\n        g_loss.backward()\n"
     "        g_optimizer.step()\n        d_optimizer.step()"),
)

ONE_D_STEP = _loop(("for _ in range(k):", "for _ in range(1):"))

BATCH_SIZE_IGNORED = _loop(("sample_noise(batch_size)", "sample_noise(64)"),
                           ("sample_real(batch_size)", "sample_real(64)"))

SWAPPED_OPTIMIZERS = _loop(
    ("d_optimizer.zero_grad()\n            d_loss.backward()\n            d_optimizer.step()",
     "g_optimizer.zero_grad()\n            d_loss.backward()\n            g_optimizer.step()"),
    ("g_optimizer.zero_grad()\n        g_loss.backward()\n        g_optimizer.step()",
     "d_optimizer.zero_grad()\n        g_loss.backward()\n        d_optimizer.step()"),
)

DELEGATES = {ANSWER: _HEADER + """\
    from eep596gan.train import d_step, g_step

    history = {"d_loss": [], "g_loss": []}
    for _ in range(steps):
        for _ in range(k):
            z, x_real = sample_noise(batch_size), sample_real(batch_size)
            loss, _, _ = d_step(generator, discriminator, d_optimizer, x_real, z,
                                d_loss_fn=discriminator_loss)
            history["d_loss"].append(loss.item())
        loss, _ = g_step(generator, discriminator, g_optimizer, sample_noise(batch_size),
                         g_loss_fn=generator_loss)
        history["g_loss"].append(loss.item())
    return history
"""}

ALL_HIDDEN = frozenset({STEPS, BATCHES, GEN_LOSS, HISTORY, D_UPDATES, G_UPDATES, TRAJECTORY})

VARIANTS = {
    "solution": ({}, "full marks"),
    "release": (None, "zero"),
    "no_grad_instead_of_detach": (NO_GRAD, "full marks"),
    "real_sampled_first": (REAL_FIRST, "full marks"),
    "extra_history_keys": (EXTRA_KEYS, "full marks"),
    "prints_warns_stderr": (NOISY, "full marks"),
    "concatenated_d_forward": (CONCATENATED, "full marks"),
    "module_zero_grad": (MODULE_ZERO_GRAD, "full marks"),
    "g_noise_drawn_first": (G_NOISE_FIRST, "full marks"),
    "batches_drawn_up_front": (BATCHES_UP_FRONT, "full marks"),
    "all_batches_drawn_first": (ALL_DRAWN_FIRST, "full marks"),
    "g_forward_before_d_steps": (G_FORWARD_FIRST, "full marks"),
    "missing_zero_grad": (NO_ZERO_GRAD, frozenset({D_UPDATES, G_UPDATES, TRAJECTORY})),
    "missing_d_zero_grad": (NO_D_ZERO_GRAD, frozenset({D_UPDATES, TRAJECTORY})),
    "fake_not_detached": (NOT_DETACHED, frozenset({G_UPDATES, TRAJECTORY})),
    "generator_stepped_k_times": (G_STEPPED_K_TIMES, frozenset({STEPS, G_UPDATES, TRAJECTORY})),
    # the updates are right for the batches it used: only the freshness test is aimed at this
    "reuses_noise": (REUSED_NOISE, frozenset({BATCHES})),
    "g_reuses_last_d_noise": (G_REUSES_D_NOISE, frozenset({BATCHES})),
    "one_real_batch_per_iteration": (ONE_REAL_BATCH, frozenset({BATCHES})),
    "history_of_tensors": (HISTORY_TENSORS, frozenset({VISIBLE, HISTORY})),
    "ignores_generator_loss": (IGNORES_GENERATOR_LOSS, frozenset({GEN_LOSS, G_UPDATES})),
    "d_stepped_on_g_loss": (D_STEPPED_ON_G_LOSS, frozenset({STEPS, D_UPDATES, TRAJECTORY})),
    # G's own steps are right (its test freezes D): G_UPDATES passes
    "one_d_step_regardless_of_k": (ONE_D_STEP, frozenset({VISIBLE, STEPS, BATCHES, HISTORY,
                                                          D_UPDATES, TRAJECTORY})),
    "batch_size_ignored": (BATCH_SIZE_IGNORED, frozenset({BATCHES})),
    "optimizers_swapped": (SWAPPED_OPTIMIZERS,
                           frozenset({STEPS, D_UPDATES, G_UPDATES, TRAJECTORY})),
    "delegates_to_library": (DELEGATES, "zero"),
}
