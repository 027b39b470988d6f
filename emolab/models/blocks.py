"""Convolutional building blocks shared by the 2D and 3D face models and the speech CNN.

One builder (:func:`conv_stack`) makes VGG-style stacks of blocks — ``convs_per_block``
convolutions (3x3, batch-norm, ReLU) followed by 2x2 max-pooling — in 2D or 3D. In 3D, time is
padded by replicating the edge frames and never pooled, so a 3D stack inflated from a 2D one
(:func:`inflate_conv_stack`) gives exactly the 2D features on a clip of identical frames.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F


class TemporalConv3d(nn.Module):
    """3D convolution with replicate padding in time and zero padding in space."""

    def __init__(self, cin: int, cout: int, kt: int = 3, k: int = 3):
        super().__init__()
        self.pt = kt // 2
        self.conv = nn.Conv3d(cin, cout, (kt, k, k), padding=(0, k // 2, k // 2), bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pt:
            x = F.pad(x, (0, 0, 0, 0, self.pt, self.pt), mode="replicate")
        return self.conv(x)


def conv_stack(in_channels: int, widths: Sequence[int], convs_per_block: int = 1, dims: int = 2,
               temporal_kernel: int = 3, pool_last: bool = True) -> nn.Sequential:
    """A stack of conv blocks.

    Parameters
    ----------
    in_channels : int
    widths : sequence of int
        Output channels of each block.
    convs_per_block : int
        Convolutions per block.
    dims : {2, 3}
        2D (N, C, H, W) or 3D (N, C, T, H, W).
    temporal_kernel : int
        Kernel size along time (3D only).
    pool_last : bool
        Max-pool after the last block too.
    """
    layers: list[nn.Module] = []
    c = in_channels
    for b, w in enumerate(widths):
        for _ in range(convs_per_block):
            if dims == 2:
                layers += [nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
            else:
                layers += [TemporalConv3d(c, w, temporal_kernel), nn.BatchNorm3d(w), nn.ReLU(inplace=True)]
            c = w
        if pool_last or b < len(widths) - 1:
            layers.append(nn.MaxPool2d(2) if dims == 2 else nn.MaxPool3d((1, 2, 2)))
    return nn.Sequential(*layers)


@torch.no_grad()
def inflate_conv_stack(stack2d: nn.Sequential, stack3d: nn.Sequential) -> None:
    """Copy a 2D stack's weights into a 3D stack of the same layout (I3D inflation).

    Each 2D kernel ``w`` becomes ``w / kt`` repeated over the ``kt`` time steps, so that on a clip
    of identical frames every 3D convolution outputs the 2D convolution's result. Batch-norm
    parameters and running statistics are copied unchanged.
    """
    l2 = [m for m in stack2d.modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))]
    l3 = [m for m in stack3d.modules() if isinstance(m, (nn.Conv3d, nn.BatchNorm3d))]
    if len(l2) != len(l3):
        raise ValueError("the 2D and 3D stacks have different layouts")
    for a, b in zip(l2, l3):
        if isinstance(a, nn.Conv2d):
            kt = b.weight.shape[2]
            if b.weight.shape[:2] != a.weight.shape[:2] or b.weight.shape[3:] != a.weight.shape[2:]:
                raise ValueError(f"cannot inflate {tuple(a.weight.shape)} into {tuple(b.weight.shape)}")
            b.weight.copy_(a.weight.unsqueeze(2).repeat(1, 1, kt, 1, 1) / kt)
        else:
            b.weight.copy_(a.weight)
            b.bias.copy_(a.bias)
            b.running_mean.copy_(a.running_mean)
            b.running_var.copy_(a.running_var)
            b.num_batches_tracked.copy_(a.num_batches_tracked)


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``x`` [B, L, D] over positions where ``mask`` [B, L] is True (zeros if none)."""
    m = mask.unsqueeze(-1).to(x.dtype)
    return (x * m).sum(1) / m.sum(1).clamp(min=1.0)


@torch.no_grad()
def fold_batchnorm(module: nn.Module) -> nn.Module:
    """A copy of ``module`` for inference in which every batch-norm that directly follows a convolution
    in an ``nn.Sequential`` is folded into that convolution's weights and bias (and replaced by
    ``nn.Identity``); the module itself is not changed.

    The copy computes the same function in eval mode (to float rounding; tested to 1e-4) with one pass
    over memory less per block: the shipped face CNN runs ~1.25x faster in bf16 on CPU (median of 10
    paired runs, ``benchmarks/RESULTS.md``). It is for inference only: its state dict no longer matches
    the model's.
    """
    import copy

    from torch.nn.utils.fusion import fuse_conv_bn_eval

    out = copy.deepcopy(module).eval()
    for seq in [m for m in out.modules() if isinstance(m, nn.Sequential)]:
        names = list(seq._modules)
        for a, b in zip(names, names[1:]):
            conv, bn = seq._modules[a], seq._modules[b]
            inner = conv.conv if isinstance(conv, TemporalConv3d) else conv
            if isinstance(inner, (nn.Conv1d, nn.Conv2d, nn.Conv3d)) and isinstance(bn, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)) \
                    and bn.track_running_stats and bn.running_mean is not None:
                fused = fuse_conv_bn_eval(inner, bn)
                if isinstance(conv, TemporalConv3d):
                    conv.conv = fused
                else:
                    seq._modules[a] = fused
                seq._modules[b] = nn.Identity()
    return out


def pool_before_relu(module: nn.Module) -> nn.Module:
    """Swap every ``ReLU`` directly followed by an unpadded ``MaxPool`` in an ``nn.Sequential`` of ``module``
    (in place; returns it), so the ReLU runs on the pooled, 4x smaller tensor.

    Exact: max pooling and ReLU commute (both are monotone), so the outputs are bit-identical (tested);
    the shipped face CNN spends ~10 % less time per crop (``benchmarks/RESULTS.md``). For inference copies
    (:func:`fold_batchnorm`): the module's layer order, hence its state dict keys, change.
    """
    for seq in [m for m in module.modules() if isinstance(m, nn.Sequential)]:
        names = list(seq._modules)
        for a, b in zip(names, names[1:]):
            relu, pool = seq._modules[a], seq._modules[b]
            if isinstance(relu, nn.ReLU) and isinstance(pool, (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)) \
                    and not any(_nonzero(pool.padding)) and not pool.ceil_mode:
                seq._modules[a], seq._modules[b] = pool, relu
    return module


class MaxPool2x2(nn.Module):
    """2x2 max-pooling with stride 2 over the last two axes of [..., H, W] (odd edges dropped), as the
    maximum of four strided views.

    Computes exactly ``nn.MaxPool2d(2)`` (and ``nn.MaxPool3d((1, 2, 2))`` on [N, C, T, H, W]): the same
    values, NaNs propagated, without the indices PyTorch's CPU kernel also computes. For inference
    copies (:func:`fast_max_pool`): it has no backward-friendly indices and no options.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2] // 2 * 2, x.shape[-1] // 2 * 2
        x = x[..., :h, :w]
        return torch.maximum(torch.maximum(x[..., 0::2, 0::2], x[..., 0::2, 1::2]),
                             torch.maximum(x[..., 1::2, 0::2], x[..., 1::2, 1::2]))


def fast_max_pool(module: nn.Module) -> nn.Module:
    """Replace every 2x2/stride-2 ``MaxPool2d`` (and ``(1, 2, 2)`` ``MaxPool3d``) without padding,
    dilation or ceil mode in an ``nn.Sequential`` of ``module`` by :class:`MaxPool2x2` (in place;
    returns it).

    Exact (bit-identical outputs, tested). On CPU, PyTorch's max-pooling of NCHW tensors was 70 % of
    the speech CNN's time in bf16; with this, the whole model runs 2.4x faster (``benchmarks/RESULTS.md``).
    Float tensors only: quantized models keep their pooling.
    """
    def plain(pool) -> bool:
        n, want = (2, (2, 2)) if isinstance(pool, nn.MaxPool2d) else (3, (1, 2, 2))
        full = lambda v: _tuple(v) * n if len(_tuple(v)) == 1 else _tuple(v)  # noqa: E731  (2 -> (2, 2))
        return (full(pool.kernel_size) == want and full(pool.stride) == want and not any(_nonzero(pool.padding))
                and full(pool.dilation) == (1,) * n and not pool.ceil_mode and not pool.return_indices)

    for seq in [m for m in module.modules() if isinstance(m, nn.Sequential)]:
        for name, m in list(seq._modules.items()):
            if isinstance(m, (nn.MaxPool2d, nn.MaxPool3d)) and plain(m):
                seq._modules[name] = MaxPool2x2()
    return module


def _tuple(value) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _nonzero(value) -> list[bool]:
    return [bool(v) for v in _tuple(value)]

