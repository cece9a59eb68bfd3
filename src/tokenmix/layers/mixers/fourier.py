"""Fourier token mixers: FNet's parameter-free 2-D DFT and GFNet's learnable global filter."""

from __future__ import annotations

import torch
from torch import nn
from torch.fx._symbolic_trace import is_fx_symbolic_tracing

from ...registry import MIXERS
from ..grid import resample_map


def _fft_precision(x: torch.Tensor) -> torch.Tensor:
    """float32 for half-precision inputs (as the official GFNet code; half FFTs need power-of-two sizes)."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


@MIXERS.decorator("fourier")
class FourierMixer(nn.Module):
    """FNet's mixing layer (Lee-Thorp et al. 2022, Eq. 3): y = Re(DFT_tokens(DFT_channels(x))), no parameters.

    A 1-D DFT over the channels, then one over the N tokens, real part kept: torch.fft.fft2 over (N, C). In a
    spatial stage the tokens are the H*W positions in row-major order (the stage lays them out as a sequence).
    """

    layout = "nlc"

    def __init__(self, dim: int) -> None:
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, N, C)
        return torch.fft.fft2(_fft_precision(x), dim=(1, 2)).real.to(x.dtype)


@MIXERS.decorator("global_filter")
class GlobalFilter(nn.Module):
    """GFNet's global filter layer (Rao et al. 2021, Eq. 5): x -> IFFT2(K * FFT2(x)) over the H x W grid.

    K is a learnable complex filter per channel, stored as real (H, W // 2 + 1, C, 2) (key `complex_weight`,
    as in the official code) because a real input's 2-D spectrum is Hermitian: rfft2 keeps W // 2 + 1 columns.
    norm="ortho" makes FFT and IFFT unitary, as in the official code; another norm rescales every output. The
    filter is sized by the grid, so the model is tied to its img_size; at another one the filter is resampled
    bicubically (align_corners=True), real and imaginary parts as channels: the official fine-tuning rule
    (GFNet `main_gfnet.py`).
    """

    layout = "nhwc"

    def __init__(self, dim: int, grid: tuple[int, int], init_std: float = 0.02) -> None:
        super().__init__()
        self.grid = tuple(grid)
        h, w = self.grid
        self.complex_weight = nn.Parameter(torch.randn(h, w // 2 + 1, dim, 2) * init_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, H, W, C)
        if not is_fx_symbolic_tracing() and tuple(x.shape[1:3]) != self.grid:  # a traced shape has no value
            got = tuple(x.shape[1:3])
            raise ValueError(f"global filter sized for a {self.grid} grid got {got}; resize the filter first")
        dtype = x.dtype
        x = _fft_precision(x)
        spectrum = torch.fft.rfft2(x, dim=(1, 2), norm="ortho")
        # contiguous(): a channels_last model holds this 4-D parameter in NHWC strides, which complex views refuse
        spectrum = spectrum * torch.view_as_complex(self.complex_weight.to(x.dtype).contiguous())
        return torch.fft.irfft2(spectrum, s=self.grid, dim=(1, 2), norm="ortho").to(dtype)

    def fit_grid(self, saved: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        h, w, c, _ = saved["complex_weight"].shape  # (h, w//2+1, C, 2)
        spectrum = saved["complex_weight"].reshape(1, h, w, 2 * c).permute(0, 3, 1, 2)
        spectrum = resample_map(spectrum, self.complex_weight.shape[:2], align_corners=True)
        return {"complex_weight": spectrum.permute(0, 2, 3, 1).reshape(self.complex_weight.shape)}
