"""File I/O shared by every stage: clear errors that name the file, atomic writes.

Every reader here raises one error naming the offending path (``FileNotFoundError`` for a missing file,
``ValueError`` for a file that exists but cannot be decoded). Every writer writes to a temporary name in
the destination folder and renames it into place, so an interrupted stage never leaves a half-written
output behind and a re-run can trust that any file present is complete.
"""
import contextlib
import os
import os.path as osp
import tempfile
from typing import Iterator

import numpy as np
from PIL import Image

__all__ = ['atomic_path', 'missing_files', 'raise_missing_files', 'open_image', 'read_image', 'read_label_png',
           'write_label_png']

def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def interrupted_writes(folder: str) -> list:
    """The temporary files :func:`atomic_path` left in ``folder`` when its writer was killed before the rename
    (``.<stem>.<random>.tmp<suffix>``); a finished file never has such a name."""
    if not osp.isdir(folder):
        return []
    return sorted(osp.join(folder, name) for name in os.listdir(folder)
                  if name.startswith('.') and '.tmp' in name and osp.isfile(osp.join(folder, name)))


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only if the block succeeds.

    The temporary name keeps the suffix so writers that pick a format from the extension still work.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    stem, suffix = osp.splitext(osp.basename(path))
    fd, tmp = tempfile.mkstemp(prefix=f'.{stem}.', suffix=f'.tmp{suffix}', dir=folder)
    os.close(fd)
    try:
        yield tmp
        # mkstemp makes the file owner-only (0600); give it the permissions a plain open() would
        os.chmod(tmp, 0o666 & ~_current_umask())
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def missing_files(paths) -> list:
    return [p for p in paths if not osp.isfile(p)]


def raise_missing_files(paths, what: str, hint: str = '') -> None:
    """If any of ``paths`` is missing, raise one FileNotFoundError listing the first five and the count."""
    missing = missing_files(paths)
    if missing:
        shown = '\n  '.join(missing[:5])
        more = f'\n  ... and {len(missing) - 5} more' if len(missing) > 5 else ''
        raise FileNotFoundError(f'{len(missing)} {what} missing:\n  {shown}{more}{hint}')


def open_image(path: str, what: str) -> Image.Image:
    """Open and decode an image file; a missing or undecodable file is one error naming it and ``what`` it is."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} not found: {path}')
    try:
        img = Image.open(path)
        img.load()
    except Exception as exc:  # PIL raises several unrelated types for bad data
        raise ValueError(f'cannot decode {what} {path}: {exc}') from exc
    return img


def read_image(path: str) -> np.ndarray:
    """Read an image as RGB uint8 H×W×3."""
    return np.asarray(open_image(path, 'image').convert('RGB'))


def read_label_png(path: str, what: str = 'label map') -> np.ndarray:
    """Read a single-channel class-index PNG (mode 'L' or 'P') as uint8 H×W, palette indices kept."""
    img = open_image(path, what)
    if img.mode not in ('L', 'P'):
        raise ValueError(f'{what} {path} has mode {img.mode!r}; expected a single-channel index PNG '
                         "(mode 'L' or 'P')")
    return np.asarray(img)


def write_label_png(path: str, labels: np.ndarray, palette=None) -> None:
    """Atomically write a uint8 H×W index map, as a palette PNG when ``palette`` (N×3) is given."""
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.min(initial=0) < 0 or labels.max(initial=0) > 255:
        raise ValueError(f'label map for {path} must be H×W with values in 0..255')
    img = Image.fromarray(labels.astype(np.uint8), mode='L')
    if palette is not None:
        img = img.convert('P')
        flat = np.zeros((256, 3), np.uint8)
        pal = np.asarray(palette, np.uint8).reshape(-1, 3)[:256]
        flat[:len(pal)] = pal
        img.putpalette(flat.ravel().tolist())
    with atomic_path(path) as tmp:
        img.save(tmp, format='PNG')
