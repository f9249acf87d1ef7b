"""Submissions of likelihood_models: correct answers in other styles, and one planted mistake each.

A variant lists the answer cells it replaces; the others keep the solution's code.
"""

import textwrap

MIX = "answer_gaussian_mixture_log_likelihood"
AR = "answer_autoregressive_log_likelihood"
MADE = "answer_made_masks"
REPARAM = "answer_reparameterize"
KL = "answer_gaussian_kl"
ELBO = "answer_negative_elbo"

MIX_VALUES = "test_mixture_values"
MIX_FAR = "test_mixture_far_from_the_modes"
MIX_WEIGHTS = "test_mixture_weights_are_softmax_of_the_logits"
MIX_MEAN = "test_mixture_mean_over_the_samples"
MIX_GRADS = "test_mixture_gradients"
AR_VALUES = "test_autoregressive_values"
AR_SUMS = "test_autoregressive_sums_every_pixel_per_image"
AR_EXTREME = "test_autoregressive_extreme_logits"
MADE_SHAPES = "test_made_masks_shapes"
MADE_AUTOREGRESSIVE = "test_made_masks_are_autoregressive"
MADE_CONNECTED = "test_made_masks_connect_every_earlier_input"
REPARAM_VALUES = "test_reparameterize_values"
REPARAM_GRADS = "test_reparameterize_gradients"
KL_VALUES = "test_gaussian_kl_values"
KL_PER_EXAMPLE = "test_gaussian_kl_per_example"
ELBO_RECON = "test_negative_elbo_reconstruction"
ELBO_LOGITS = "test_negative_elbo_takes_logits"
ELBO_KL = "test_negative_elbo_adds_the_kl"


def _fn(signature: str, body: str, prelude: str = "") -> str:
    """An answer cell defining one function from its body."""
    return (textwrap.dedent(prelude).lstrip() + f"def {signature}:\n"
            + textwrap.indent(textwrap.dedent(body).strip() + "\n", "    "))


def _mix(body, prelude=""):
    return {MIX: _fn("gaussian_mixture_log_likelihood(x, logits, means, log_stds)", body,
                     prelude)}


def _ar(body, prelude=""):
    return {AR: _fn("autoregressive_log_likelihood(logits, x)", body, prelude)}


def _made(body, prelude=""):
    return {MADE: _fn("made_masks(n_in, hidden, order)", body, prelude)}


def _reparam(body):
    return {REPARAM: _fn("reparameterize(mu, log_var, eps)", body)}


def _kl(body):
    return {KL: _fn("gaussian_kl(mu, log_var)", body)}


def _elbo(body, prelude=""):
    return {ELBO: _fn("negative_elbo(x_logits, x, mu, log_var)", body, prelude)}


# ------------------------------------------------------------------ correct, in other styles
# torch.distributions throughout (the noise is given, so no rsample)
DISTRIBUTIONS = (
    _mix("""
    from torch.distributions import Categorical, MixtureSameFamily, Normal
    mixture = MixtureSameFamily(Categorical(logits=logits), Normal(means, log_stds.exp()))
    return mixture.log_prob(x).mean()
    """)
    | _ar("""
    from torch.distributions import Bernoulli
    return Bernoulli(logits=logits).log_prob(x).reshape(x.shape[0], -1).sum(-1)
    """)
    | _reparam("return torch.addcmul(mu, (0.5 * log_var).exp(), eps)")
    | _kl("""
    from torch.distributions import Normal, kl_divergence
    q = Normal(mu, torch.exp(0.5 * log_var))
    return kl_divergence(q, Normal(0.0, 1.0)).sum(-1)
    """)
    | _elbo("""
    from torch.distributions import Bernoulli
    log_px = Bernoulli(logits=x_logits).log_prob(x).reshape(len(x), -1).sum(1)
    return (-log_px + gaussian_kl(mu, log_var)).mean()
    """)
)

# hand-written log-sum-exp (shift by the max), log-sigmoid through softplus, numbers as floats
HAND_WRITTEN = (
    _mix("""
    log_w = logits - logits.max()
    log_w = log_w - torch.log(torch.exp(log_w).sum())  # log softmax, by hand
    var = torch.exp(2 * log_stds)
    c = log_w - 0.5 * (x.reshape(-1, 1) - means) ** 2 / var - 0.5 * torch.log(2 * math.pi * var)
    top = c.max(dim=1, keepdim=True).values  # (m, 1): the shift
    log_p = top.squeeze(1) + torch.log(torch.exp(c - top).sum(dim=1))
    return log_p.sum() / x.numel()
    """)
    | _ar("""
    log_p1, log_p0 = F.logsigmoid(logits), F.logsigmoid(-logits)
    per_pixel = x * log_p1 + (1 - x) * log_p0
    return per_pixel.view(per_pixel.shape[0], -1).sum(dim=1)
    """)
    | _reparam("""
    std = torch.sqrt(torch.exp(log_var))
    return mu + std * eps
    """)
    | _kl("""
    var = torch.exp(log_var)
    return 0.5 * torch.sum(mu * mu + var - log_var - 1.0, dim=-1)
    """)
    | _elbo("""
    # -log p(x | z) per pixel: softplus(-l) where x = 1, softplus(l) where x = 0
    nll = x * F.softplus(-x_logits) + (1 - x) * F.softplus(x_logits)
    kl = -0.5 * torch.sum(1 + log_var - mu ** 2 - log_var.exp(), dim=1)
    return torch.mean(nll.reshape(nll.shape[0], -1).sum(dim=1) + kl)
    """)
)

# Germain et al.'s random degrees (a fixed generator), float masks, the order as a tensor
RANDOM_DEGREES = _made("""
gen = torch.Generator().manual_seed(0)
order = torch.as_tensor(order).long()
degrees = [torch.empty(n_in, dtype=torch.long)]
degrees[0][order] = torch.arange(1, n_in + 1)
for width in hidden:
    low = int(degrees[-1].min()) if len(degrees) > 1 else 1
    high = max(n_in - 1, low)
    degrees.append(torch.randint(low, high + 1, (width,), generator=gen))
masks = []
for d_in, d_out in zip(degrees[:-1], degrees[1:]):
    masks.append((d_out.unsqueeze(1) >= d_in.unsqueeze(0)).float())
masks.append((degrees[0].unsqueeze(1) > degrees[-1].unsqueeze(0)).float())
return masks
""")

# the degrees by loops, masks as nested lists turned into int tensors
_LOOPS = """
rank = {int(i): k + 1 for k, i in enumerate(order)}
degrees = [[rank[i] for i in range(n_in)]]
for width in hidden:
    degrees.append([1 + (j * max(n_in - 1, 1)) // width for j in range(width)])
masks = []
for prev, nxt in zip(degrees, degrees[1:]):
    masks.append(torch.tensor([[int(b >= a) for a in prev] for b in nxt]))
masks.append(torch.tensor([[int(rank[i] > a) for a in degrees[-1]] for i in range(n_in)]))
return masks
"""
LOOPS = _made(_LOOPS)

# everything computed in float64 and returned in float64, whatever the input
FLOAT64 = (
    _mix("""
    x, logits, means, log_stds = (t.double() for t in (x, logits, means, log_stds))
    comp = torch.distributions.Normal(means, log_stds.exp()).log_prob(x[:, None])
    return torch.logsumexp(comp + torch.log_softmax(logits, 0), 1).mean()
    """)
    | _ar("return -F.binary_cross_entropy_with_logits(logits.double(), x.double(), "
          "reduction='none').flatten(1).sum(1)")
    | _kl("return 0.5 * (mu.double() ** 2 + log_var.double().exp() - 1 - log_var.double())"
          ".sum(1)")
)

_NOISY = '''
import sys
import warnings


def _chatter(name):
    print(f"{name} called")
    print(f"{name}: debugging output", file=sys.stderr)
    warnings.warn(f"{name} is a student's warning")


'''

NOISY = {
    MIX: _mix("""
    _chatter("gaussian_mixture_log_likelihood")
    z = (x[:, None] - means) / log_stds.exp()
    comp = -0.5 * z ** 2 - log_stds - 0.5 * math.log(2 * math.pi)
    return torch.logsumexp(comp + logits.log_softmax(0), 1).mean()
    """, _NOISY)[MIX],
    AR: _ar("""
    _chatter("autoregressive_log_likelihood")
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
    """, _NOISY)[AR],
    MADE: _made("_chatter('made_masks')\n" + _LOOPS, _NOISY)[MADE],
    KL: _NOISY + _kl("""
    _chatter("gaussian_kl")
    return 0.5 * (mu ** 2 + log_var.exp() - 1 - log_var).sum(1)
    """)[KL],
    ELBO: _elbo("""
    _chatter("negative_elbo")
    recon = F.binary_cross_entropy_with_logits(x_logits, x, reduction="none").flatten(1).sum(1)
    return (recon + gaussian_kl(mu, log_var)).mean()
    """, _NOISY)[ELBO],
}

# ------------------------------------------------------------------ one mistake each
# Part 1
LOG_SUM_EXP_NAIVE = _mix("""
z = (x[:, None] - means) / log_stds.exp()
density = torch.exp(-0.5 * z ** 2) / (log_stds.exp() * math.sqrt(2 * math.pi))  # (m, K)
return torch.log((torch.softmax(logits, 0) * density).sum(1)).mean()
""")

UNNORMALISED_WEIGHTS = _mix("""
z = (x[:, None] - means) / log_stds.exp()
comp = -0.5 * z ** 2 - log_stds - 0.5 * math.log(2 * math.pi)
return torch.logsumexp(comp + logits, 1).mean()  # exp(logits) as the weights
""")

SUM_OVER_SAMPLES = _mix("""
z = (x[:, None] - means) / log_stds.exp()
comp = -0.5 * z ** 2 - log_stds - 0.5 * math.log(2 * math.pi)
return torch.logsumexp(comp + logits.log_softmax(0), 1).sum()
""")

MIX_DETACHED = _mix("""
z = (x[:, None] - means) / log_stds.exp()
comp = -0.5 * z ** 2 - log_stds - 0.5 * math.log(2 * math.pi)
value = torch.logsumexp(comp + logits.log_softmax(0), 1).mean().item()
return torch.tensor(value, dtype=x.dtype)
""")

# Part 2a
AR_MEAN_OVER_PIXELS = _ar(
    "return -F.binary_cross_entropy_with_logits(logits, x, reduction='none').flatten(1).mean(1)")

AR_FIRST_PIXEL_DROPPED = _ar("""
nll = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1)
return -nll[:, 1:].sum(1)  # prod_{i=2}^n, as on the slide
""")

AR_BCE_ON_LOGITS = _ar(
    "return -F.binary_cross_entropy(logits, x, reduction='none').flatten(1).sum(1)")

AR_SIGMOID_TWICE = _ar("""
p = torch.sigmoid(logits)
return -F.binary_cross_entropy_with_logits(p, x, reduction="none").flatten(1).sum(1)
""")

AR_NLL = _ar(
    "return F.binary_cross_entropy_with_logits(logits, x, reduction='none').flatten(1).sum(1)")

AR_BATCH_MEAN = _ar(
    "return -F.binary_cross_entropy_with_logits(logits, x, reduction='none').flatten(1).sum(1)"
    ".mean()")

AR_LOG_OF_SIGMOID = _ar("""
p = torch.sigmoid(logits)
return (x * torch.log(p) + (1 - x) * torch.log(1 - p)).flatten(1).sum(1)
""")

AR_CLAMPED_PROBABILITIES = _ar("""
p = torch.sigmoid(logits)  # binary_cross_entropy clamps log(p) at -100
return -F.binary_cross_entropy(p, x, reduction="none").flatten(1).sum(1)
""")

# Part 2b
_MADE = """
order = [int(i) for i in order]
degree_in = torch.empty(n_in, dtype=torch.long)
degree_in[order] = torch.arange(1, n_in + 1)
degrees = [degree_in]
for width in hidden:
    degrees.append(torch.arange(width) % max(n_in - 1, 1) + 1)
"""
MADE_SELF_CONNECTION = _made(_MADE + """
masks = [d_out[:, None] >= d_in[None, :] for d_in, d_out in zip(degrees, degrees[1:])]
masks.append(degree_in[:, None] >= degrees[-1][None, :])  # output i sees input i
return masks
""")

MADE_RASTER_ORDER = _made("""
degree_in = torch.arange(1, n_in + 1)  # the order is ignored: raster order
degrees = [degree_in] + [torch.arange(w) % max(n_in - 1, 1) + 1 for w in hidden]
masks = [d_out[:, None] >= d_in[None, :] for d_in, d_out in zip(degrees, degrees[1:])]
masks.append(degree_in[:, None] > degrees[-1][None, :])
return masks
""")

MADE_TRANSPOSED = _made(_MADE + """
masks = [d_in[:, None] <= d_out[None, :] for d_in, d_out in zip(degrees, degrees[1:])]
masks.append(degrees[-1][:, None] < degree_in[None, :])  # (in_features, out_features)
return masks
""")

MADE_STRICT_HIDDEN = _made(_MADE + """
masks = [d_out[:, None] > d_in[None, :] for d_in, d_out in zip(degrees, degrees[1:])]
masks.append(degree_in[:, None] > degrees[-1][None, :])
return masks
""")

# Part 3a
KL_WRONG_SIGN = _kl("return 0.5 * (1 + log_var - mu ** 2 - log_var.exp()).sum(1)")

KL_SUMMED_OVER_BATCH = _kl("return 0.5 * (mu ** 2 + log_var.exp() - 1 - log_var).sum()")

VARIANCE_AS_STD = _reparam("return mu + torch.exp(log_var) * eps")

LOG_VAR_AS_STD = _reparam("return mu + log_var * eps")

EPS_IGNORED = _reparam("return mu + log_var")

STD_WITHOUT_EPS = _reparam("return mu + torch.exp(0.5 * log_var)")

SAMPLE_NOT_RSAMPLE = _reparam(
    "return torch.distributions.Normal(mu, torch.exp(0.5 * log_var)).sample()")

# Part 3b
ELBO_SIGMOID_FIRST = _elbo("""
p = torch.sigmoid(x_logits)
recon = F.binary_cross_entropy_with_logits(p, x, reduction="none").flatten(1).sum(1)
return (recon + gaussian_kl(mu, log_var)).mean()
""")

ELBO_BCE_ON_LOGITS = _elbo("""
recon = F.binary_cross_entropy(x_logits, x, reduction="none").flatten(1).sum(1)
return (recon + gaussian_kl(mu, log_var)).mean()
""")

ELBO_MEAN_OVER_PIXELS = _elbo("""
recon = F.binary_cross_entropy_with_logits(x_logits, x, reduction="none").flatten(1).mean(1)
return (recon + gaussian_kl(mu, log_var)).mean()
""")

ELBO_NO_KL = _elbo("""
recon = F.binary_cross_entropy_with_logits(x_logits, x, reduction="none").flatten(1).sum(1)
return recon.mean()
""")

DELEGATES = {
    MIX: _mix("""
    from eep596gan.models import GaussianMixture
    model = GaussianMixture(len(logits), dtype=x.dtype)
    with torch.no_grad():
        model.logits.copy_(logits)
        model.means.copy_(means[:, None])
        model.log_stds.copy_(log_stds[:, None])
    return model.log_prob(x).mean()
    """)[MIX],
    AR: _ar("""
    from eep596gan.losses import bernoulli_nll
    return -bernoulli_nll(logits, x)
    """)[AR],
    MADE: _made("""
    from eep596gan.models import PixelAR
    net = PixelAR((n_in,), hidden)
    return [layer.mask for layer in net.net if hasattr(layer, "mask")]
    """)[MADE],
    REPARAM: _reparam("""
    from eep596gan.models import VAE
    return VAE.reparameterize(None, mu, log_var)
    """)[REPARAM],
    KL: "from eep596gan.losses import gaussian_kl\n",
    ELBO: _elbo("""
    import eep596gan.losses as lib
    return lib.elbo(lib.bernoulli_nll(x_logits, x), lib.gaussian_kl(mu, log_var)).neg().mean()
    """)[ELBO],
}

VARIANTS = {
    "solution": ({}, "full marks"),
    "release": (None, "zero"),
    "torch_distributions": (DISTRIBUTIONS, "full marks"),
    "hand_written": (HAND_WRITTEN, "full marks"),
    "made_random_degrees": (RANDOM_DEGREES, "full marks"),
    "made_loops": (LOOPS, "full marks"),
    "float64_results": (FLOAT64, "full marks"),
    "prints_and_warns": (NOISY, "full marks"),
    # Part 1
    "mixture_log_of_sum_of_exp": (LOG_SUM_EXP_NAIVE, frozenset({MIX_FAR})),
    "mixture_weights_not_normalised": (UNNORMALISED_WEIGHTS, frozenset({MIX_WEIGHTS})),
    "mixture_sum_over_samples": (SUM_OVER_SAMPLES, frozenset({MIX_MEAN})),
    "mixture_detached": (MIX_DETACHED, frozenset({MIX_GRADS})),
    # Part 2a
    "fvbn_mean_over_pixels": (AR_MEAN_OVER_PIXELS, frozenset({AR_VALUES, AR_SUMS})),
    "fvbn_first_pixel_dropped": (AR_FIRST_PIXEL_DROPPED, frozenset({AR_VALUES, AR_SUMS})),
    "fvbn_bce_on_logits": (AR_BCE_ON_LOGITS, frozenset({AR_VALUES, AR_SUMS, AR_EXTREME})),
    "fvbn_sigmoid_twice": (AR_SIGMOID_TWICE, frozenset({AR_VALUES, AR_SUMS})),
    "fvbn_returns_nll": (AR_NLL, frozenset({AR_VALUES})),
    "fvbn_batch_mean": (AR_BATCH_MEAN, frozenset({AR_VALUES, AR_SUMS})),
    "fvbn_log_of_sigmoid": (AR_LOG_OF_SIGMOID, frozenset({AR_EXTREME})),
    "fvbn_clamped_probabilities": (AR_CLAMPED_PROBABILITIES, frozenset({AR_EXTREME})),
    # Part 2b
    "made_output_sees_its_own_input": (MADE_SELF_CONNECTION, frozenset({MADE_AUTOREGRESSIVE})),
    "made_order_ignored": (MADE_RASTER_ORDER, frozenset({MADE_AUTOREGRESSIVE})),
    "made_masks_transposed": (MADE_TRANSPOSED,
                              frozenset({MADE_SHAPES, MADE_AUTOREGRESSIVE, MADE_CONNECTED})),
    "made_strict_in_hidden_layers": (MADE_STRICT_HIDDEN, frozenset({MADE_CONNECTED})),
    # Part 3a
    "kl_wrong_sign": (KL_WRONG_SIGN, frozenset({KL_VALUES})),
    "kl_summed_over_batch": (KL_SUMMED_OVER_BATCH, frozenset({KL_VALUES, KL_PER_EXAMPLE})),
    "reparameterize_variance_as_std": (VARIANCE_AS_STD, frozenset({REPARAM_VALUES})),
    "reparameterize_log_var_as_std": (LOG_VAR_AS_STD, frozenset({REPARAM_VALUES})),
    "reparameterize_eps_ignored": (EPS_IGNORED, frozenset({REPARAM_VALUES})),
    "reparameterize_std_without_eps": (STD_WITHOUT_EPS, frozenset({REPARAM_VALUES})),
    "reparameterize_sample_cuts_gradient": (SAMPLE_NOT_RSAMPLE,
                                            frozenset({REPARAM_VALUES, REPARAM_GRADS})),
    # Part 3b
    "elbo_sigmoid_before_bce_with_logits": (ELBO_SIGMOID_FIRST,
                                            frozenset({ELBO_RECON, ELBO_LOGITS})),
    "elbo_bce_on_logits": (ELBO_BCE_ON_LOGITS, frozenset({ELBO_RECON, ELBO_LOGITS})),
    "elbo_mean_over_pixels": (ELBO_MEAN_OVER_PIXELS, frozenset({ELBO_RECON})),
    "elbo_without_kl": (ELBO_NO_KL, frozenset({ELBO_KL})),
    "delegates_to_library": (DELEGATES, "zero"),
}
