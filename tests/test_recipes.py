"""eep596gan.recipes: the default settings of every (model, dataset) pair, and what they build."""

import pytest
import torch

from eep596gan.data import DATASETS, IMAGE_DATASETS
from eep596gan.models import (
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
)
from eep596gan.recipes import (
    GAN_KINDS,
    LIKELIHOOD_KINDS,
    LikelihoodRecipe,
    Recipe,
    build_gan,
    likelihood_recipe,
    recipe,
    trainer_from_recipe,
)


def test_trainer_from_recipe_uses_the_recipes_settings():
    r = recipe("gan", "ring8", k=3, loss="minimax", lr=1e-3, steps=50, pack=1)
    t = trainer_from_recipe(r, (2,), seed=4, device="cpu")
    cfg = t.config
    assert (cfg.k, cfg.loss, cfg.lr, cfg.betas, cfg.seed, cfg.decay_steps) == (
        3, "minimax", 1e-3, r.betas, 4, 50)
    assert cfg.latent_dim == r.latent_dim and isinstance(t.discriminator, MLPDiscriminator)
    no_decay = trainer_from_recipe(recipe("gan", "ring8", decay=False), (2,), device="cpu")
    assert no_decay.config.decay_steps is None


def test_every_dataset_has_its_recipes():
    for name, entry in DATASETS.items():
        assert isinstance(recipe("gan", name), Recipe)
        if entry.is_image:
            assert recipe("dcgan", name).kind == "dcgan"
            for kind in LIKELIHOOD_KINDS:
                r = likelihood_recipe(kind, name)
                assert isinstance(r, LikelihoodRecipe) and r.kind == kind and r.steps > 0


def test_overrides_replace_fields_and_none_keeps_the_default():
    base = recipe("dcgan", "digits")
    assert recipe("dcgan", "digits", steps=None, lr=None) == base
    assert recipe("dcgan", "digits", steps=7, batch_size=3).steps == 7
    assert likelihood_recipe("vae", "digits", steps=None).steps == likelihood_recipe(
        "vae", "digits").steps
    assert likelihood_recipe("ar", "mnist", lr=5e-4, batch_size=None).lr == 5e-4


def test_recipes_refuse_pairs_that_do_not_exist():
    with pytest.raises(ValueError, match="unknown GAN kind 'vae'.*gan, dcgan"):
        recipe("vae", "digits")
    with pytest.raises(ValueError, match="dcgan needs images"):
        recipe("dcgan", "ring8")
    with pytest.raises(ValueError, match="unknown dataset 'cifar'"):
        recipe("gan", "cifar")
    with pytest.raises(ValueError, match="unknown kind 'gan'.*vae, ar"):
        likelihood_recipe("gan", "digits")
    with pytest.raises(ValueError, match="vae trains on image datasets"):
        likelihood_recipe("vae", "ring8")
    assert GAN_KINDS == ("gan", "dcgan") and LIKELIHOOD_KINDS == ("vae", "ar")


@pytest.mark.parametrize("name", ["ring8", *IMAGE_DATASETS])
def test_build_gan_makes_a_pair_for_the_datasets_shape(name):
    shape = DATASETS[name].shape
    for kind in ("gan", "dcgan") if len(shape) == 3 else ("gan",):
        r = recipe(kind, name, width=4, hidden=(8,))
        g, d = build_gan(r, shape)
        assert isinstance(g, MLPGenerator if kind == "gan" else DCGANGenerator)
        assert isinstance(d, MLPDiscriminator if kind == "gan" else DCGANDiscriminator)
        x = g(torch.randn(r.pack * 2, r.latent_dim))
        assert x.shape == (r.pack * 2, *shape) and d(x).shape[1:] == (1,)
