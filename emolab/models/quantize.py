"""Int8 inference for the per-frame face CNN on CPUs (post-training static quantization).

The face CNN reads every face of every second of a lesson, so on a CPU it is one of the largest costs
of an analysis. Quantized to int8 (weights per channel, 8-bit activations per tensor; PyTorch's FX graph
mode with the ``x86`` backend) it runs ~2.5x faster than in bf16 and ~10x faster than in fp32, with the
same accuracy on FER2013 validation faces at 12-48 px (``benchmarks/bench_face_int8.py``; the model card
``emolab/pretrained/face.md``). Two copies ship: 8-bit activations for CPUs with AVX-512 VNNI (exact there,
:func:`int8_supported`), and 7-bit activations (PyTorch's ``reduce_range``) for other x86 CPUs, whose int8
kernels can saturate at 8 bits; :func:`int8_file` names the one a CPU uses.

Static quantization needs the range of every activation. Those ranges are measured once, offline,
on real training faces (:func:`calibrate_int8`), the model is converted with them (:func:`quantize_int8`),
and its int8 parameters ship beside the float weights as ``face.int8.safetensors`` (:func:`save_int8`;
no corpus is shipped). Loading builds :class:`Int8ConvNet` from that file in milliseconds, without
tracing (:func:`int8_copy`), and only for the float weights it was made from.

>>> obs = calibrate_int8(model, batches)                                          # doctest: +SKIP
>>> save_int8("face.int8.safetensors", quantize_int8(model, obs), weights_sha256=meta["sha256"])  # doctest: +SKIP
>>> qmodel = int8_copy(model, meta["sha256"], "face.int8.safetensors")           # doctest: +SKIP
"""

from __future__ import annotations

import copy
import os
import warnings
from pathlib import Path
from typing import Iterable

import torch
from torch import nn

from ..atomic import atomic_path
from ..errors import ModelError

QUANTIZABLE_KINDS = ("face2d", "speech")
"""Model kinds whose int8 copy is supported: the per-frame face CNN and the speech CNN with mean pooling and
no CMVN (its input batch-norm in float, then convolutions, pooling and a linear classifier in int8). Only the
face CNN's copy ships: the bundled speech CNN's agrees with fp32 on 75 % of unseen RAVDESS utterances
(``benchmarks/bench_speech_int8.py``), too far from the model its card describes."""

_ENGINE = "x86"


def int8_engine() -> bool:
    """Whether this PyTorch has the ``x86`` quantized engine, so that models can be converted to int8 and their
    int8 files written (:func:`quantize_int8`) on any CPU; lessons use int8 only where :func:`int8_supported`."""
    try:
        import torch.ao.nn.quantized  # noqa: F401

        return _ENGINE in torch.backends.quantized.supported_engines and hasattr(torch, "quantize_per_tensor")
    except (ImportError, AttributeError, RuntimeError):
        return False


def int8_activation_bits() -> int | None:
    """Activation bits of the int8 copy this CPU should use: 8 with AVX-512 VNNI, 7 with only PyTorch's x86 engine
    (its AVX2 kernels multiply in 16-bit pairs that saturate with 8-bit activations), None without the engine."""
    if int8_supported():
        return 8
    return 7 if int8_engine() else None


def int8_file(folder: str | os.PathLike, name: str) -> Path:
    """The int8 file of model ``name`` in ``folder`` for this CPU: ``<name>.int8.safetensors`` (8-bit activations,
    CPUs with AVX-512 VNNI) or ``<name>.int8-7bit.safetensors`` (other CPUs with the x86 engine)."""
    return Path(folder) / (f"{name}.int8.safetensors" if int8_activation_bits() == 8 else f"{name}.int8-7bit.safetensors")


def int8_supported() -> bool:
    """Whether int8 inference is exact here: the ``x86`` quantized engine and a CPU with AVX-512 VNNI.

    Activations use all 8 bits (closer to the float model than PyTorch's default 7: on FER2013 faces 96-99 %
    of answers equal fp32's, against 91-97 %). Without VNNI the x86 kernels multiply in 16-bit pairs that can
    saturate at 8 bits, so there the float model is kept. PyTorch deprecates its quantized tensors (2.13 warns
    that they will be removed); where they are gone this is False too.
    """
    try:
        return int8_engine() and bool(torch.cpu._is_vnni_supported())
    except (AttributeError, RuntimeError):
        return False


def _quiet() -> None:
    # PyTorch 2.13 warns on every quantized tensor it creates that they are deprecated; said once in the docs
    # (docs/pretrained.md), not on every lesson. A filter, not catch_warnings: the face model runs in a worker thread.
    warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor, torch\.quantize_per_channel", category=UserWarning)


def _check_kind(model: nn.Module) -> None:
    kind = getattr(model, "kind", "")
    c = getattr(model, "config", None)
    if kind not in QUANTIZABLE_KINDS or getattr(c, "pooling", "mean") != "mean" or getattr(c, "cmvn", "none") != "none":
        raise ModelError(f"int8 inference supports model kinds {QUANTIZABLE_KINDS} (speech with mean pooling and no CMVN), "
                         f"not this {kind!r} model")


def _members(model: nn.Module) -> list[nn.Module] | None:
    """The member CNNs of a face CNN ensemble (``config.members > 1``), else None. Each member is quantized on its
    own; their int8 parameters are stored under ``members.<i>.``."""
    if getattr(model, "kind", "") == "face2d" and getattr(getattr(model, "config", None), "members", 1) > 1:
        return list(model.members)
    return None


def _member_state(state: dict[str, torch.Tensor], i: int) -> dict[str, torch.Tensor]:
    prefix = f"members.{i}."
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def _example(model: nn.Module) -> torch.Tensor:
    c = model.config
    return torch.zeros(1, 1, c.size, c.size) if model.kind == "face2d" else torch.zeros(1, 1, c.n_features, 64)


def _prepared(model: nn.Module, activation_bits: int = 8) -> nn.Module:
    from torch.ao.quantization import QConfig, get_default_qconfig_mapping
    from torch.ao.quantization.observer import HistogramObserver, PerChannelMinMaxObserver
    from torch.ao.quantization.quantize_fx import prepare_fx

    from .blocks import fold_batchnorm

    _check_kind(model)
    torch.backends.quantized.engine = _ENGINE
    _quiet()
    # PyTorch's x86 mapping, by default with 8-bit instead of 7-bit activations (exact on VNNI CPUs, see
    # int8_supported; 7: the default's reduce_range, for other CPUs); weights per output channel, symmetric int8, as in
    # the default; a model's input normalisation stays float. The observers' statistics do not depend on the bits.
    if activation_bits not in (7, 8):
        raise ModelError(f"activation_bits must be 7 or 8, got {activation_bits}")
    full = QConfig(activation=HistogramObserver.with_args(reduce_range=activation_bits == 7),
                   weight=PerChannelMinMaxObserver.with_args(dtype=torch.qint8, qscheme=torch.per_channel_symmetric))
    mapping = get_default_qconfig_mapping(_ENGINE).set_global(full).set_module_name("norm", None)
    with warnings.catch_warnings():  # FX quantization warns that it will move to torchao
        warnings.simplefilter("ignore")
        return prepare_fx(fold_batchnorm(model).eval(), mapping, (_example(model),))


def _observers(prepared: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in prepared.state_dict().items() if "activation_post_process" in k}


@torch.no_grad()  # not inference_mode: the observers' buffers must stay loadable
def calibrate_int8(model: nn.Module, batches: Iterable[torch.Tensor]) -> dict[str, torch.Tensor]:
    """Measure the activation ranges of ``model`` on real inputs.

    Parameters
    ----------
    model : nn.Module
        A float model of :data:`QUANTIZABLE_KINDS`.
    batches : iterable of torch.Tensor [shape=(B, 1, H, W)]
        Inputs as the model reads them (faces [B, 1, size, size] in [0, 1]; MFCC maps [B, 1, F, frames]);
        a thousand of the kinds it will see is plenty.

    Returns
    -------
    dict of str -> torch.Tensor
        The observers' statistics (histograms and ranges), for :func:`quantize_int8`.
    """
    members = _members(model)
    if members is not None:
        batches = list(batches)  # every member sees the same inputs
        return {f"members.{i}.{k}": v for i, m in enumerate(members) for k, v in calibrate_int8(m, batches).items()}
    prepared = _prepared(model)
    n = 0
    for x in batches:
        prepared(x.float())
        n += len(x)
    if n == 0:
        raise ModelError("int8 calibration needs at least one batch of inputs")
    return _observers(prepared)


def quantize_int8(model: nn.Module, observers: dict[str, torch.Tensor], activation_bits: int = 8) -> nn.Module:
    """The int8 inference copy of ``model`` from its float weights and measured activation ranges
    (PyTorch's FX graph mode; offline: loading a shipped copy uses :func:`int8_copy`).

    Parameters
    ----------
    model : nn.Module
        The float model the observers were measured on (not changed).
    observers : dict
        From :func:`calibrate_int8`.
    activation_bits : {8, 7}
        8 for CPUs with AVX-512 VNNI, 7 for other x86 CPUs (:func:`int8_activation_bits`); the same observers
        serve both.

    Returns
    -------
    nn.Module
        Takes float ``[B, 1, size, size]`` input, returns float logits; CPU only, eval mode.
    """
    from torch.ao.quantization.quantize_fx import convert_fx

    if not int8_engine():
        raise ModelError("this PyTorch build has no x86 int8 engine", hint="use precision='bf16' or 'fp32'")
    members = _members(model)
    if members is not None:
        q = _QuantizedMembers([quantize_int8(m, _member_state(observers, i), activation_bits) for i, m in enumerate(members)])
        q.kind, q.config, q.activation_bits = model.kind, model.config, activation_bits
        return q
    prepared = _prepared(model, activation_bits)
    expected = set(_observers(prepared))
    if set(observers) != expected:
        raise ModelError("these observers were not measured on this model's layers",
                         hint="calibrate_int8 on this model")
    prepared.load_state_dict(observers, strict=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = convert_fx(prepared)
    q.kind, q.config, q.activation_bits = model.kind, model.config, activation_bits
    return q


def int8_state(qmodel: nn.Module) -> dict[str, torch.Tensor]:
    """The int8 parameters of a model from :func:`quantize_int8` as plain tensors (for :func:`save_int8`):
    per layer the int8 weight, its per-channel scales and zero points, the float bias and the output's
    scale and zero point; ``input.scale`` / ``input.zero_point`` quantize the input."""
    import torch.ao.nn.quantized as nnq

    if isinstance(qmodel, _QuantizedMembers):
        return {f"members.{i}.{k}": v for i, q in enumerate(qmodel.members) for k, v in int8_state(q).items()}
    quant = [n for n in qmodel.graph.nodes if n.op == "call_function" and n.target is torch.quantize_per_tensor]
    if len(quant) != 1:
        raise ModelError(f"not a model from quantize_int8: {len(quant)} input quantizations, expected 1")
    scale, zero_point = (getattr(qmodel, a.target) for a in quant[0].args[1:3])
    out = {"input.scale": torch.as_tensor(scale).reshape(1).double(), "input.zero_point": torch.as_tensor(zero_point).reshape(1).long()}
    for name, mod in qmodel.named_modules():
        if isinstance(mod, (nnq.Conv2d, nnq.Linear)):
            w, b = mod.weight(), mod.bias()
            if w.qscheme() != torch.per_channel_affine:
                raise ModelError(f"{name}: expected per-channel int8 weights")
            out[f"{name}.weight"] = w.int_repr()
            out[f"{name}.weight_scales"] = w.q_per_channel_scales().double()
            out[f"{name}.weight_zero_points"] = w.q_per_channel_zero_points().long()
            out[f"{name}.bias"] = b.detach().float() if b is not None else torch.zeros(w.shape[0])
            out[f"{name}.scale"] = torch.tensor([float(mod.scale)], dtype=torch.float64)
            out[f"{name}.zero_point"] = torch.tensor([int(mod.zero_point)], dtype=torch.int64)
    return out


class Int8ConvNet(nn.Module):
    """A model of :data:`QUANTIZABLE_KINDS` running in int8, built from :func:`int8_state` without tracing.

    Computes what :func:`quantize_int8`'s model computes (bit for bit, tested): the input normalisation
    in float where the model has one (speech: its input batch-norm), the input
    quantized, every convolution int8 with its folded batch-norm and the ReLU after it, max-pooling on int8 tensors,
    int8 global average pooling and classifier, logits dequantized. Input ``[B, 1, H, W]`` float, output
    ``[B, n_classes]`` float logits.
    """

    def __init__(self, model: nn.Module, state: dict[str, torch.Tensor]):
        import torch.ao.nn.quantized as nnq

        from .blocks import fold_batchnorm

        super().__init__()
        _check_kind(model)
        self.kind, self.config = model.kind, model.config
        self.norm = copy.deepcopy(model.norm).eval() if isinstance(getattr(model, "norm", None), nn.Module) else None
        torch.backends.quantized.engine = _ENGINE
        _quiet()
        try:
            self.quant = nnq.Quantize(float(state["input.scale"]), int(state["input.zero_point"]), torch.quint8)
            float_model = fold_batchnorm(model)
            children = [(n, m) for n, m in float_model.features.named_children() if not isinstance(m, nn.Identity)]
            layers, i = [], 0
            while i < len(children):
                name, m = children[i]
                # a ReLU after a convolution runs inside it (exact: clamping the quantized output at its zero point)
                relu = isinstance(m, nn.Conv2d) and i + 1 < len(children) and isinstance(children[i + 1][1], nn.ReLU)
                layers.append(self._conv(f"features.{name}", m, state, relu) if isinstance(m, nn.Conv2d) else m)
                i += 2 if relu else 1
            self.features = nn.Sequential(*layers)
            lin = [m for m in float_model.head if isinstance(m, nn.Linear)]
            if len(lin) != 1:
                raise KeyError("head")
            self.linear = self._linear(f"head.{list(float_model.head).index(lin[0])}", lin[0], state)
        except KeyError as exc:
            raise ModelError(f"the int8 file lacks {exc} for this model's layers",
                             hint="regenerate it for these weights (benchmarks/bench_face_int8.py --write)") from None

    @staticmethod
    def _qweight(prefix: str, state: dict) -> torch.Tensor:
        return torch._make_per_channel_quantized_tensor(state[f"{prefix}.weight"], state[f"{prefix}.weight_scales"],
                                                        state[f"{prefix}.weight_zero_points"], 0)

    def _conv(self, prefix: str, m: nn.Conv2d, state: dict, relu: bool = False) -> nn.Module:
        import torch.ao.nn.intrinsic.quantized as nniq
        import torch.ao.nn.quantized as nnq

        q = (nniq.ConvReLU2d if relu else nnq.Conv2d)(m.in_channels, m.out_channels, m.kernel_size, stride=m.stride, padding=m.padding,
                       dilation=m.dilation, groups=m.groups, bias=True, padding_mode=m.padding_mode)
        q.set_weight_bias(self._qweight(prefix, state), state[f"{prefix}.bias"])
        q.scale, q.zero_point = float(state[f"{prefix}.scale"]), int(state[f"{prefix}.zero_point"])
        return q

    def _linear(self, prefix: str, m: nn.Linear, state: dict) -> nn.Module:
        import torch.ao.nn.quantized as nnq

        q = nnq.Linear(m.in_features, m.out_features)
        q.set_weight_bias(self._qweight(prefix, state), state[f"{prefix}.bias"])
        q.scale, q.zero_point = float(state[f"{prefix}.scale"]), int(state[f"{prefix}.zero_point"])
        return q

    def _pooled(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float()
        if self.norm is not None:
            x = self.norm(x)
        return self.features(self.quant(x.contiguous())).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self._pooled(x)).dequantize()

    def read(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits ``[B, n_classes]`` and the pooled embedding ``[B, embed_dim]`` (dequantized) of one pass."""
        pooled = self._pooled(x)
        return self.linear(pooled).dequantize(), pooled.dequantize()


class _QuantizedMembers(nn.Module):
    """The members of a face CNN ensemble as converted by :func:`quantize_int8`, their probabilities averaged."""

    def __init__(self, members: list[nn.Module]):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from .zoo import average_probabilities

        return average_probabilities([m(x) for m in self.members])


class Int8Ensemble(_QuantizedMembers):
    """A face CNN ensemble (``config.members > 1``) in int8: each member an :class:`Int8ConvNet` built from its
    ``members.<i>.`` parameters, their probabilities averaged (:func:`~emolab.models.zoo.average_probabilities`)."""

    def __init__(self, model: nn.Module, state: dict[str, torch.Tensor]):
        members = _members(model)
        if members is None:
            raise ModelError("Int8Ensemble needs a face CNN ensemble (config.members > 1)")
        super().__init__([Int8ConvNet(m, _member_state(state, i)) for i, m in enumerate(members)])
        self.kind, self.config = model.kind, model.config


def build_int8(model: nn.Module, state: dict[str, torch.Tensor]) -> nn.Module:
    """The int8 model of ``model`` from its int8 parameters (:func:`int8_state`, or a file read by :func:`load_int8`),
    without tracing: an :class:`Int8Ensemble` for a face CNN ensemble, else an :class:`Int8ConvNet`; eval mode."""
    return (Int8Ensemble if _members(model) is not None else Int8ConvNet)(model, state).eval()


def save_int8(path: str | os.PathLike, qmodel: nn.Module, **metadata: str) -> Path:
    """Write the int8 parameters of ``qmodel`` (:func:`quantize_int8`) to a ``.safetensors`` file, atomically;
    string ``metadata`` is kept (the bundled file records ``weights_sha256``, the float weights' digest) and the
    activation bits are recorded (``activation_bits``, 8 or 7)."""
    from safetensors.torch import save_file

    from .io import _digest

    state = {k: v.contiguous() for k, v in int8_state(qmodel).items()}
    bits = str(getattr(qmodel, "activation_bits", 8))
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata={**metadata, "activation_bits": bits, "sha256": _digest(state)})
    return Path(path)


def load_int8(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read a file written by :func:`save_int8`: ``(state, metadata)``; its contents are checked against the
    digest it was saved with (as :func:`~emolab.models.io.load_model` checks a model file)."""
    from safetensors import safe_open

    from .io import _digest

    try:
        with safe_open(str(path), framework="pt") as f:
            state, meta = {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})
    except Exception as exc:  # truncated or not a safetensors file
        raise ModelError(f"cannot read the int8 model file ({exc})", path=path) from None
    if meta.get("sha256") != _digest(state):
        raise ModelError("the int8 model file does not match its digest (tampered with, or not written by save_int8)", path=path)
    return state, meta


def int8_copy(model: nn.Module, weights_sha256: str, path: str | os.PathLike) -> nn.Module | None:
    """The int8 copy of a model (face or speech CNN) from the file ``path`` (:func:`save_int8`), or None where there is none to make.

    None (the caller keeps its float model) when the model kind is not quantizable, this PyTorch has no
    x86 int8 engine, ``path`` does not exist, it was made from other weights than ``weights_sha256``
    (the digest in the model file's metadata), as after replacing the bundled face model, or it has 8-bit
    activations and this CPU lacks AVX-512 VNNI (they would saturate; :func:`int8_file` names the 7-bit copy).
    A file that exists but cannot be read raises :class:`~emolab.errors.ModelError`.
    """
    try:
        _check_kind(model)
    except ModelError:
        return None
    if not int8_engine() or not Path(path).is_file():
        return None
    state, meta = load_int8(path)
    if meta.get("weights_sha256") != weights_sha256:
        return None
    if int(meta.get("activation_bits", 8)) == 8 and not int8_supported():
        return None
    return build_int8(model, state)
