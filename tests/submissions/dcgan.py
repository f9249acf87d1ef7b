"""Submissions of dcgan: networks written in other styles, and one planted mistake each.

A variant lists the answer cells it replaces (the others keep the solution's code); each is
written out in full so that it reads like a student's answer.
"""

G, D, INIT = "answer_generator", "answer_discriminator", "answer_init_weights"

G_SHAPES, G_LATENT = "test_generator_shapes", "test_generator_latent_dim"
G_TANH, G_BN = "test_generator_tanh_output", "test_generator_batch_norm"
G_RELU = "test_generator_relu"
D_SHAPES, D_LOGITS = "test_discriminator_shapes", "test_discriminator_returns_logits"
D_BN, D_LEAKY = "test_discriminator_batch_norm", "test_discriminator_leaky_relu"
CONV, POOL, BUDGET = "test_convolutions", "test_no_pooling", "test_parameter_budget"
INIT_CONV, INIT_BN = "test_init_conv_weights", "test_init_batch_norm"
D_LEARNS, G_LEARNS = "test_discriminator_learns", "test_generator_learns"

# The solution's networks, as a student would write them; variants replace one marked piece.
_GENERATOR = """\
class Generator(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.latent_dim = latent_dim
        self.net = nn.Sequential(
            nn.ConvTranspose2d(latent_dim, 128, 7, 1, 0, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(),
            nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.ConvTranspose2d(64, 1, 4, 2, 1),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.net(z.view(z.shape[0], self.latent_dim, 1, 1))
"""

_DISCRIMINATOR = """\
class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 64, 4, 2, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(64, 128, 4, 2, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.LeakyReLU(0.2),
            nn.Conv2d(128, 1, 7, 1, 0),
            nn.Flatten(),
        )

    def forward(self, x):
        return self.net(x)
"""

_INIT = """\
def init_weights(module):
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
"""


def _edit(source: str, *replacements: tuple[str, str]) -> str:
    for old, new in replacements:
        assert old in source, f"variant edit not found: {old!r}"
        source = source.replace(old, new)
    return source


def _g(*replacements: tuple[str, str]) -> dict[str, str]:
    return {G: _edit(_GENERATOR, *replacements)}


def _d(*replacements: tuple[str, str]) -> dict[str, str]:
    return {D: _edit(_DISCRIMINATOR, *replacements)}


def _init(*replacements: tuple[str, str]) -> dict[str, str]:
    return {INIT: _edit(_INIT, *replacements)}


# ------------------------------------------------------------------ correct, in other styles
# explicit layers, F.* calls in forward, a linear head on the flattened features, and an
# in-place .normal_ under no_grad
EXPLICIT = {
    G: """\
class Generator(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.latent_dim = latent_dim
        self.up1 = nn.ConvTranspose2d(latent_dim, 256, kernel_size=7, bias=False)
        self.bn1 = nn.BatchNorm2d(256)
        self.up2 = nn.ConvTranspose2d(256, 128, kernel_size=4, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(128)
        self.up3 = nn.ConvTranspose2d(128, 1, kernel_size=4, stride=2, padding=1)

    def forward(self, z):
        h = z[:, :, None, None]  # (m, latent_dim, 1, 1)
        h = F.relu(self.bn1(self.up1(h)))  # (m, 256, 7, 7)
        h = F.relu(self.bn2(self.up2(h)))  # (m, 128, 14, 14)
        return torch.tanh(self.up3(h))  # (m, 1, 28, 28)
""",
    D: """\
class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 4, stride=2, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 4, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.fc = nn.Linear(64 * 7 * 7, 1)

    def forward(self, x):
        h = F.leaky_relu(self.conv1(x), 0.2)
        h = F.leaky_relu(self.bn2(self.conv2(h)), negative_slope=0.2)
        return self.fc(h.flatten(1))
""",
    INIT: """\
def init_weights(module):
    with torch.no_grad():
        if type(module) in (nn.Conv2d, nn.ConvTranspose2d):
            module.weight.normal_(0, 0.02)
        if type(module) in (nn.BatchNorm2d, nn.BatchNorm1d):
            module.weight.normal_(1, 0.02)
            module.bias.fill_(0)
""",
}

# the paper's "project and reshape": a linear layer with BatchNorm1d, then transposed
# convolutions; a D that ends in a convolution to 1x1 and .view(-1, 1); the PyTorch tutorial's
# init by class name
PROJECT_AND_RESHAPE = {
    G: """\
class Generator(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.project = nn.Sequential(nn.Linear(latent_dim, 64 * 7 * 7, bias=False),
                                     nn.BatchNorm1d(64 * 7 * 7), nn.ReLU(True))
        self.up = nn.Sequential(
            nn.ConvTranspose2d(64, 32, 4, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(True),
            nn.ConvTranspose2d(32, 1, 4, 2, 1), nn.Tanh())

    def forward(self, z):
        return self.up(self.project(z).view(-1, 64, 7, 7))
""",
    D: """\
class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(1, 32, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(32, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(64, 128, 3, 2, 1, bias=False), nn.BatchNorm2d(128),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(128, 1, 4, 1, 0))

    def forward(self, x):
        return self.main(x).view(-1, 1)
""",
    INIT: """\
def init_weights(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0)
""",
}

# helper blocks: a function returning nn.Sequential in G, an inner class in D; wider channels
# and one more layer (1x1 -> 3x3 -> 7x7 -> 14x14 -> 28x28)
HELPER_BLOCKS = {
    G: """\
def up_block(c_in, c_out, kernel, stride, padding):
    \"\"\"Transposed convolution, batch norm, ReLU.\"\"\"
    return nn.Sequential(nn.ConvTranspose2d(c_in, c_out, kernel, stride, padding, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU())


class Generator(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.blocks = nn.Sequential(
            up_block(latent_dim, 256, 3, 1, 0),  # 1 -> 3
            up_block(256, 128, 3, 2, 0),  # 3 -> 7
            up_block(128, 64, 4, 2, 1),  # 7 -> 14
        )
        self.out = nn.ConvTranspose2d(64, 1, 4, 2, 1)  # 14 -> 28

    def forward(self, z):
        return torch.tanh(self.out(self.blocks(z.reshape(len(z), -1, 1, 1))))
""",
    D: """\
class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()

        class Down(nn.Module):
            def __init__(self, c_in, c_out, batch_norm=True):
                super().__init__()
                self.conv = nn.Conv2d(c_in, c_out, 4, 2, 1, bias=not batch_norm)
                self.bn = nn.BatchNorm2d(c_out) if batch_norm else nn.Identity()

            def forward(self, x):
                return F.leaky_relu(self.bn(self.conv(x)), 0.2)

        self.features = nn.Sequential(Down(1, 64, batch_norm=False), Down(64, 128))
        self.head = nn.Conv2d(128, 1, 7)

    def forward(self, x):
        return self.head(self.features(x)).flatten(start_dim=1)
""",
}

# prints and warns while building and running (output is captured by the tests)
NOISY = {
    G: "import sys\nimport warnings\n\n\n" + _edit(
        _GENERATOR,
        ("        self.latent_dim = latent_dim\n",
         "        self.latent_dim = latent_dim\n"
         "        print(f'building a generator for latent_dim={latent_dim}')\n"
         "        warnings.warn('a student\\'s warning')\n"),
        ("        return self.net(",
         "        print('G forward', tuple(z.shape), file=sys.stderr)\n"
         "        return self.net(")),
    D: "import warnings\n\n\n" + _edit(
        _DISCRIMINATOR,
        ("        return self.net(x)",
         "        out = self.net(x)\n"
         "        print('D forward', tuple(out.shape))\n"
         "        warnings.warn('D forward called')\n"
         "        return out")),
    INIT: _edit(_INIT, ("def init_weights(module):\n",
                        "def init_weights(module):\n"
                        "    print('init', type(module).__name__)\n")),
}

# in-place activations, lazy layers (LazyConv2d, LazyLinear), and an init that also zeroes
# convolution biases and finds batch norms by their base class
LAZY_AND_INPLACE = {
    G: _edit(_GENERATOR, ("nn.ReLU(),\n            nn.ConvTranspose2d(128",
                          "nn.ReLU(inplace=True),\n            nn.ConvTranspose2d(128")),
    D: """\
class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.LazyConv2d(48, 4, 2, 1),
            nn.LeakyReLU(negative_slope=0.2, inplace=True),
            nn.Conv2d(48, 96, 4, 2, 1, bias=False),
            nn.BatchNorm2d(96),
            nn.LeakyReLU(negative_slope=0.2, inplace=True),
            nn.Flatten(),
            nn.LazyLinear(1),
        )

    def forward(self, x):
        return self.net(x)
""",
    INIT: """\
def init_weights(module):
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if module.bias is not None:
            torch.nn.init.zeros_(module.bias)
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        torch.nn.init.normal_(module.weight, mean=1.0, std=0.02)
        torch.nn.init.constant_(module.bias, 0.0)
""",
}

# ------------------------------------------------------------------ planted mistakes
D_SIGMOID = _d(("nn.Flatten(),\n        )", "nn.Flatten(),\n            nn.Sigmoid(),\n        )"))

G_NO_TANH = _g(("nn.ConvTranspose2d(64, 1, 4, 2, 1),\n            nn.Tanh(),",
                "nn.ConvTranspose2d(64, 1, 4, 2, 1),"))

D_BN_FIRST_LAYER = _d(("nn.Conv2d(1, 64, 4, 2, 1),\n            nn.LeakyReLU(0.2),",
                       "nn.Conv2d(1, 64, 4, 2, 1),\n            nn.BatchNorm2d(64),\n"
                       "            nn.LeakyReLU(0.2),"))

D_BN_ON_IMAGE = _d(("self.net = nn.Sequential(\n            nn.Conv2d(1, 64",
                    "self.net = nn.Sequential(\n            nn.BatchNorm2d(1),\n"
                    "            nn.Conv2d(1, 64"))

G_BN_OUTPUT = _g(("nn.ConvTranspose2d(64, 1, 4, 2, 1),\n            nn.Tanh(),",
                  "nn.ConvTranspose2d(64, 1, 4, 2, 1),\n            nn.BatchNorm2d(1),\n"
                  "            nn.Tanh(),"))

D_RELU = _d(*[("nn.LeakyReLU(0.2),", "nn.ReLU(),")])

D_DEFAULT_SLOPE = _d(("nn.LeakyReLU(0.2),\n            nn.Conv2d(64",
                      "nn.LeakyReLU(),\n            nn.Conv2d(64"))

G_LEAKY = _g(("nn.BatchNorm2d(128),\n            nn.ReLU(),",
              "nn.BatchNorm2d(128),\n            nn.LeakyReLU(0.2),"))

D_MAX_POOLING = {D: """\
class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 64, 3, 1, 1),
            nn.LeakyReLU(0.2),
            nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, 1, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.LeakyReLU(0.2),
            nn.MaxPool2d(2),
            nn.Conv2d(128, 1, 7, 1, 0),
            nn.Flatten(),
        )

    def forward(self, x):
        return self.net(x)
"""}

G_OUTPUT_27 = _g(("nn.ConvTranspose2d(64, 1, 4, 2, 1),", "nn.ConvTranspose2d(64, 1, 3, 2, 1),"))

G_OUTPUT_32 = _g(("nn.ConvTranspose2d(latent_dim, 128, 7, 1, 0, bias=False),",
                  "nn.ConvTranspose2d(latent_dim, 128, 8, 1, 0, bias=False),"))

LINEAR_STACK = {
    G: """\
class Generator(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(latent_dim, 256, bias=False), nn.BatchNorm1d(256), nn.ReLU(),
            nn.Linear(256, 512, bias=False), nn.BatchNorm1d(512), nn.ReLU(),
            nn.Linear(512, 28 * 28), nn.Tanh())

    def forward(self, z):
        return self.net(z).view(-1, 1, 28, 28)
""",
    D: """\
class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(28 * 28, 512), nn.LeakyReLU(0.2),
            nn.Linear(512, 256, bias=False), nn.BatchNorm1d(256), nn.LeakyReLU(0.2),
            nn.Linear(256, 128), nn.LeakyReLU(0.2),
            nn.Linear(128, 1))

    def forward(self, x):
        return self.net(x)
""",
}

INIT_STD_02 = _init(("nn.init.normal_(module.weight, 0.0, 0.02)",
                     "nn.init.normal_(module.weight, 0.0, 0.2)"))

INIT_VARIANCE = _init(("nn.init.normal_(module.weight, 0.0, 0.02)",
                       "nn.init.normal_(module.weight, 0.0, 0.02 ** 0.5)"))

INIT_NOTHING = {INIT: "def init_weights(module):\n    pass  # PyTorch's default initialisation\n"}

INIT_CONV2D_ONLY = _init(("isinstance(module, (nn.Conv2d, nn.ConvTranspose2d))",
                          "type(module) is nn.Conv2d"))

INIT_BN_LIKE_CONV = _init(("nn.init.normal_(module.weight, 1.0, 0.02)",
                           "nn.init.normal_(module.weight, 0.0, 0.02)"))

D_FLAT_LOGITS = _d(("nn.Flatten(),", "nn.Flatten(0),"))

D_TWO_LOGITS = _d(("nn.Conv2d(128, 1, 7, 1, 0),", "nn.Conv2d(128, 2, 7, 1, 0),"))

LATENT_HARD_CODED = _g(("nn.ConvTranspose2d(latent_dim, 128", "nn.ConvTranspose2d(100, 128"),
                       ("z.view(z.shape[0], self.latent_dim, 1, 1)", "z.view(-1, 100, 1, 1)"))

DELEGATES = {
    G: "from eep596gan.models.gan import DCGANGenerator\n\n\n"
       "class Generator(DCGANGenerator):\n"
       "    def __init__(self, latent_dim):\n"
       "        super().__init__(latent_dim, (1, 28, 28))\n",
    D: "from eep596gan.models import DCGANDiscriminator as Discriminator\n",
}

VARIANTS = {
    "solution": ({}, "full marks"),
    "release": (None, "zero"),
    "explicit_layers": (EXPLICIT, "full marks"),
    "project_and_reshape": (PROJECT_AND_RESHAPE, "full marks"),
    "helper_blocks": (HELPER_BLOCKS, "full marks"),
    "prints_and_warns": (NOISY, "full marks"),
    "lazy_and_inplace": (LAZY_AND_INPLACE, "full marks"),
    "d_sigmoid_output": (D_SIGMOID, frozenset({D_LOGITS})),
    "g_no_tanh": (G_NO_TANH, frozenset({G_TANH})),
    "d_batch_norm_first_layer": (D_BN_FIRST_LAYER, frozenset({D_BN})),
    "d_batch_norm_on_image": (D_BN_ON_IMAGE, frozenset({D_BN})),
    "g_batch_norm_output": (G_BN_OUTPUT, frozenset({G_BN})),
    "d_relu": (D_RELU, frozenset({D_LEAKY})),
    "d_leaky_default_slope": (D_DEFAULT_SLOPE, frozenset({D_LEAKY})),
    "g_leaky_relu": (G_LEAKY, frozenset({G_RELU})),
    "d_max_pooling": (D_MAX_POOLING, frozenset({POOL})),
    "g_output_27": (G_OUTPUT_27, frozenset({G_SHAPES})),
    "g_output_32": (G_OUTPUT_32, frozenset({G_SHAPES})),
    "linear_stack": (LINEAR_STACK, frozenset({CONV})),
    "init_std_0_2": (INIT_STD_02, frozenset({INIT_CONV})),
    "init_variance_not_std": (INIT_VARIANCE, frozenset({INIT_CONV})),
    "init_default": (INIT_NOTHING, frozenset({INIT_CONV, INIT_BN})),
    "init_conv2d_only": (INIT_CONV2D_ONLY, frozenset({INIT_CONV})),
    "init_batch_norm_like_conv": (INIT_BN_LIKE_CONV, frozenset({INIT_BN})),
    "d_logits_shape_m": (D_FLAT_LOGITS, frozenset({D_SHAPES})),
    "d_logits_shape_m_2": (D_TWO_LOGITS, frozenset({D_SHAPES})),
    "latent_dim_hard_coded": (LATENT_HARD_CODED, frozenset({G_LATENT})),
    "delegates_to_library": (DELEGATES, "zero"),
}
