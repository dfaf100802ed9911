"""Shared fixtures: the generated toy VOC set, and running repo tools in fresh processes."""
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
import torch
from mmengine.registry import init_default_scope

import mmssc  # noqa: F401  (fixes + registrations)

init_default_scope('mmseg')  # as the Runner does: string types resolve in mmseg's registries
# In-process tests run beside tool subprocesses on 2 cores: one thread each avoids oversubscription stalls.
torch.set_num_threads(1)

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TESTS_DIR = osp.dirname(osp.abspath(__file__))


def pytest_configure(config):
    # `pytest -m "not slow"` runs the unit tests alone; README's test command runs everything.
    config.addinivalue_line('markers', 'slow: runs repository tools or whole stages in subprocesses (minutes)')


def tool_env(**extra) -> dict:
    """Environment for tool subprocesses: repo and tests importable, single-threaded BLAS, offline hubs."""
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join([REPO_ROOT, TESTS_DIR, env.get('PYTHONPATH', '')])
    env.update(OMP_NUM_THREADS='1', HF_HUB_OFFLINE='1', PYTHON=sys.executable)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_tool(args, timeout=600, check=True, **env) -> subprocess.CompletedProcess:
    """Run ``args`` (a list; ``.py`` paths are run with this interpreter) from the repo root."""
    if args[0].endswith('.py'):
        args = [sys.executable] + list(args)
    proc = subprocess.run(args, cwd=REPO_ROOT, env=tool_env(**env), capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{args} exited {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}\n'
                             f'--- stderr\n{proc.stderr[-6000:]}')
    return proc


def load_tool(name: str, folder: str = 'tools'):
    """Import ``<folder>/<name>.py`` (a tool, or a benchmark script) as a module: scripts are not a package."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO_ROOT, folder, name + '.py'))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # worker processes unpickle the tool's functions by module name
    spec.loader.exec_module(module)
    return module


def toy_ids(root: str, split: str = 'train') -> list:
    """The image ids of a split of the generated toy set."""
    from mmssc.datasets.toy_voc import LAYOUT
    with open(osp.join(root, LAYOUT['split_dir'], split + '.txt')) as f:
        return [ln.strip() for ln in f if ln.strip()]


@pytest.fixture(scope='session')
def toy_voc(tmp_path_factory):
    """A generated VOC-layout toy set: (root, {image id: dict(labels, split)})."""
    from mmssc.datasets.toy_voc import make_toy_voc
    root = str(tmp_path_factory.mktemp('toy_voc'))
    return root, make_toy_voc(root, num_train=12, num_val=4, seed=0)
