"""Models: one registry (`create_model`, `list_models`), the architectures, and self-describing checkpoints.

As in timm's `models/__init__.py`, importing the package imports every architecture module, and each registers
itself with `@register_model`; there is no hand-kept list of modules.
"""

from core.models import attention, fernet, fernet_ds, reference, transfer  # noqa: E402,F401  (they register themselves)
from core.models.registry import ModelSpec, create_model, list_models, model_spec, parameter_count, register_model

__all__ = ["ModelSpec", "create_model", "list_models", "model_spec", "parameter_count", "register_model"]
