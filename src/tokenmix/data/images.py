"""One image file decoded for a model: 8 bits per channel, in the model's channels (grey or RGB).

Two things PIL's plain `Image.open(path).convert("RGB")` gets wrong for us: a 16-bit grey PNG (mode I;16) is
clipped to 255, so nearly every pixel turns white; here it is scaled to 8 bits instead. And PIL's
decompression-bomb guard (Image.MAX_IMAGE_PIXELS) raises an error that names no file; here every failure is
one ImageError naming the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError


class ImageError(ValueError):
    """An image file that cannot be used, with the file and the reason."""


def open_image(path: Path, channels: int = 3) -> Image.Image:
    """The image at `path` as mode L (channels=1) or RGB (channels=3), fully decoded."""
    if not path.is_file():
        raise ImageError(f"image {path} does not exist")
    try:
        with Image.open(path) as im:
            return to_8_bits(im).convert("L" if channels == 1 else "RGB")  # convert forces the whole decode
    except Image.DecompressionBombError as e:
        raise ImageError(f"image {path} is too large to decode safely: {e}") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise ImageError(f"cannot read image {path}: {e}") from None


def to_8_bits(im: Image.Image) -> Image.Image:
    """16-bit grey scaled to 0..255 (x * 255 / 65535, rounded); every other mode as it is."""
    if not im.mode.startswith("I;16"):
        return im
    x = np.asarray(im).astype(np.uint32)
    return Image.fromarray(((x * 255 + 32767) // 65535).astype(np.uint8), mode="L")
