"""Assignment dcgan: the DCGAN's generator, discriminator and weight initialisation (lecture 06).

Students write `Generator(latent_dim)`, `Discriminator()` (nn.Modules for 1x28x28 images, after
Radford et al. 2015) and `init_weights(module)`. The hidden tests judge what the networks do, not
how they are written: shapes for several batch sizes, the range and the final tanh of G's output,
that D returns logits (in a copy with every parameter scaled up, a logit grows, a probability
stays in [0, 1]), where batch norm sits (D is invariant to a constant added to every pixel when
the image itself is batch-normalised; atanh of G's output is standardised when G's output layer
is), and which operations forward runs, read off the autograd graph of its output (a LeakyReLU
node keeps its slope, a convolution whether it is transposed), so nn.Sequential, explicit layers,
F.* calls and in-place activations all look the same. (Not a torch.overrides.TorchFunctionMode:
the grader refuses a graded call made while a mode is on the stack, as tampering.) A short run
of the library's GANTrainer with the student's networks checks that D learns to separate real
digits from G's samples and that G lowers its cost against a frozen D; it adapts to a wrong
output shape (those have their own tests), so that it judges learning alone.

Every hidden block is self-contained (the student's cells run before it and could shadow any
helper) and calls the student's code inside `_isolated()`, which captures output and warnings
and makes the library's networks raise. `_cells.isolated` swaps a function's `__code__`, which
a method that uses `super()` (a closure over `__class__`) refuses; here the classes' `__init__`
and `forward` are replaced with setattr and put back in `finally`.
"""

import textwrap

from ._cells import (
    answer,
    before_you_submit,
    colab_install,
    hidden,
    locked,
    markdown,
    setup,
    test,
    test_helpers,
    visible,
    visible_summary,
    written,
)

# The library's networks: the graded classes may not subclass, alias or call them (the grader
# reads this from the notebook's metadata).
REFERENCE_IMPLEMENTATIONS = ("eep596gan.models.gan:DCGANGenerator",
                             "eep596gan.models.gan:DCGANDiscriminator",
                             "eep596gan.models.gan:MLPGenerator",
                             "eep596gan.models.gan:MLPDiscriminator")

# ------------------------------------------------------------------ shared hidden-test preamble
PREAMBLE = '''
import contextlib
import copy
import io
import math
import warnings

import torch
import torch.nn.functional as F
from torch import nn


@contextlib.contextmanager
def _isolated():
    """Capture the answer's warnings and output; make eep596gan's networks raise.

    The library's classes get an `__init__` and a `forward` that raise (set on the class and put
    back afterwards), so an answer that subclasses, aliases or wraps them fails.
    """
    def _delegated(*args, **kwargs):
        raise AssertionError("this answer uses the networks of eep596gan.models: write "
                             "Generator and Discriminator yourself, with torch.nn layers")

    saved = []
    try:
        import eep596gan.models.gan as lib
        classes = [getattr(lib, name, None) for name in (
            "DCGANGenerator", "DCGANDiscriminator", "MLPGenerator", "MLPDiscriminator")]
    except Exception:  # not importable here: nothing to delegate to
        classes = []
    for cls in classes:
        if not isinstance(cls, type):
            continue
        for name in ("__init__", "forward"):
            if name in vars(cls):
                saved.append((cls, name, vars(cls)[name]))
                setattr(cls, name, _delegated)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \\
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for cls, name, value in reversed(saved):
            setattr(cls, name, value)


def _graph(t):
    """Every node of the autograd graph behind tensor t, once each."""
    seen, nodes, stack = set(), [], [t.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        nodes.append(node)
        stack.extend(child for child, _ in node.next_functions)
    return nodes


def _kind(node):
    return type(node).__name__


_ACTIVATIONS = ("Relu", "LeakyRelu", "Tanh", "Sigmoid", "Elu", "Selu", "Celu", "Gelu", "Silu",
                "Hardtanh", "Hardsigmoid", "Hardswish", "Threshold", "Softplus", "Prelu", "Rrelu",
                "Mish", "LogSigmoid", "Softmax", "LogSoftmax", "Clamp")


def _is_activation(node):
    return _kind(node).startswith(_ACTIVATIONS)


def _ops(t):
    """What the computation behind t did: {"relu": n, "leaky_slopes": [...], "tanh": n,
    "sigmoid": n, "conv": n, "conv_transposed": n, "batch_norm": n, "pooling": [names]}."""
    assert isinstance(t, torch.Tensor) and t.grad_fn is not None, (
        "the network's output carries no autograd graph: do not detach it or compute it under "
        "torch.no_grad() in forward (the trainer needs its gradient)")
    ops = {"relu": 0, "leaky_slopes": [], "tanh": 0, "sigmoid": 0, "conv": 0,
           "conv_transposed": 0, "batch_norm": 0, "pooling": []}
    for node in _graph(t):
        kind = _kind(node)
        if kind.startswith("LeakyRelu"):
            ops["leaky_slopes"].append(float(getattr(node, "_saved_negative_slope", float("nan"))))
        elif kind.startswith(("Relu", "Threshold")):
            ops["relu"] += 1
        elif kind.startswith("Tanh"):
            ops["tanh"] += 1
        elif kind.startswith("Sigmoid"):
            ops["sigmoid"] += 1
        elif "Convolution" in kind or "Conv2D" in kind or "ConvTranspose" in kind:
            transposed = getattr(node, "_saved_transposed", "Transpose" in kind)
            ops["conv_transposed" if transposed else "conv"] += 1
        elif "BatchNorm" in kind:
            ops["batch_norm"] += 1
        elif "Pool" in kind:
            ops["pooling"].append(kind)
    return ops


def _images(m, seed):
    """m digit-like images (m, 1, 28, 28) in [-1, 1]: mostly -1, with bright strokes."""
    gen = torch.Generator().manual_seed(seed)
    x = -torch.ones(m, 1, 28, 28)
    x[:, :, 6:22, 9:19] = 2 * torch.rand(m, 1, 16, 10, generator=gen) - 1
    return x


def _count(net):
    return sum(p.numel() for p in net.parameters())


def _dcgan_init(net):
    """The test's own DCGAN initialisation (not the answer's init_weights); linear layers keep
    PyTorch's, as in the PyTorch DCGAN tutorial."""
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
                module.weight.normal_(0.0, 0.02, generator=_INIT)
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)) and module.affine:
                module.weight.normal_(1.0, 0.02, generator=_INIT)
                module.bias.zero_()


_INIT = torch.Generator().manual_seed(596)
'''

# ------------------------------------------------------------------ hidden test blocks
G_SHAPES = '''
with _isolated():
    torch.manual_seed(0)
    G = Generator(100)
    results = []
    for mode, sizes in (("train", (2, 7, 64)), ("eval", (1, 3))):
        G.train(mode == "train")
        for m in sizes:
            results.append((mode, m, G(torch.randn(m, 100))))
for mode, m, out in results:
    assert isinstance(out, torch.Tensor), (
        f"Generator(100) in {mode} mode on z of shape ({m}, 100) returned "
        f"{type(out).__name__}, expected a tensor")
    assert tuple(out.shape) == (m, 1, 28, 28), (
        f"Generator(100) in {mode} mode on z of shape ({m}, 100) returned shape "
        f"{tuple(out.shape)}, expected ({m}, 1, 28, 28): check each layer's output size, "
        "(size - 1) * stride - 2 * padding + kernel_size for a transposed convolution")
    assert out.dtype == torch.float32 and torch.isfinite(out).all(), (
        f"Generator(100) in {mode} mode: the images must be finite float32, got {out.dtype}")
'''

G_LATENT = '''
with _isolated():
    torch.manual_seed(1)
    outputs = {}
    for latent_dim in (16, 37, 100):
        G = Generator(latent_dim).eval()
        z = torch.randn(5, latent_dim)
        first, last = z.clone(), z.clone()
        first[:, 0] += 2.0
        last[:, -1] += 2.0
        outputs[latent_dim] = [G(z), G(first), G(last), G(torch.randn(5, latent_dim))]
for latent_dim, (out, first, last, other) in outputs.items():
    for what, o in (("z", out), ("z with its first coordinate changed", first),
                    ("z with its last coordinate changed", last)):
        assert isinstance(o, torch.Tensor) and o.dim() == 4 and len(o) == 5, (
            f"Generator({latent_dim}) on {what}, shape (5, {latent_dim}), returned "
            f"{tuple(o.shape) if isinstance(o, torch.Tensor) else type(o).__name__}, expected "
            f"5 images: build the first layer for latent_dim inputs, not a fixed number")
    for what, o in (("a different z", other), ("z with its first coordinate changed", first),
                    ("z with its last coordinate changed", last)):
        assert (o - out).abs().amax(dim=(1, 2, 3)).min() > 1e-6, (
            f"Generator({latent_dim}) in eval mode gives the same image for {what}: every "
            "coordinate of z must reach the image")
'''

G_TANH = '''
with _isolated():
    torch.manual_seed(2)
    G = Generator(100)
    out = G(torch.randn(16, 100))
    big = copy.deepcopy(G)  # every parameter x10: pre-activations grow, a tanh stays in [-1, 1]
    with torch.no_grad():
        for p in big.parameters():
            p.mul_(10.0)
        out_big = big(torch.randn(16, 100))
assert isinstance(out, torch.Tensor) and out.numel() > 0, "Generator must return a tensor"
assert out.min() >= -1 and out.max() <= 1, (
    f"G's images range over [{out.min().item():.3g}, {out.max().item():.3g}]; the data is in "
    "[-1, 1]: end the generator with a tanh")
assert out_big.min() >= -1 and out_big.max() <= 1, (
    f"with every parameter scaled by 10, G's images range over [{out_big.min().item():.3g}, "
    f"{out_big.max().item():.3g}]: only a tanh at the output keeps any weights in [-1, 1]")
assert out_big.min() < -0.9 and out_big.max() > 0.9, (
    f"with every parameter scaled by 10, G's images range over [{out_big.min().item():.3g}, "
    f"{out_big.max().item():.3g}]; a tanh output approaches both -1 and 1 when its inputs grow: "
    "end the generator with a tanh (not a sigmoid, not a clamp)")
flat = out.detach().reshape(-1)
tanhs = [node for node in _graph(out) if _kind(node).startswith("Tanh")
         and getattr(node, "_saved_result", None) is not None
         and node._saved_result.numel() == flat.numel()
         and torch.equal(node._saved_result.detach().reshape(-1), flat)]
assert tanhs, (
    "G's output is not the result of a tanh (torch.tanh, nn.Tanh or F.tanh): make a tanh the "
    "last operation of forward, after the last transposed convolution")
'''

G_BATCHNORM = '''
def _standardised(out):
    """Whether atanh(out) has per-channel batch mean 0 and variance 1 (batch norm before tanh)."""
    pre = torch.atanh(out.detach().double().clamp(-1 + 1e-15, 1 - 1e-15))
    if not torch.isfinite(pre).all():
        return False
    mean = pre.mean(dim=(0, 2, 3))
    var = pre.var(dim=(0, 2, 3), unbiased=False)
    return bool((mean.abs() < 1e-3).all() and ((var - 1).abs() < 1e-2).all())


with _isolated():
    torch.manual_seed(3)
    G = Generator(100)
    z = torch.randn(16, 100)
    plain = G(z)
    scaled_net = copy.deepcopy(G)  # the other layers' weights x3: still standardised?
    with torch.no_grad():
        for p in scaled_net.parameters():
            if p.dim() > 1:
                p.mul_(3.0)
        scaled = scaled_net(z)
        # batch norm: in train mode an image depends on the other samples of its batch
        others = z.clone()
        others[1:] = torch.randn(15, 100)
        alone = G(others)
assert not (_standardised(plain) and _standardised(scaled)), (
    "in train mode, atanh of G's images has batch mean 0 and variance 1 per channel, whatever the "
    "weights: there is a batch norm in G's output layer (right before the tanh). DCGAN leaves it "
    "out there: the output layer is a transposed convolution and a tanh")
gap = (alone[0] - plain[0]).abs().max().item()
assert gap > 1e-6, (
    "in train mode, G's image for a noise vector does not depend on the other noise vectors of "
    "its batch: G has no batch norm. Put one after every layer but the output layer")
'''

G_RELU = '''
with _isolated():
    torch.manual_seed(4)
    out = Generator(100)(torch.randn(8, 100))
ops = _ops(out)
assert ops["relu"] >= 1, (
    "G's forward calls no ReLU (nn.ReLU, F.relu or torch.relu): DCGAN's generator uses ReLU "
    "after every hidden layer")
assert not ops["leaky_slopes"], (
    "G's forward calls a LeakyReLU: DCGAN uses LeakyReLU in the discriminator and ReLU in the "
    "generator")
'''

D_SHAPES = '''
with _isolated():
    torch.manual_seed(5)
    D = Discriminator()
    results = []
    for mode, sizes in (("train", (2, 7, 64)), ("eval", (1, 3))):
        D.train(mode == "train")
        for m in sizes:
            results.append((mode, m, D(_images(m, m))))
for mode, m, out in results:
    assert isinstance(out, torch.Tensor), (
        f"Discriminator() in {mode} mode on images ({m}, 1, 28, 28) returned "
        f"{type(out).__name__}, expected a tensor of logits")
    assert tuple(out.shape) == (m, 1), (
        f"Discriminator() in {mode} mode on images ({m}, 1, 28, 28) returned shape "
        f"{tuple(out.shape)}, expected ({m}, 1): one logit per image, in a column")
    assert out.dtype == torch.float32 and torch.isfinite(out).all(), (
        f"Discriminator() in {mode} mode: the logits must be finite float32, got {out.dtype}")
'''

D_LOGITS = '''
with _isolated():
    torch.manual_seed(6)
    D = Discriminator()
    x = _images(16, 0)
    out = D(x)
    big = copy.deepcopy(D)  # every parameter x10: a logit grows, a probability stays in [0, 1]
    with torch.no_grad():
        for p in big.parameters():
            p.mul_(10.0)
        out_big = big(x)
    x_grad = _images(8, 1).requires_grad_()
    (grad,) = torch.autograd.grad(D(x_grad).sum(), x_grad)
ops = _ops(out)
assert out_big.abs().max() > 2.0, (
    f"with every parameter scaled by 10, D's outputs stay in [{out_big.min().item():.3g}, "
    f"{out_big.max().item():.3g}]: D returns probabilities. Return the logit (no sigmoid at the "
    "end): the losses apply the sigmoid themselves, stably")
assert ops["sigmoid"] == 0, (
    "D's forward calls a sigmoid: return the raw logit, the losses apply the sigmoid")
assert torch.isfinite(grad).all() and grad.abs().max() > 0, (
    "D's logits do not depend on its input (zero gradient): keep the computation in torch")
'''

D_BATCHNORM = '''
def _input_layer_batch_norm(out, x):
    """Whether a batch norm sees a linear function of x (no activation between x and it)."""
    memo = {}

    def reach(node):  # fewest activations on a path from node (included) down to x, None: no path
        if node is None:
            return None
        if node in memo:
            return memo[node]
        if getattr(node, "variable", None) is x:
            found = 0
        else:
            below = [reach(child) for child, _ in node.next_functions]
            below = [r for r in below if r is not None]
            found = min(below) + int(_is_activation(node)) if below else None
        memo[node] = found
        return found

    return any("BatchNorm" in _kind(node)
               and any(reach(child) == 0 for child, _ in node.next_functions)
               for node in _graph(out))


with _isolated():
    torch.manual_seed(7)
    D = Discriminator()
    x = _images(16, 2)
    with torch.no_grad():
        plain, shifted = D(x), D(x + 0.5)  # train mode: a constant added to every pixel
        others = x.clone()
        others[1:] = _images(15, 3)
        alone = D(others)
    x_leaf = x.clone().requires_grad_()
    traced = D(x_leaf)
spread = (plain.max() - plain.min()).item() + plain.abs().max().item()
assert (shifted - plain).abs().max().item() > 1e-4 * spread, (
    "in train mode, D gives the same logits when a constant is added to every pixel: a batch "
    "norm normalises the image itself. DCGAN applies no batch norm to the discriminator's input")
assert not _input_layer_batch_norm(traced, x_leaf), (
    "a batch norm in D sees its input through no activation: there is a batch norm in the input "
    "layer (on the image or right after the first convolution). DCGAN leaves it out there: the "
    "first layer is a strided convolution and a LeakyReLU")
assert (alone[0] - plain[0]).abs().max().item() > 1e-6, (
    "in train mode, D's logit for an image does not depend on the other images of its batch: D "
    "has no batch norm. Put one after every convolution but the first")
'''

D_LEAKY = '''
with _isolated():
    torch.manual_seed(8)
    out = Discriminator()(_images(8, 4))
ops = _ops(out)
assert ops["relu"] == 0, (
    "D's forward calls a plain ReLU: DCGAN's discriminator uses LeakyReLU with slope 0.2, which "
    "keeps a gradient for negative pre-activations")
assert ops["leaky_slopes"], (
    "D's forward calls no LeakyReLU (nn.LeakyReLU(0.2) or F.leaky_relu(x, 0.2))")
assert all(abs(s - 0.2) < 1e-9 for s in ops["leaky_slopes"]), (
    f"D's LeakyReLUs have slopes {sorted(set(ops['leaky_slopes']))}, expected 0.2 "
    "(the default of nn.LeakyReLU is 0.01)")
'''

CONVOLUTIONS = '''
with _isolated():
    torch.manual_seed(9)
    g_ops = _ops(Generator(100)(torch.randn(8, 100)))
    d_ops = _ops(Discriminator()(_images(8, 5)))
assert g_ops["conv_transposed"] >= 2, (
    f"G's forward runs {g_ops['conv_transposed']} transposed convolution(s): a DCGAN generator "
    "upsamples with transposed convolutions (nn.ConvTranspose2d), at least two, not a stack of "
    "linear layers")
assert d_ops["conv"] >= 2, (
    f"D's forward runs {d_ops['conv']} convolution(s): a DCGAN discriminator downsamples with "
    "strided convolutions (nn.Conv2d), at least two, not a stack of linear layers")
'''

POOLING = '''
with _isolated():
    torch.manual_seed(10)
    g_ops = _ops(Generator(100)(torch.randn(8, 100)))
    d_ops = _ops(Discriminator()(_images(8, 6)))
for net, ops in (("G", g_ops), ("D", d_ops)):
    assert not ops["pooling"], (
        f"{net}'s forward pools ({', '.join(sorted(set(ops['pooling'])))}): DCGAN replaces "
        "pooling with strided convolutions (stride 2 halves the size)")
'''

BUDGET = '''
with _isolated():
    torch.manual_seed(11)
    G, D = Generator(100), Discriminator()
    with torch.no_grad():  # (a lazy layer gets its parameters at its first call)
        G.eval()(torch.randn(2, 100))
        D.eval()(_images(2, 7))
    counts = {"Generator(100)": _count(G), "Discriminator()": _count(D)}
for net, n in counts.items():
    assert 10_000 <= n <= 3_000_000, (
        f"{net} has {n:,} parameters; keep each network between 10,000 and 3,000,000 (e.g. "
        "widths of 32 to 256 channels) so that it trains in minutes on a CPU")
'''

INIT_CONV = '''
def _conv_stats(module):
    w = module.weight.detach().double()
    return w.mean().item(), w.std().item(), w.numel()


with _isolated():
    torch.manual_seed(12)
    modules = {"nn.Conv2d(64, 128, 4)": nn.Conv2d(64, 128, 4),
               "nn.ConvTranspose2d(128, 64, 4)": nn.ConvTranspose2d(128, 64, 4),
               "nn.Conv2d(1, 32, 3)": nn.Conv2d(1, 32, 3)}
    for module in modules.values():
        module.apply(init_weights)
    G, D = Generator(100), Discriminator()
    with torch.no_grad():
        G.eval()(torch.randn(2, 100))
        D.eval()(_images(2, 8))
    G.apply(init_weights)
    D.apply(init_weights)
for name, net in (("Generator(100)", G), ("Discriminator()", D)):
    for sub, module in net.named_modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            modules[f"{name}.{sub}"] = module
for name, module in modules.items():
    mean, std, n = _conv_stats(module)
    if n < 200:  # too few weights to estimate a standard deviation
        continue
    assert 0.017 <= std <= 0.023 and abs(mean) <= 0.002 + 4 * 0.02 / math.sqrt(n), (
        f"after apply(init_weights), the weights of {name} have mean {mean:.4f} and standard "
        f"deviation {std:.4f}: draw every convolution's and transposed convolution's weights "
        "from N(0, 0.02), standard deviation 0.02 (not the variance)")
'''

INIT_BN = '''
with _isolated():
    torch.manual_seed(13)
    modules = {"nn.BatchNorm2d(256)": nn.BatchNorm2d(256),
               "nn.BatchNorm1d(512)": nn.BatchNorm1d(512)}
    for module in modules.values():
        module.apply(init_weights)
    G, D = Generator(100), Discriminator()
    with torch.no_grad():
        G.eval()(torch.randn(2, 100))
        D.eval()(_images(2, 9))
    G.apply(init_weights)
    D.apply(init_weights)
for name, net in (("Generator(100)", G), ("Discriminator()", D)):
    for sub, module in net.named_modules():
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)) and module.affine:
            modules[f"{name}.{sub}"] = module
for name, module in modules.items():
    w, b = module.weight.detach().double(), module.bias.detach().double()
    n = w.numel()
    assert abs(w.mean().item() - 1) <= 0.002 + 4 * 0.02 / math.sqrt(n), (
        f"after apply(init_weights), the weight of {name} has mean {w.mean().item():.4f}: draw "
        "batch-norm weights from N(1, 0.02) (they scale the normalised values)")
    if n >= 32:
        assert 0.01 <= w.std().item() <= 0.03, (
            f"after apply(init_weights), the weight of {name} has standard deviation "
            f"{w.std().item():.4f}: draw batch-norm weights from N(1, 0.02)")
    assert b.abs().max().item() == 0, (
        f"after apply(init_weights), the bias of {name} is not 0: set batch-norm biases to 0")
'''

TRAINING = '''
from eep596gan.data import load_images
from eep596gan.train.gan import GANTrainer


class _Images(nn.Module):
    """The answer's G with its images resized to 28x28 if they are not: a wrong size has its own
    test, this one judges learning."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, z):
        out = self.net(z)
        if tuple(out.shape[1:]) != (1, 28, 28):
            out = F.interpolate(out.reshape(len(z), 1, out.shape[-2], out.shape[-1]),
                                size=(28, 28), mode="bilinear", align_corners=False)
        return out


class _Logits(nn.Module):
    """The answer's D with one number per image, (m, 1), whatever shape it returns: its shape
    has its own test."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x).reshape(len(x), -1).mean(dim=1, keepdim=True)


def _digits28():
    x, _ = load_images("digits")  # (1500, 1, 8, 8) in [-1, 1]
    return F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False).clamp(-1, 1)


def _set_lr(optimizer, lr):
    for group in optimizer.param_groups:
        group["lr"] = lr


def _trainer(seed, x, d_steps=20, batch_size=32):
    """The answer's networks (the test's DCGAN initialisation) in the library's GANTrainer, D
    trained for d_steps steps with G frozen. Returns the trainer and D's mean D(x) on real
    images and on G's samples afterwards."""
    torch.manual_seed(seed)
    G, D = Generator(100), Discriminator()
    with torch.no_grad():  # (a lazy layer gets its parameters at its first call)
        G.eval()(torch.randn(2, 100))
        D.eval()(x[:2])
    G.train(), D.train()
    _dcgan_init(G)
    _dcgan_init(D)
    trainer = GANTrainer(_Images(G), _Logits(D), latent_dim=100, lr=1e-3, seed=seed,
                         device="cpu")
    _set_lr(trainer.g_optimizer, 0.0)  # G frozen: only D learns
    trainer.fit(x, d_steps, batch_size, progress=False)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        real = x[torch.randperm(len(x), generator=gen)[:64]]
        fake = trainer.generator(torch.randn(64, 100, generator=gen))
        d_real = torch.sigmoid(trainer.discriminator(real)).mean().item()
        d_fake = torch.sigmoid(trainer.discriminator(fake)).mean().item()
    return trainer, d_real, d_fake
'''

D_LEARNS = '''
x = _digits28()
with _isolated():
    runs = []
    for seed in (0, 1, 2):  # a few tries: one run that learns is enough
        _, d_real, d_fake = _trainer(seed, x)
        runs.append((d_real, d_fake))
        if d_real > d_fake + 0.1:
            break
d_real, d_fake = runs[-1]
assert d_real > d_fake + 0.1, (
    f"after 20 steps of D against a frozen G (the library's GANTrainer, Adam lr 1e-3, batches of "
    f"32 digits upscaled to 28x28), D's mean sigmoid is {d_real:.3f} on real digits and "
    f"{d_fake:.3f} on G's samples (in {len(runs)} tries): D should tell them apart. Check D's "
    "layers and that its logit depends on the image")
'''

G_LEARNS = '''
def _cost(trainer, z):
    """G's non-saturating cost -1/2 E log D(G(z)) on the batch of noise z."""
    with torch.no_grad():
        return 0.5 * F.softplus(-trainer.discriminator(trainer.generator(z))).mean().item()


x = _digits28()
with _isolated():
    runs = []
    for seed in (0, 1, 2):  # a few tries: one run that learns is enough
        trainer, _, _ = _trainer(seed, x)
        _set_lr(trainer.d_optimizer, 0.0)  # D frozen: only G learns
        _set_lr(trainer.g_optimizer, 1e-3)  # (the trainer's lr)
        probe = torch.randn(64, 100, generator=torch.Generator().manual_seed(seed))
        before = _cost(trainer, probe)
        trainer.fit(x, 15, 32, progress=False)
        after = _cost(trainer, probe)
        runs.append((before, after))
        if after < before - 0.01:
            break
before, after = runs[-1]
assert math.isfinite(after) and after < before - 0.01, (
    f"after 15 steps of G against a frozen D (the library's GANTrainer, Adam lr 1e-3), G's "
    f"non-saturating cost -1/2 E log D(G(z)) on a fixed batch of noise went from {before:.4f} to "
    f"{after:.4f} (in {len(runs)} tries): G should lower it. Check that every layer of G lets the "
    "gradient through (no detach, no torch.no_grad in forward)")
'''

_CALL_G = "_ = quietly(Generator, 100)"
_VISIBLE_G = """\
out = quietly(lambda: Generator(100)(torch.randn(4, 100)))
assert isinstance(out, torch.Tensor) and tuple(out.shape) == (4, 1, 28, 28), (
    f"Generator(100) on z of shape (4, 100) returned "
    f"{tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}, "
    "expected images of shape (4, 1, 28, 28)")
print("visible test passed")"""
_VISIBLE_D = """\
out = quietly(lambda: Discriminator()(torch.zeros(4, 1, 28, 28)))
assert isinstance(out, torch.Tensor) and tuple(out.shape) == (4, 1), (
    f"Discriminator() on images of shape (4, 1, 28, 28) returned "
    f"{tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}, "
    "expected logits of shape (4, 1)")
print("visible test passed")"""
_CALL_D = "_ = quietly(Discriminator)"
_CALL_BOTH = _CALL_G + "\n" + _CALL_D
_CALL_INIT = "quietly(init_weights, nn.Conv2d(1, 1, 1))\n" + _CALL_BOTH


def _hidden_test(grade_id: str, points: int, comment: str, call: str, *blocks: str) -> dict:
    visible = textwrap.dedent(comment).strip("\n") + "\n" + call
    return test(grade_id, points, hidden(visible, PREAMBLE, *blocks))


G_PART, D_PART = "1. Generator", "2. Discriminator"
INIT_PART, TRAIN_PART = "3. init_weights", "4. Training"

CELLS = [
    markdown("intro", r"""
        # Assignment: the DCGAN's networks

        *EEP 596, Lecture 7: Generative Adversarial Networks.* Slides: "DCGAN" (Radford et al.
        2015); lecture notebook `06_training_gans.ipynb`, §4.

        The `gan_losses` and `gan_training` assignments gave you the costs and the loop; here
        you build the two players for images, following the architecture guidelines of
        **DCGAN** (Radford, Metz and Chintala, *Unsupervised Representation Learning with Deep
        Convolutional Generative Adversarial Networks*, 2015, §3):

        * replace pooling with **strided convolutions** in the discriminator and **transposed
          convolutions** in the generator;
        * use **batch norm** in both networks, except at the generator's output layer and the
          discriminator's input layer;
        * use **ReLU** in the generator, with a **tanh** at its output, and **LeakyReLU** (slope
          0.2) in the discriminator;
        * initialise the weights from $\mathcal{N}(0, 0.02)$.

        **Conventions.** Images are float32 tensors of shape `(m, 1, 28, 28)` with values in
        $[-1, 1]$ (the 8x8 digits of the earlier assignments, upscaled). The generator maps noise
        $z$ of shape `(m, latent_dim)` to images; the discriminator maps images to **logits** of
        shape `(m, 1)`: $D(x) = \sigma(\ell)$ is applied by the losses, not by the network.

        **Rules.** Write the networks yourself with `torch.nn` layers (`nn.Conv2d`,
        `nn.ConvTranspose2d`, `nn.BatchNorm2d`, ...); do not import, subclass or wrap the
        library's networks (`eep596gan.models`): the graders check this, and a network built on
        them scores 0. Run the first two code cells first: the first installs the course library
        in Colab (elsewhere it does nothing), the second is the setup.
        """),
    colab_install(),
    setup("""
        import contextlib
        import copy
        import io
        import math
        import time
        import warnings

        import matplotlib.pyplot as plt
        import torch
        import torch.nn.functional as F
        from torch import nn

        from eep596gan.data import load_images, mode_centers, sample_2d
        from eep596gan.device import get_device, pick, quick_mode, seed_everything
        from eep596gan.metrics import frechet_distance, mode_coverage
        from eep596gan.models import MLPDiscriminator, MLPGenerator
        from eep596gan.train import GANTrainer
        from eep596gan.viz import image_grid, plot_2d, plot_losses
        """),
    markdown("about-tests", """
        The test cells below check your answers. Each is worth points; most of their checks are
        hidden and run when your notebook is graded, so passing the visible ones is a start, not a
        guarantee. They judge what your networks **do**, for any way of writing them
        (`nn.Sequential` or explicit layers, modules or `F.*` calls): shapes, ranges, how the
        outputs react to the inputs and to scaled weights, and which operations your `forward`
        runs, read off the autograd graph of its output (so use PyTorch's own layers and
        functions: `nn.ReLU`/`F.relu`/`torch.relu`, `nn.LeakyReLU(0.2)`/`F.leaky_relu(x, 0.2)`,
        `nn.Tanh`/`torch.tanh`, `nn.BatchNorm2d`/`nn.BatchNorm1d`). They call your code through
        `quietly`, which captures warnings and printed output: nbgrader gives 0 points to a test
        cell that writes to stderr.
        """),
    test_helpers("""
        def count_parameters(net):
            \"\"\"The number of parameters of a network.\"\"\"
            return sum(p.numel() for p in net.parameters())


        def first_call(G, D, latent_dim):
            \"\"\"Run G and D once in eval mode (a lazy layer gets its parameters); back to
            train mode.\"\"\"
            with torch.no_grad():
                G.eval()(torch.randn(2, latent_dim))
                D.eval()(torch.zeros(2, 1, 28, 28))
            return G.train(), D.train()


        def digits28(split="train"):
            \"\"\"The 8x8 digits upscaled to (N, 1, 28, 28), values in [-1, 1].\"\"\"
            x, y = load_images("digits", split=split)
            return F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False), y
        """),
    markdown("part1", r"""
        ## Part 1: the generator

        Write `Generator(latent_dim)`, an `nn.Module` whose `forward(z)` maps noise `z` of shape
        `(m, latent_dim)` to images of shape `(m, 1, 28, 28)` in $[-1, 1]$. The contract the tests
        check:

        * **Upsampling by transposed convolutions** (`nn.ConvTranspose2d`), at least two of them;
          no pooling. A transposed convolution with kernel $k$, stride $s$ and padding $p$ turns
          size $n$ into $(n - 1)s - 2p + k$: kernel 4, stride 2, padding 1 doubles it
          ($7 \to 14 \to 28$).
        * **The first layer** either treats $z$ as a `(latent_dim, 1, 1)` map and applies a
          transposed convolution (kernel 7 gives $7 \times 7$), or projects $z$ with a linear layer
          and reshapes it to a small stack of feature maps (the paper's "project and reshape").
          Both are fine. It must use `latent_dim`: `Generator(16)` takes `(m, 16)`,
          `Generator(100)` takes `(m, 100)`, and every coordinate of $z$ reaches the image.
        * **Batch norm after every layer except the output layer**, **ReLU** after every hidden
          layer, and a **tanh** as the very last operation (the data is in $[-1, 1]$).
        * **Batch sizes:** in train mode batch norm needs $m \geq 2$; in eval mode any
          $m \geq 1$ works. **Size:** between 10,000 and 3,000,000 parameters (widths of 32 to 256
          channels are plenty for 28x28 digits and train in minutes on a CPU).
        * **Device:** build the layers on the CPU (no `.to(device)` or `.cuda()` inside the
          class): the tests run your networks on the CPU, and the trainer moves them where they
          train.
        """),
    answer("answer_generator", '''
        class Generator(nn.Module):
            """DCGAN generator: noise z (m, latent_dim) -> images (m, 1, 28, 28) in [-1, 1]."""

            def __init__(self, latent_dim):
                super().__init__()
                self.latent_dim = latent_dim
                ### BEGIN SOLUTION
                self.net = nn.Sequential(
                    # z as a (latent_dim, 1, 1) map -> (128, 7, 7)
                    nn.ConvTranspose2d(latent_dim, 128, kernel_size=7, stride=1, padding=0,
                                       bias=False),
                    nn.BatchNorm2d(128),
                    nn.ReLU(),
                    # (128, 7, 7) -> (64, 14, 14)
                    nn.ConvTranspose2d(128, 64, kernel_size=4, stride=2, padding=1, bias=False),
                    nn.BatchNorm2d(64),
                    nn.ReLU(),
                    # the output layer, (64, 14, 14) -> (1, 28, 28): no batch norm, a tanh
                    nn.ConvTranspose2d(64, 1, kernel_size=4, stride=2, padding=1),
                    nn.Tanh(),
                )
                ### END SOLUTION

            def forward(self, z):
                ### BEGIN SOLUTION
                return self.net(z.view(z.shape[0], self.latent_dim, 1, 1))
                ### END SOLUTION
        '''),
    visible("check_generator", G_PART, """
        def _g_shape(latent_dim, m, train=True):
            net = Generator(latent_dim).train(train)
            return tuple(net(torch.randn(m, latent_dim)).shape)


        def _g_range():
            out = Generator(100)(torch.randn(16, 100))
            return round(out.min().item(), 3), round(out.max().item(), 3)


        visible_check(PART, "Generator(100), train mode, z of shape (8, 100)",
                      "images of shape (8, 1, 28, 28)", lambda: _g_shape(100, 8),
                      lambda s: s == (8, 1, 28, 28))
        visible_check(PART, "Generator(16), train mode, z of shape (5, 16)",
                      "(5, 1, 28, 28): latent_dim sets the input size", lambda: _g_shape(16, 5),
                      lambda s: s == (5, 1, 28, 28))
        visible_check(PART, "Generator(100), eval mode, a batch of one",
                      "(1, 1, 28, 28)", lambda: _g_shape(100, 1, train=False),
                      lambda s: s == (1, 1, 28, 28))
        visible_check(PART, "Generator(100): the range of its images (min, max)",
                      "within [-1, 1], both signs", _g_range,
                      lambda r: -1 <= r[0] < 0 < r[1] <= 1)
        visible_check(PART, "Generator(100): its number of parameters",
                      "between 10,000 and 3,000,000",
                      lambda: count_parameters(Generator(100)),
                      lambda n: 10_000 <= n <= 3_000_000)
        """),
    _hidden_test("test_generator_shapes", 2, """
        # Visible test: Generator(100) on z of shape (4, 100) gives images (4, 1, 28, 28).
        # Hidden tests: Generator(100) on batches of 2, 7 and 64 (train mode) and 1 and 3 (eval
        # mode) returns finite float32 images of shape (m, 1, 28, 28).
        """, _VISIBLE_G, G_SHAPES),
    _hidden_test("test_generator_latent_dim", 2, """
        # Hidden tests: Generator(16), Generator(37) and Generator(100) take z of their own size,
        # and a different z, or a change of its first or its last coordinate, changes the image.
        """, _CALL_G, G_LATENT),
    _hidden_test("test_generator_tanh_output", 2, """
        # Hidden tests: G's images lie in [-1, 1], also with every parameter scaled by 10, and
        # then approach both -1 and 1; the output is the result of a tanh.
        """, _CALL_G, G_TANH),
    _hidden_test("test_generator_batch_norm", 2, """
        # Hidden tests: G has batch norm (in train mode an image depends on the rest of its batch),
        # but not in its output layer (atanh of the images is not standardised per batch).
        """, _CALL_G, G_BATCHNORM),
    _hidden_test("test_generator_relu", 1, """
        # Hidden tests: G's forward calls ReLU, and no LeakyReLU.
        """, _CALL_G, G_RELU),
    markdown("part2", r"""
        ## Part 2: the discriminator

        Write `Discriminator()`, an `nn.Module` whose `forward(x)` maps images of shape
        `(m, 1, 28, 28)` to **logits** of shape `(m, 1)`: no sigmoid at the end (the losses of
        `gan_losses` take logits, and a sigmoid inside the network would be applied twice). The
        contract the tests check:

        * **Downsampling by strided convolutions** (`nn.Conv2d`, stride 2; a convolution turns
          size $n$ into $\lfloor (n + 2p - k)/s \rfloor + 1$: kernel 4, stride 2, padding 1
          halves it), at least two of them; no pooling. The last layer may be a convolution down
          to $1 \times 1$ or a linear layer on the flattened features.
        * **Batch norm after every convolution except the first** (none on the image, none in the
          input layer).
        * **LeakyReLU with slope 0.2** after every hidden layer (`nn.LeakyReLU(0.2)` or
          `F.leaky_relu(x, 0.2)`; the default slope is 0.01), and no plain ReLU.
        * The same batch sizes as the generator (train mode $m \geq 2$, eval mode $m \geq 1$), the
          same size (between 10,000 and 3,000,000 parameters), and built on the CPU.
        """),
    answer("answer_discriminator", '''
        class Discriminator(nn.Module):
            """DCGAN discriminator: images (m, 1, 28, 28) -> logits (m, 1)."""

            def __init__(self):
                super().__init__()
                ### BEGIN SOLUTION
                self.net = nn.Sequential(
                    # the input layer, (1, 28, 28) -> (64, 14, 14): no batch norm
                    nn.Conv2d(1, 64, kernel_size=4, stride=2, padding=1),
                    nn.LeakyReLU(0.2),
                    # (64, 14, 14) -> (128, 7, 7)
                    nn.Conv2d(64, 128, kernel_size=4, stride=2, padding=1, bias=False),
                    nn.BatchNorm2d(128),
                    nn.LeakyReLU(0.2),
                    # (128, 7, 7) -> (1, 1, 1): one logit per image, no sigmoid
                    nn.Conv2d(128, 1, kernel_size=7, stride=1, padding=0),
                    nn.Flatten(),  # (m, 1)
                )
                ### END SOLUTION

            def forward(self, x):
                ### BEGIN SOLUTION
                return self.net(x)
                ### END SOLUTION
        '''),
    visible("check_discriminator", D_PART, """
        x_check, _ = digits28()
        x_check = x_check[:8]


        def _d_shape(m, train=True):
            return tuple(Discriminator().train(train)(x_check[:m]).shape)


        def _d_scaled():
            net = Discriminator()
            with torch.no_grad():
                for p in net.parameters():
                    p.mul_(10.0)
                return round(net(x_check).abs().max().item(), 3)


        def _d_gradient():
            x = x_check.clone().requires_grad_()
            (grad,) = torch.autograd.grad(Discriminator()(x).sum(), x)
            return round(grad.abs().max().item(), 6)


        visible_check(PART, "Discriminator(), train mode, 8 digits (8, 1, 28, 28)",
                      "logits of shape (8, 1)", lambda: _d_shape(8),
                      lambda s: s == (8, 1))
        visible_check(PART, "Discriminator(), eval mode, a batch of one",
                      "(1, 1)", lambda: _d_shape(1, train=False), lambda s: s == (1, 1))
        visible_check(PART, "Discriminator() with every parameter scaled by 10: max |output|",
                      "well above 1 (a logit grows with the weights; a probability cannot)",
                      _d_scaled, lambda v: v > 2)
        visible_check(PART, "Discriminator(): the gradient of its logits with respect to x",
                      "not zero", _d_gradient, lambda v: v > 0)
        visible_check(PART, "Discriminator(): its number of parameters",
                      "between 10,000 and 3,000,000",
                      lambda: count_parameters(Discriminator()),
                      lambda n: 10_000 <= n <= 3_000_000)
        """),
    _hidden_test("test_discriminator_shapes", 2, """
        # Visible test: Discriminator() on images (4, 1, 28, 28) gives logits (4, 1).
        # Hidden tests: Discriminator() on batches of 2, 7 and 64 (train mode) and 1 and 3 (eval
        # mode) returns finite float32 logits of shape (m, 1).
        """, _VISIBLE_D, D_SHAPES),
    _hidden_test("test_discriminator_returns_logits", 2, """
        # Hidden tests: with every parameter scaled by 10, D's outputs grow well beyond [0, 1]
        # (logits, not probabilities); no sigmoid; the logits depend on the image.
        """, _CALL_D, D_LOGITS),
    _hidden_test("test_discriminator_batch_norm", 2, """
        # Hidden tests: D has batch norm (in train mode a logit depends on the rest of its batch),
        # but none on the image or in the input layer (D is not invariant to adding a constant to
        # every pixel, and no batch norm sees the image through no activation).
        """, _CALL_D, D_BATCHNORM),
    _hidden_test("test_discriminator_leaky_relu", 2, """
        # Hidden tests: D's forward calls LeakyReLU with slope 0.2, and no plain ReLU.
        """, _CALL_D, D_LEAKY),
    _hidden_test("test_convolutions", 2, """
        # Hidden tests: G's forward runs at least two transposed convolutions, D's at least two
        # convolutions.
        """, _CALL_BOTH, CONVOLUTIONS),
    _hidden_test("test_no_pooling", 1, """
        # Hidden tests: neither network pools (max, average or adaptive pooling).
        """, _CALL_BOTH, POOLING),
    _hidden_test("test_parameter_budget", 1, """
        # Hidden tests: Generator(100) and Discriminator() each have between 10,000 and
        # 3,000,000 parameters.
        """, _CALL_BOTH, BUDGET),
    markdown("part3", r"""
        ## Part 3: the initialisation

        Radford et al.: "All weights were initialized from a zero-centered Normal distribution
        with standard deviation 0.02." Write `init_weights(module)`, to be used as
        `net.apply(init_weights)` (which calls it on every submodule of `net`, containers
        included):

        * every `nn.Conv2d` and `nn.ConvTranspose2d`: weight from $\mathcal{N}(0, 0.02^2)$
          (standard deviation 0.02);
        * every batch norm (`nn.BatchNorm1d`, `nn.BatchNorm2d`): weight from
          $\mathcal{N}(1, 0.02^2)$ and bias 0, as the PyTorch DCGAN tutorial does;
        * any other module: leave it as it is (biases of convolutions are not tested).

        Change the parameters in place (`nn.init.normal_`, or `.normal_()` under
        `torch.no_grad()`).
        """),
    answer("answer_init_weights", '''
        def init_weights(module):
            """DCGAN's initialisation of one module, for net.apply(init_weights)."""
            ### BEGIN SOLUTION
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
            elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
                nn.init.normal_(module.weight, mean=1.0, std=0.02)
                nn.init.zeros_(module.bias)
            ### END SOLUTION
        '''),
    visible("check_init_weights", INIT_PART, """
        def _init_stats(module):
            module.apply(init_weights)
            w = module.weight.detach()
            return round(w.mean().item(), 4), round(w.std().item(), 4)


        def _bn_init():
            module = nn.BatchNorm2d(64)
            module.apply(init_weights)
            return (round(module.weight.mean().item(), 3), round(module.weight.std().item(), 3),
                    module.bias.abs().max().item())


        def _nets_init():
            G, D = first_call(Generator(100), Discriminator(), 100)
            G.apply(init_weights)
            D.apply(init_weights)
            stds = [m.weight.std().item() for net in (G, D) for m in net.modules()
                    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) and m.weight.numel() >= 200]
            return [round(s, 4) for s in stds]


        visible_check(PART, "nn.Conv2d(64, 128, 4) after apply(init_weights): (mean, std)",
                      "about (0, 0.02)", lambda: _init_stats(nn.Conv2d(64, 128, 4)),
                      lambda s: abs(s[0]) < 0.002 and 0.017 <= s[1] <= 0.023)
        visible_check(PART, "nn.ConvTranspose2d(128, 64, 4) after apply(init_weights)",
                      "about (0, 0.02)", lambda: _init_stats(nn.ConvTranspose2d(128, 64, 4)),
                      lambda s: abs(s[0]) < 0.002 and 0.017 <= s[1] <= 0.023)
        visible_check(PART, "nn.BatchNorm2d(64): (weight mean, weight std, max |bias|)",
                      "about (1, 0.02, 0)", _bn_init,
                      lambda s: abs(s[0] - 1) < 0.02 and 0.01 <= s[1] <= 0.03 and s[2] == 0)
        visible_check(PART, "your Generator(100) and Discriminator() after apply(init_weights)",
                      "every convolution's weights with standard deviation about 0.02",
                      _nets_init, lambda stds: stds and all(0.017 <= s <= 0.023 for s in stds))
        """),
    _hidden_test("test_init_conv_weights", 2, """
        # Hidden tests: after apply(init_weights), the weights of standalone convolutions and
        # transposed convolutions, and of those in your networks, have mean 0 and standard
        # deviation 0.02.
        """, _CALL_INIT, INIT_CONV),
    _hidden_test("test_init_batch_norm", 1, """
        # Hidden tests: after apply(init_weights), batch-norm weights have mean 1 and standard
        # deviation 0.02 and their biases are 0 (standalone, and in your networks).
        """, _CALL_INIT, INIT_BN),
    markdown("part4", r"""
        ## Part 4: train it

        The course library's `GANTrainer` runs the k-step algorithm of `gan_training` (Adam with
        DCGAN's learning rate $2 \cdot 10^{-4}$ and $\beta_1 = 0.5$, the non-saturating generator
        cost). The checks below train your networks for a few steps; the hidden tests then train
        $D$ alone against a frozen $G$ (it must learn to tell real digits from $G$'s samples)
        and $G$ alone against a frozen $D$ (it must lower its cost), with a learning rate of
        $10^{-3}$ so that a few dozen steps suffice. They initialise the networks the DCGAN way
        themselves, so these two tests do not depend on your `init_weights`.
        """),
    visible("check_training", TRAIN_PART, """
        _runs = {}


        def _short_run():
            \"\"\"Three GANTrainer steps with your networks (computed once).\"\"\"
            if "run" not in _runs:
                x, _ = digits28()
                torch.manual_seed(0)
                G, D = first_call(Generator(100), Discriminator(), 100)
                G.apply(init_weights)
                D.apply(init_weights)
                trainer = GANTrainer(G, D, latent_dim=100, device="cpu")
                history = trainer.fit(x, 3, 16, progress=False)
                _runs["run"] = trainer, history
            return _runs["run"]


        visible_check(PART, "GANTrainer(Generator(100), Discriminator()), 3 steps: history",
                      "3 entries of d_loss, g_loss, d_real, d_fake",
                      lambda: {k: len(v) for k, v in _short_run()[1].items()},
                      lambda n: n == {"d_loss": 3, "g_loss": 3, "d_real": 3, "d_fake": 3})
        visible_check(PART, "the losses of those 3 steps",
                      "finite", lambda: [round(v, 4) for v in _short_run()[1]["d_loss"]
                                         + _short_run()[1]["g_loss"]],
                      lambda v: all(math.isfinite(a) for a in v))
        visible_check(PART, "trainer.sample(4): G's images after 3 steps (shape, min, max)",
                      "(4, 1, 28, 28), within [-1, 1]",
                      lambda: (lambda s: (tuple(s.shape), round(s.min().item(), 3),
                                          round(s.max().item(), 3)))(_short_run()[0].sample(4)),
                      lambda r: r[0] == (4, 1, 28, 28) and r[1] >= -1 and r[2] <= 1)
        visible_check(PART, "D's mean D(x) on real digits and on fakes over those steps",
                      "two probabilities in (0, 1)",
                      lambda: (round(sum(_short_run()[1]["d_real"]) / 3, 3),
                               round(sum(_short_run()[1]["d_fake"]) / 3, 3)),
                      lambda p: all(0 < v < 1 for v in p))
        """),
    _hidden_test("test_discriminator_learns", 2, """
        # Hidden tests: the library's GANTrainer with your networks on digits upscaled to 28x28:
        # after 20 steps of D alone (G frozen), D's mean D(x) on real digits exceeds that on G's
        # samples by more than 0.1 (up to three seeds).
        """, _CALL_BOTH, TRAINING, D_LEARNS),
    _hidden_test("test_generator_learns", 2, """
        # Hidden tests: then 15 steps of G alone (D frozen) lower G's non-saturating cost on a
        # fixed batch of noise (up to three seeds).
        """, _CALL_BOTH, TRAINING, G_LEARNS),
    markdown("train-md", r"""
        ## Your DCGAN on digits

        The next cell prints your networks and their sizes, initialises them with your
        `init_weights`, and trains them with `GANTrainer` on the digits upscaled to 28x28. It
        takes a few minutes on a laptop CPU (well under one on a GPU); in quick mode, as when
        graded, it runs a few steps only, so the samples are noise.
        """),
    locked("train-dcgan", """
        x_train, _ = digits28()
        latent_dim = 100
        seed_everything(0)
        G, D = first_call(Generator(latent_dim), Discriminator(), latent_dim)
        G.apply(init_weights)
        D.apply(init_weights)
        print(G)
        print(D)
        print(f"parameters: G {count_parameters(G):,}, D {count_parameters(D):,}")

        dcgan = GANTrainer(G, D, latent_dim=latent_dim, device=device, seed=0)
        start = time.perf_counter()
        history = dcgan.fit(x_train, pick(3000, 3), 64, progress=not quick_mode())
        print(f"{dcgan.step} steps in {time.perf_counter() - start:.1f} s")
        fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
        plot_losses(history, ax=axes[0])
        image_grid(dcgan.sample(64).cpu(), ax=axes[1], title="your DCGAN's samples")
        image_grid(x_train[:64], ax=axes[2], title="real digits, upscaled")
        plt.show()
        """),
    markdown("compare-md", r"""
        ## Against an MLP GAN

        The next cell trains the library's MLP generator and discriminator (fully connected
        layers, batch norm in G, the sizes printed) on the same images, with the same trainer,
        seed and number of steps, and compares the two with the Fréchet distance of lecture 06
        §4: the distance between the features of a small digit classifier on generated and on
        real images, after shrinking the images back to 8x8 (lower is better; the floor is the
        distance of held-out real digits, shrunk the same way). In quick mode it trains a few
        steps and skips the distances.
        """),
    locked("compare-mlp", """
        def shrink(x):
            \"\"\"28x28 images back to the classifier's 8x8.\"\"\"
            return F.interpolate(x, size=(8, 8), mode="area")


        seed_everything(0)
        G_mlp = MLPGenerator(latent_dim, (1, 28, 28), hidden=(256, 512), batchnorm=True)
        D_mlp = MLPDiscriminator((1, 28, 28), hidden=(512, 256))
        print(f"MLP GAN parameters: G {count_parameters(G_mlp):,}, D {count_parameters(D_mlp):,}")
        mlp = GANTrainer(G_mlp, D_mlp, latent_dim=latent_dim, device=device, seed=0)
        start = time.perf_counter()
        mlp.fit(x_train, dcgan.step, 64, progress=not quick_mode())
        print(f"{mlp.step} steps in {time.perf_counter() - start:.1f} s")

        if not quick_mode():
            x_test, _ = digits28("test")
            reference = shrink(x_train[:1000])
            n = len(x_test)
            for name, trainer in (("your DCGAN", dcgan), ("MLP GAN", mlp)):
                fake = torch.cat([trainer.sample(z=torch.randn(100, latent_dim)).cpu()
                                  for _ in range(math.ceil(n / 100))])[:n]
                distance = frechet_distance(shrink(fake), reference)
                print(f"{name:12s} Fréchet distance {distance:7.1f}")
            distance = frechet_distance(shrink(x_test), reference)
            print(f"{'floor':12s} Fréchet distance {distance:7.1f}  (held-out real digits)")
        fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
        image_grid(dcgan.sample(64).cpu(), ax=axes[0], title="your DCGAN")
        image_grid(mlp.sample(64).cpu(), ax=axes[1], title="MLP GAN")
        plt.show()
        """),
    markdown("ring8-md", r"""
        ## Back to ring8

        `ring8` (eight Gaussians on a circle, $\sigma = 0.02$) is where mode collapse is easy to
        see. The next cell trains a small MLP GAN on it with `GANTrainer` and counts, every tenth
        of the run, how many of the eight modes the generator covers (a mode counts when a
        sample within $3\sigma$ of its center is nearest to it). If you did `gan_training`, you
        may also run your own `train_gan` on it (paste it into a new cell below). In quick mode
        the run is a few steps.
        """),
    locked("ring8", """
        seed_everything(0)
        ring = sample_2d("ring8", 20_000, seed=0)
        G_ring = MLPGenerator(8, (2,), hidden=(128, 128))
        D_ring = MLPDiscriminator((2,), hidden=(128, 128))
        ring_trainer = GANTrainer(G_ring, D_ring, latent_dim=8, lr=1e-3, device=device, seed=0)
        probe = torch.randn(2000, 8, generator=torch.Generator().manual_seed(1))
        steps, modes = [], []
        for _ in range(10):
            ring_trainer.fit(ring, pick(300, 3), 256, progress=False)
            coverage = mode_coverage(ring_trainer.sample(z=probe).cpu(), "ring8")
            steps.append(ring_trainer.step)
            modes.append(coverage["modes_captured"])
        print("modes covered, every tenth of the run:", modes)
        fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
        axes[0].plot(steps, modes, marker="o")
        axes[0].set(xlabel="G steps", ylabel="modes covered (of 8)", ylim=(0, 8.5))
        plot_losses(ring_trainer.history, ax=axes[1])
        plot_2d(ring_trainer.sample(z=probe).cpu(), real=sample_2d("ring8", 1000, seed=1),
                discriminator=D_ring, ax=axes[2], centers=mode_centers("ring8")[0], lim=3,
                title="ring8: fakes, real data and D(x)")
        plt.show()
        """),
    markdown("q-ring8", r"""
        **Question 1 (2 points): what ring8 shows.** Answer from a full run (not quick mode) of
        the cell above (or of your own `train_gan` on ring8), with its numbers.

        * **(a) 1 point.** How many modes does the generator cover at the end, and does the count
          stay put during training or move (modes found, lost, found again)? Name what you see
          (full coverage, mode collapse, mode hopping; losses that settle or oscillate) and point
          to the plot that shows it.
        * **(b) 1 point.** Why can the game lose modes or hop between them, even when it has
          found them all? Explain with what $D$ and $G$ do to each other at each step: what does
          $G$'s gradient reward once $D$ has learned the current fakes, and why need the
          alternating game not settle on covering every mode?
        """),
    written("written_ring8", 2, r"""
        (Numbers depend on the machine, the seed and the library version; the rubric grades the
        reading of the student's own run. One full run of the solution on one CPU thread printed
        the modes covered every tenth of the run as [3, 8, 8, 8, 8, 7, 8, 8, 8, 8].)

        (a) In that run the generator covers all 8 modes at the end; it found them by the second
        tenth, lost one in the sixth and found it again: full coverage with a brief drop, i.e.
        some mode hopping, visible in the curve of modes covered (a dip instead of a flat line
        at 8), while the losses oscillate around their equilibrium values instead of
        converging. Other runs (another seed, larger $k$, another learning rate) can end on
        fewer modes, with the fakes clustered on a few of them in the scatter plot: mode
        collapse.

        (b) Each step, $G$ moves its samples up the gradient of $D$: towards wherever $D$
        currently rates samples as most real. Nothing in its cost rewards spreading out, so
        several $z$ can map to the same good spot (the non-saturating cost is mode-seeking: a
        missing mode costs $G$ almost nothing). $D$ then learns that those spots are over-served
        and pushes them down, and $G$ moves its samples to the modes $D$ now rates highly, which
        can empty a mode it held. Alternating gradient steps on a min-max game need not
        converge to the equilibrium: they can circle around it, which is the hopping of the
        mode count and the oscillation of the losses.
        """, [
        ("a", 1, """The final number of modes covered and how the count moved during the run, read
         off the student's own plot or printout, with a name for it (full coverage, collapse,
         hopping, oscillating losses). Half a point for a name without the numbers, or numbers
         without saying how they moved."""),
        ("b", 1, """G follows D's current gradient towards what D rates real, with no term that
         rewards diversity (mode-seeking), D then pushes those samples down and G moves on; and
         that alternating updates of a min-max game can cycle instead of converging. Half a point
         for only one of the two."""),
    ]),
    markdown("q-dcgan", r"""
        **Question 2 (2 points): DCGAN against MLP.** Answer from a full run of the two cells
        above (samples and, outside quick mode, the printed distances).

        * **(a) 1 point.** Does your DCGAN beat the MLP GAN on these images, by the samples and by
          the Fréchet distance (against its floor)? Report the numbers, the parameter counts and
          the time per step. Is the comparison fair (same steps, same trainer; what differs)?
        * **(b) 1 point.** Explain the difference (or its absence) with what a convolution
          assumes about images: locality, weight sharing and translation equivariance, and what
          they do to the number of parameters and to what each network must learn from 1500
          digits. When would you expect the MLP to do as well?
        """),
    written("written_dcgan_vs_mlp", 2, r"""
        (The rubric grades the argument about the student's own numbers; a student whose MLP won
        earns full marks for an honest report and a sound explanation. One full run of the
        solution on one CPU thread, 3000 steps each: DCGAN Fréchet distance 14.6, MLP GAN 29.1,
        floor 11.3; DCGAN 760k + 139k parameters at 91 ms per step, MLP GAN 560k + 534k at 7 ms
        per step.)

        (a) The report: both distances and the floor (in the run above, the DCGAN is about three
        times closer to the floor than the MLP: 3.3 against 17.8 above it), what the samples
        show (e.g. whether the strokes are smooth and connected or speckled), the
        parameter counts and the seconds per step. The comparison is fair in trainer, steps,
        batch size, learning rate and data, not in compute (a DCGAN step costs about 13 MLP
        steps here, so at equal time the MLP would have run far more steps) or in capacity, and
        it is one seed each: a small gap would not be a verdict.

        (b) A convolution looks at a small neighbourhood (locality) and applies the same filter
        everywhere (weight sharing), so a feature learnt in one place is found in every place
        (translation equivariance): a stroke detector or a stroke painter is learnt once, not
        once per position. That cuts the parameters of a layer from (pixels in) x (pixels out)
        to (kernel size) x (channels), and builds in what is true of images: nearby pixels are
        related, and a digit shifted by a pixel is still a digit. (The solution's first layer, a
        transposed convolution from a 1x1 map, is a linear projection in disguise and holds 627k
        of G's 760k parameters: the prior acts in the later, spatial layers.) The MLP must learn
        every pixel's relations separately from 1500 digits, which needs more data and steps.
        On data without spatial structure (ring8's 2-D points, or images whose pixels are
        shuffled by a fixed permutation) the convolution's prior no longer helps, and the MLP
        should do as well.
        """, [
        ("a", 1, """The student's own numbers (distances with the floor, parameters, time per
         step) and a verdict that follows from them, with one remark on fairness (same trainer and
         steps, but not the same compute or capacity, one seed). Half a point for a verdict
         without numbers or numbers without a verdict."""),
        ("b", 1, """Locality, weight sharing and translation equivariance, tied to fewer parameters
         and to what images are like (and the small data set), plus when the MLP would match (no
         spatial structure, e.g. shuffled pixels or 2-D points). Half a point for naming the
         properties without connecting them to the result."""),
    ]),
    markdown("visible-summary-md", """
        ## Your visible checks

        The table counts the visible checks (not graded) of each part that passed, and says how
        many points the graded test cells decide for that part: mostly hidden tests, which run
        when your notebook is graded.
        """),
    "VISIBLE_SUMMARY",
    before_you_submit("dcgan", "every visible check should pass (see the table above), the "
                      "trainings should run, and your answers to Questions 1 and 2 should use "
                      "the numbers of a full run"),
]
CELLS[CELLS.index("VISIBLE_SUMMARY")] = visible_summary(CELLS)
