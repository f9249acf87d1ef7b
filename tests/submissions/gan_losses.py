"""Submissions of gan_losses: correct answers in other styles, and one planted mistake each.

A variant lists the answer cells it replaces; the others keep the solution's code.
"""

import textwrap

D, G, OPT = "answer_discriminator_loss", "answer_generator_losses", "answer_optimal_discriminator"

VISIBLE, OPT_VISIBLE = "test_losses_visible", "test_optimal_discriminator_visible"
D_VALUES, G_VALUES = "test_discriminator_loss_values", "test_generator_loss_values"
BATCH, EXTREME = "test_losses_average_over_the_batch", "test_losses_at_extreme_logits"
GRADS = "test_loss_gradients"
SATURATION = "test_minimax_saturates_nonsaturating_does_not"
DIRECTIONS = "test_costs_point_the_right_way"
LOGITS = "test_discriminator_loss_takes_logits"
OPT_VALUES = "test_optimal_discriminator_values"
OPT_BROADCAST = "test_optimal_discriminator_broadcasts"
OPT_ZERO = "test_optimal_discriminator_zero_over_zero"
OPT_INT = "test_optimal_discriminator_integer_inputs"


def _losses(d_body: str, mm_body: str, ns_body: str, prelude: str = "") -> dict[str, str]:
    """Answer cells for the three losses from the body of each function (one expression or more)."""
    def fn(signature: str, body: str) -> str:
        return f"def {signature}:\n" + textwrap.indent(textwrap.dedent(body).strip() + "\n", "    ")

    return {
        D: prelude + fn("discriminator_loss(real_logits, fake_logits)", d_body),
        G: prelude + fn("generator_loss_minimax(fake_logits)", mm_body) + "\n\n"
        + fn("generator_loss_nonsaturating(fake_logits)", ns_body),
    }


def _optimal(body: str) -> dict[str, str]:
    return {OPT: "def optimal_discriminator(p_data, p_model):\n"
            + textwrap.indent(textwrap.dedent(body).strip() + "\n", "    ")}


_SOFTPLUS = ("return 0.5 * F.softplus(-real_logits).mean() + 0.5 * F.softplus(fake_logits).mean()",
             "return -0.5 * F.softplus(fake_logits).mean()",
             "return 0.5 * F.softplus(-fake_logits).mean()")

# ------------------------------------------------------------------ correct, in other styles
BCE = _losses(
    """
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return 0.5 * (real + fake)
    """,
    "return -0.5 * F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))",
    "return 0.5 * F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))",
)

LOGSIGMOID = _losses(
    "return -0.5 * F.logsigmoid(real_logits).mean() - 0.5 * F.logsigmoid(-fake_logits).mean()",
    "return 0.5 * F.logsigmoid(-fake_logits).mean()",  # log(1 - sigmoid(l)) = logsigmoid(-l)
    "return -0.5 * F.logsigmoid(fake_logits).mean()",
)

MANUAL_STABLE = _losses(
    """
    def nll(logits, label):  # -log p(label) for a Bernoulli with these logits, stable for any logit
        return torch.clamp(logits, min=0) - logits * label + torch.log1p(torch.exp(-logits.abs()))
    return 0.5 * nll(real_logits, 1.0).mean() + 0.5 * nll(fake_logits, 0.0).mean()
    """,
    "return -0.5 * (torch.clamp(fake_logits, min=0)"
    " + torch.log1p(torch.exp(-fake_logits.abs()))).mean()",
    "return 0.5 * (torch.clamp(-fake_logits, min=0)"
    " + torch.log1p(torch.exp(-fake_logits.abs()))).mean()",
)

_NOISY = """
import sys
import warnings


def _chatter(name):
    print(f"{name} called")
    print(f"{name}: debugging output", file=sys.stderr)
    warnings.warn(f"{name} is a student's warning")


"""
NOISY = _losses(
    "_chatter('discriminator_loss')\n" + _SOFTPLUS[0],
    "_chatter('generator_loss_minimax')\n" + _SOFTPLUS[1],
    "_chatter('generator_loss_nonsaturating')\n" + _SOFTPLUS[2],
    prelude=_NOISY,
) | _optimal("""
_chatter('optimal_discriminator')
p_data = torch.as_tensor(p_data, dtype=torch.float64)
p_model = torch.as_tensor(p_model, dtype=torch.float64)
return torch.nan_to_num(p_data / (p_data + p_model), nan=0.5)
""")
NOISY[OPT] = _NOISY + NOISY[OPT]

NAN_TO_NUM = _optimal("""
p_data, p_model = torch.as_tensor(p_data), torch.as_tensor(p_model)
if not (p_data.is_floating_point() or p_model.is_floating_point()):
    p_data = p_data.double()
return torch.nan_to_num(p_data / (p_data + p_model), nan=0.5)
""")

# ------------------------------------------------------------------ one mistake each
SUM_NOT_MEAN = _losses(
    "return 0.5 * F.softplus(-real_logits).sum() + 0.5 * F.softplus(fake_logits).sum()",
    "return -0.5 * F.softplus(fake_logits).sum()",
    "return 0.5 * F.softplus(-fake_logits).sum()",
)

LOG_SIGMOID = _losses(
    "return -0.5 * torch.log(torch.sigmoid(real_logits)).mean()"
    " - 0.5 * torch.log(1 - torch.sigmoid(fake_logits)).mean()",
    "return 0.5 * torch.log(1 - torch.sigmoid(fake_logits)).mean()",
    "return -0.5 * torch.log(torch.sigmoid(fake_logits)).mean()",
)

CLAMPED = _losses(
    """
    d_real = torch.sigmoid(real_logits).clamp(1e-7, 1 - 1e-7)
    d_fake = torch.sigmoid(fake_logits).clamp(1e-7, 1 - 1e-7)
    return -0.5 * torch.log(d_real).mean() - 0.5 * torch.log(1 - d_fake).mean()
    """,
    "return 0.5 * torch.log(1 - torch.sigmoid(fake_logits).clamp(1e-7, 1 - 1e-7)).mean()",
    "return -0.5 * torch.log(torch.sigmoid(fake_logits).clamp(1e-7, 1 - 1e-7)).mean()",
)

# the common near-miss: log(sigmoid(x) + 1e-8) is right to ~1e-7 at moderate logits (it passes the
# value tests, which ask for float32 accuracy) but flattens at -log(1e-8) for large |x|: it loses
# the extreme-logit test only, one cost at a time
EPS_DISCRIMINATOR = {D: _losses(
    "return -0.5 * torch.log(torch.sigmoid(real_logits) + 1e-8).mean()"
    " - 0.5 * torch.log(1 - torch.sigmoid(fake_logits) + 1e-8).mean()", "", "")[D]}

EPS_MINIMAX = {G: _losses(
    "", "return 0.5 * torch.log(1 - torch.sigmoid(fake_logits) + 1e-8).mean()", _SOFTPLUS[2])[G]}

EPS_NONSATURATING = {G: _losses(
    "", _SOFTPLUS[1], "return -0.5 * torch.log(torch.sigmoid(fake_logits) + 1e-8).mean()")[G]}

SWAPPED = _losses(_SOFTPLUS[0], _SOFTPLUS[2], _SOFTPLUS[1])

SIGN_SLIP = _losses(_SOFTPLUS[0], "return 0.5 * F.softplus(fake_logits).mean()", _SOFTPLUS[2])

FORGOT_HALF = _losses(
    "return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()",
    "return -F.softplus(fake_logits).mean()",
    "return F.softplus(-fake_logits).mean()",
)

LABELS_SWAPPED = {D: _losses(
    "return 0.5 * F.softplus(real_logits).mean() + 0.5 * F.softplus(-fake_logits).mean()",
    "", "")[D]}

# sigmoid applied, then the probabilities treated as logits again
DOUBLE_SIGMOID = {D: _losses(
    """
    d_real, d_fake = torch.sigmoid(real_logits), torch.sigmoid(fake_logits)
    real = F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
    fake = F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
    return 0.5 * (real + fake)
    """, "", "")[D]}

PER_SAMPLE = {G: _losses("", "return -0.5 * F.softplus(fake_logits).flatten()",
                         "return 0.5 * F.softplus(-fake_logits).flatten()")[G]}

DETACHED = _losses(
    "return (0.5 * F.softplus(-real_logits).mean()"
    " + 0.5 * F.softplus(fake_logits).mean()).detach()",
    "return (-0.5 * F.softplus(fake_logits).mean()).detach()",
    "return (0.5 * F.softplus(-fake_logits).mean()).detach()",
)

# correct: the text asks for "a floating-point result", and float32 is one
OPT_FLOAT32 = _optimal("""
p_data = torch.as_tensor(p_data, dtype=torch.float32)
p_model = torch.as_tensor(p_model, dtype=torch.float32)
total = p_data + p_model
return torch.where(total == 0, torch.full_like(total, 0.5),
                   p_data / torch.where(total == 0, torch.ones_like(total), total))
""")

OPT_NAN = _optimal("""
p_data = torch.as_tensor(p_data, dtype=torch.float64)
p_model = torch.as_tensor(p_model, dtype=torch.float64)
return p_data / (p_data + p_model)
""")

# right values, but numpy divides 0 by 0 on the way and warns (RuntimeWarning)
OPT_NUMPY_WARNS = _optimal("""
import numpy as np
p, q = np.asarray(p_data, dtype=float), np.asarray(p_model, dtype=float)
ratio = p / (p + q)
return torch.as_tensor(np.where(np.isnan(ratio), 0.5, ratio))
""")

OPT_SAME_SHAPE = _optimal("""
# torch.stack needs equal shapes
both = torch.stack([torch.as_tensor(p_data), torch.as_tensor(p_model)]).double()
total = both.sum(0)
ratio = both[0] / torch.where(total == 0, 1.0, total)
return torch.where(total == 0, torch.full_like(total, 0.5), ratio)
""")

OPT_INT_TRUNCATED = _optimal("""
p_data, p_model = torch.as_tensor(p_data), torch.as_tensor(p_model)
total = p_data + p_model
out = torch.full_like(total, 0.5)  # the dtype of the inputs: integers truncate 0.5 and every ratio
known = total > 0
out[known] = (p_data / torch.where(known, total, torch.ones_like(total)))[known]
return out
""")

DELEGATES = {
    D: "from eep596gan.losses import discriminator_loss\n",
    G: "from eep596gan.losses import generator_loss_minimax, generator_loss_nonsaturating\n",
    OPT: "import eep596gan.losses as lib\n\n\ndef optimal_discriminator(p_data, p_model):\n"
         "    return lib.optimal_discriminator(p_data, p_model)\n",
}

VARIANTS = {
    "solution": ({}, "full marks"),
    "release": (None, "zero"),
    "bce_with_logits": (BCE, "full marks"),
    "logsigmoid": (LOGSIGMOID, "full marks"),
    "manual_stable": (MANUAL_STABLE, "full marks"),
    "prints_and_warns": (NOISY, "full marks"),
    "optimal_nan_to_num": (NAN_TO_NUM, "full marks"),
    "optimal_float32": (OPT_FLOAT32, "full marks"),
    "sum_not_mean": (SUM_NOT_MEAN, frozenset({BATCH})),
    "log_of_sigmoid": (LOG_SIGMOID, frozenset({EXTREME})),
    "clamped_probabilities": (CLAMPED, frozenset({EXTREME})),
    "discriminator_log_sigmoid_plus_eps": (EPS_DISCRIMINATOR, frozenset({EXTREME})),
    "minimax_log_sigmoid_plus_eps": (EPS_MINIMAX, frozenset({EXTREME})),
    "nonsaturating_log_sigmoid_plus_eps": (EPS_NONSATURATING, frozenset({EXTREME})),
    "generator_losses_swapped": (SWAPPED, frozenset({VISIBLE, G_VALUES, SATURATION})),
    "slide_sign_slip": (SIGN_SLIP, frozenset({VISIBLE, G_VALUES, DIRECTIONS})),
    "forgot_the_half": (FORGOT_HALF, frozenset({VISIBLE, D_VALUES, G_VALUES})),
    "labels_swapped": (LABELS_SWAPPED, frozenset({D_VALUES, DIRECTIONS, LOGITS})),
    "sigmoid_twice": (DOUBLE_SIGMOID, frozenset({VISIBLE, D_VALUES, EXTREME, LOGITS})),
    "per_sample_generator_losses": (PER_SAMPLE, frozenset({VISIBLE, BATCH})),
    "detached": (DETACHED, frozenset({VISIBLE, GRADS})),
    "optimal_nan_at_zero": (OPT_NAN, frozenset({OPT_ZERO})),
    "optimal_warns_at_zero": (OPT_NUMPY_WARNS, frozenset({OPT_ZERO})),
    "optimal_no_broadcasting": (OPT_SAME_SHAPE, frozenset({OPT_BROADCAST})),
    "optimal_integer_truncation": (OPT_INT_TRUNCATED, frozenset({OPT_INT})),
    "delegates_to_library": (DELEGATES, "zero"),
}
