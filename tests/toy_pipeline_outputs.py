"""Fingerprints of every output of the toy pipeline, to prove that a refactoring changes no byte of them.

``output_hashes(work_dir, data_root)`` gives one SHA-256 per output: every file the per-image stages write
(superpixels, CAMs, IR labels, pseudo masks, confident masks, the segmenter's test predictions), the overlays,
the evaluation results, and the weights of each stage's final checkpoint. A checkpoint file also holds the date,
the mmengine meta data and the optimiser state, so its *weights* are hashed (every ``state_dict`` tensor's name,
dtype, shape and bytes) rather than the file. Logs, dumped configs, ``last_checkpoint`` and stage times are run
records, not outputs, and are left out.

The reference (``tests/toy_pipeline_outputs.json``) was recorded with this machine's torch build and CPU
kernels; float results differ between CPU instruction sets (oneDNN picks other kernels), so the test compares
only where torch's version and CPU capability equal the recorded ones. Record it (before a refactoring, never
to make a failing comparison pass) with::

    python tools/make_toy_data.py /tmp/toy --num-train 12 --num-val 4 --seed 0 && rm -r /tmp/toy/superpixels
    OMP_NUM_THREADS=1 python tools/pipeline.py configs/pipeline/toy_cpu.py --work-dir /tmp/toy_run \\
        --cfg-options data_root=/tmp/toy
    python tests/toy_pipeline_outputs.py /tmp/toy_run /tmp/toy > tests/toy_pipeline_outputs.json
"""
import hashlib
import json
import os
import os.path as osp
import sys

# Folders of the work_dir (and one of the data root) whose every file is an output.
OUTPUT_DIRS = ('cams', 'ir_labels', 'pseudo_masks', 'pseudo_masks_confident', 'segmentation/test_predictions',
               'vis')
RESULT_FILES = ('pipeline_results.json',)
CHECKPOINTS = ('cam_classifier/epoch_2.pth', 'irn/epoch_2.pth', 'segmentation/iter_4.pth')


def file_hash(path: str) -> str:
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def weights_hash(path: str) -> str:
    import torch
    state = torch.load(path, map_location='cpu', weights_only=False)['state_dict']
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        digest.update(f'{name}|{tensor.dtype}|{tuple(tensor.shape)}|'.encode())
        digest.update(tensor.numpy().tobytes() if tensor.dtype != torch.bfloat16 else tensor.view(torch.int16)
                      .numpy().tobytes())
    return digest.hexdigest()


def _tree_hashes(root: str, prefix: str) -> dict:
    hashes = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = osp.join(folder, name)
            hashes[osp.join(prefix, osp.relpath(path, root))] = file_hash(path)
    return hashes


def output_hashes(work_dir: str, data_root: str) -> dict:
    """``{output path: sha256}`` for a finished toy pipeline run (paths relative to the work_dir, ``data/``)."""
    hashes = _tree_hashes(osp.join(data_root, 'superpixels'), 'data/superpixels')
    for folder in OUTPUT_DIRS:
        if not osp.isdir(osp.join(work_dir, folder)):
            raise FileNotFoundError(f'toy pipeline output folder missing: {osp.join(work_dir, folder)}')
        hashes.update(_tree_hashes(osp.join(work_dir, folder), folder))
    for name in RESULT_FILES:
        hashes[name] = file_hash(osp.join(work_dir, name))
    for name in CHECKPOINTS:
        hashes[name + ':state_dict'] = weights_hash(osp.join(work_dir, name))
    return dict(sorted(hashes.items()))


def recording_environment() -> dict:
    """What the hashes depend on besides the code: torch's build and the CPU kernels it dispatches to."""
    import torch
    return dict(torch=torch.__version__, cpu_capability=torch.backends.cpu.get_cpu_capability())


if __name__ == '__main__':
    work_dir, data_root = sys.argv[1:3]
    json.dump(dict(environment=recording_environment(), hashes=output_hashes(work_dir, data_root)), sys.stdout,
              indent=1)
    sys.stdout.write('\n')
