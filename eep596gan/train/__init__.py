"""Training: one loop (`loop.Trainer`) and the trainers built on it.

- `loop`: the core every trainer shares (device-resident statistics, lazy sync, NaN stop,
  callbacks, atomic checkpoints, exact resume) and `make_adam`.
- `gan`: the lecture's two updates `d_step`, `g_step` and `GANTrainer` (the k-step algorithm).
- `likelihood`: `VAETrainer` (maximise the ELBO), `ARTrainer` (maximise the exact likelihood).
- `translation`: pix2pix and CycleGAN; `mle`: maximum likelihood for explicit densities.
"""

from .gan import GANConfig, GANTrainer, SampleSnapshots, d_step, g_step
from .likelihood import ARTrainer, VAETrainer
from .loop import ModelTrainer, Trainer, atomic_save, make_adam
from .mle import MLETrainer, fit_mle
from .translation import CycleGANTrainer, Pix2PixTrainer, fit_cyclegan, fit_pix2pix

__all__ = [
    "Trainer", "ModelTrainer", "make_adam", "atomic_save",
    "GANConfig", "GANTrainer", "SampleSnapshots", "d_step", "g_step",
    "VAETrainer", "ARTrainer", "MLETrainer", "fit_mle",
    "Pix2PixTrainer", "CycleGANTrainer", "fit_pix2pix", "fit_cyclegan",
]
