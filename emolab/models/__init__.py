"""Models: the face, speech and text networks, the fused model, and their persistence.

torch is imported here; ``import emolab`` does not import this package.
"""

from .. import registry
from .blocks import conv_stack, inflate_conv_stack
from .fusion import MODALITIES, FusedConfig, FusedModel
from .io import load_model, read_metadata, save_model
from .zoo import (CNNLSTM, ClassroomCNN, ClassroomCNNConfig, CNNLSTMConfig, Face3DCNN, Face3DCNNConfig, Face3DConfig, FaceCNN2D,
                  FaceCNN2DConfig, FaceCNNConfig, SpeechCNN, SpeechCNNConfig, TextLSTM, TextLSTMConfig)

_BY_KIND = {cls.kind: (cls, cfg) for cls, cfg in ((FaceCNN2D, FaceCNNConfig), (ClassroomCNN, ClassroomCNNConfig), (CNNLSTM, CNNLSTMConfig),
                                                 (Face3DCNN, Face3DConfig), (SpeechCNN, SpeechCNNConfig), (TextLSTM, TextLSTMConfig),
                                                 (FusedModel, FusedConfig))}
MODEL_KINDS = {kind: _BY_KIND[kind] for kind in registry.MODEL_KINDS}
"""Model kind (the names of :data:`emolab.registry.MODEL_KINDS`, in its order) -> (class, config class)."""


def build_model(kind: str, **config):
    """A fresh model of ``kind`` with ``config`` overrides (e.g. ``build_model("face3d", size=48)``)."""
    from ..errors import EmolabError

    if kind not in MODEL_KINDS:
        raise EmolabError(f"unknown model {kind!r}; choose one of {', '.join(MODEL_KINDS)}")
    cls, cfg = MODEL_KINDS[kind]
    return cls(cfg.from_dict(config))


__all__ = ["MODEL_KINDS", "MODALITIES", "build_model", "load_model", "read_metadata", "save_model", "conv_stack",
           "inflate_conv_stack", "FusedModel", "FusedConfig", "FaceCNN2D", "FaceCNNConfig", "ClassroomCNN", "ClassroomCNNConfig",
           "CNNLSTM", "CNNLSTMConfig", "Face3DCNN", "Face3DConfig", "SpeechCNN", "SpeechCNNConfig", "TextLSTM", "TextLSTMConfig",
           "FaceCNN2DConfig", "Face3DCNNConfig"]
