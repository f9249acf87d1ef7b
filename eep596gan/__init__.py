"""eep596gan: the library behind UW EEP 596 Lecture 7, Generative Adversarial Networks.

Layers (each imports only from the ones above): device, data, models, losses, train, metrics/viz,
cli/grading. Import what you need: `from eep596gan.losses import discriminator_loss`.
"""

__version__ = "0.1.0"
