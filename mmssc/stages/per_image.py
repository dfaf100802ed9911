"""The per-image loop every per-image stage runs (superpixels, cams, ir_labels, pseudo_masks), written once.

pending images → this process's share → reading (and CPU work) in data-loader workers → compute in this process →
atomic writes → a progress bar with counts and ETA. A stage is a :class:`PerImageTask`: what an image's outputs
are, how a unit of images is loaded (in a worker) and computed (here), how the result is written. Outputs are
written atomically (:mod:`mmssc.fileio`), so a finished output is complete, an interrupted run resumes by skipping
finished images, and several processes (torchrun: ``WORLD_SIZE`` > 1) each take every ``world``-th pending image
after a barrier, so no rank lists an image that another has just written.
"""
import os
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

__all__ = ['Ranks', 'start_ranks', 'pick_device', 'load_stage_config', 'load_model', 'Progress', 'PerImageTask',
           'run_per_image', 'overlay_step', 'report_failure']


class Ranks:
    """This process's place among the processes of a stage (one process unless launched by torchrun)."""

    def __init__(self, rank: int = 0, world: int = 1):
        self.rank, self.world = rank, world

    @property
    def distributed(self) -> bool:
        return self.world > 1

    def prefix(self, tool: str) -> str:
        """Log prefix: ``[tool] `` or ``[tool rank r/w] ``."""
        return f'[{tool} rank {self.rank}/{self.world}] ' if self.distributed else f'[{tool}] '

    def share(self, pending: Sequence) -> list:
        """This process's part of the pending items, after every rank has listed them."""
        self.barrier()
        return list(pending)[self.rank::self.world]

    def barrier(self) -> None:
        if self.distributed:
            from mmengine.dist import barrier
            barrier()


def start_ranks() -> Ranks:
    """Initialise the process group when launched by torchrun (gloo without CUDA, NCCL with)."""
    from mmengine.dist import get_dist_info, init_dist
    if int(os.environ.get('WORLD_SIZE', '1')) > 1:
        init_dist('pytorch')
    return Ranks(*get_dist_info())


def pick_device(name: Optional[str], ranks: Ranks) -> torch.device:
    """``name`` if given, else this process's GPU (init_dist selected it), else the CPU."""
    if name:
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device('cuda', torch.cuda.current_device() if ranks.distributed else 0)
    return torch.device('cpu')


def load_stage_config(path: str, cfg_options: Optional[dict] = None):
    """The stage's config file with ``--cfg-options`` merged."""
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def load_model(model_cfg, checkpoint: str, device, required_method: str) -> torch.nn.Module:
    """The model of ``model_cfg`` with every weight from ``checkpoint``, in eval mode on ``device``.

    Every parameter and buffer must come from the checkpoint (a missing one is an error: a stage output made from
    random weights is worthless); checkpoint entries the model does not have (training-only parts) are ignored.
    ``required_method`` names what the stage calls (``cam_features``, ``boundary_map``), checked up front.
    """
    from mmengine.runner import CheckpointLoader
    from mmseg.registry import MODELS

    if not os.path.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
    model = MODELS.build(model_cfg)
    if not callable(getattr(model, required_method, None)):
        raise ValueError(f'{type(model).__name__} has no {required_method}(...): not a model this stage can use')
    try:
        state = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu', logger='silent')
    except Exception as exc:  # torch/pickle raise many types for a bad file
        raise ValueError(f'cannot read checkpoint {checkpoint}: {exc}') from exc
    state = state.get('state_dict', state) if isinstance(state, dict) else state
    state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
    try:
        missing = model.load_state_dict(state, strict=False).missing_keys
    except RuntimeError as exc:  # shape mismatches
        raise ValueError(f'checkpoint {checkpoint} does not fit {type(model).__name__}: {exc}') from exc
    if missing:
        raise ValueError(f'checkpoint {checkpoint} lacks {len(missing)} weights of {type(model).__name__} '
                         f'(first: {missing[0]}): is it a checkpoint of this config?')
    return model.to(device).eval()


class Progress:
    """mmengine's progress bar (count, rate, elapsed, ETA) with at most ~100 updates, so logs of large runs stay
    short; nothing is shown when ``enabled`` is false (ranks other than 0)."""

    def __init__(self, total: int, enabled: bool = True):
        from mmengine.utils import ProgressBar
        self.bar = ProgressBar(total, file=sys.stdout) if enabled and total else None
        self.total, self.done, self.unreported = total, 0, 0
        self.step = max(1, total // 100)

    def update(self, count: int = 1) -> None:
        self.done += count
        self.unreported += count
        if self.bar is not None and (self.unreported >= self.step or self.done == self.total):
            self.bar.update(self.unreported)
            self.unreported = 0

    def close(self) -> None:
        if self.bar is not None:
            self.bar.file.write('\n')
            self.bar.file.flush()


class PerImageTask:
    """One per-image stage. ``items`` are dicts with at least ``img_id`` and ``img_path``.

    Subclasses define :meth:`outputs`, :meth:`load` (runs in data-loader workers: reading, and CPU work that needs
    no model) and :meth:`write`; :meth:`compute` (this process: the network) defaults to passing the loaded sample
    through. :meth:`units` groups items that are computed together (default: one image per unit).
    """
    name = 'stage'
    what = 'outputs'  # how the outputs are called in messages

    def outputs(self, item: dict) -> Dict[str, str]:
        """``{output name: path}`` of one image."""
        raise NotImplementedError

    def is_done(self, item: dict) -> bool:
        return all(os.path.isfile(path) for path in self.outputs(item).values())

    def check_inputs(self, pending: Sequence[dict]) -> None:
        """Raise one error naming missing inputs of the pending images before anything is written."""

    def units(self, items: Sequence[dict]) -> List[List[dict]]:
        return [[item] for item in items]

    def load(self, unit: List[dict]) -> dict:
        raise NotImplementedError

    def compute(self, sample: dict) -> List[Tuple[dict, object]]:
        """``[(item, result), ...]`` for a loaded unit; the default takes ``sample['results']`` as computed."""
        return sample['results']

    def write(self, item: dict, result) -> None:
        raise NotImplementedError


class _LoadUnits(torch.utils.data.Dataset):
    """Data-loader side: a failure is returned, not raised, so this process reports it as one error naming the
    file instead of a worker traceback."""

    def __init__(self, task: PerImageTask, units: Sequence[List[dict]]):
        self.task, self.units = task, list(units)

    def __len__(self) -> int:
        return len(self.units)

    def __getitem__(self, index: int) -> dict:
        try:
            return self.task.load(self.units[index])
        except Exception as exc:  # KeyboardInterrupt/SystemExit are not Exceptions and pass through
            return dict(error=exc)


def _as_is(sample):  # collate_fn: a unit is already one sample; keep NumPy arrays as they are
    return sample


def run_per_image(task: PerImageTask, items: Sequence[dict], workers: int = 0, ranks: Optional[Ranks] = None,
                  prefix: str = '', where: str = '', after: Optional[Callable[[], None]] = None) -> int:
    """Write the outputs of every pending image of ``items``; return how many images this process wrote.

    ``where`` (the output folder, shown in the first line) and ``prefix`` (the log prefix) are for messages only;
    ``after`` runs on rank 0 once every rank has finished (e.g. overlays).
    """
    ranks = ranks or Ranks()
    pending = [item for item in items if not task.is_done(item)]
    task.check_inputs(pending)
    todo = ranks.share(pending)
    print(f'{prefix}{len(items)} images, {len(items) - len(pending)} already done, {len(pending)} to do'
          + (f', {len(todo)} in this process' if ranks.distributed else '') + (f' -> {where}' if where else ''),
          flush=True)
    loader = torch.utils.data.DataLoader(_LoadUnits(task, task.units(todo)), batch_size=None, shuffle=False,
                                         num_workers=workers, collate_fn=_as_is)
    progress = Progress(len(todo), enabled=ranks.rank == 0)
    start, written = time.perf_counter(), 0
    with torch.no_grad():
        for sample in loader:
            if 'error' in sample:
                raise sample['error']
            for item, result in task.compute(sample):
                task.write(item, result)
                written += 1
                progress.update()
    progress.close()
    if written:
        elapsed = time.perf_counter() - start
        print(f'{prefix}wrote {written} {task.what} in {elapsed:.1f}s ({written / elapsed:.2f} images/s)',
              flush=True)
    ranks.barrier()
    if ranks.rank == 0:
        left = [item['img_id'] for item in items if not task.is_done(item)]
        if left:
            raise RuntimeError(f'{len(left)} images still lack their {task.what} (first: {left[0]})')
        if after is not None:
            after()
    return written


def overlay_step(work_dir: str, items: Sequence[dict], show_dir: Optional[str], show_num: int,
                 prefix: str) -> Optional[Callable[[], None]]:
    """What :func:`run_per_image` runs last when overlays are asked for: image | CAM | IR label | pseudo mask |
    confidence of the first ``show_num`` images (whichever of the stage folders exist) into ``show_dir``."""
    if not show_dir or show_num <= 0:
        return None

    def write() -> None:
        from ..visualization import write_stage_overlays
        shown = write_stage_overlays(work_dir, items, show_dir, show_num)
        print(f'{prefix}{len(shown)} overlays -> {show_dir}', flush=True)
    return write


def report_failure(prefix: str, exc: Exception, what: str) -> int:
    """Print one error line and what is kept; the exit status of a failed per-image tool."""
    print(f'{prefix}error: {exc}', file=sys.stderr, flush=True)
    print(f'{prefix}{what} written so far are complete and kept; re-run to resume', file=sys.stderr)
    return 1
