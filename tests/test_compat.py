"""Each stack fix of mmssc.compat, checked in a fresh interpreter (docs/stack_fixes.md).

Where possible the same check also runs *without* mmssc, to show the fix is what makes it pass.
"""
import subprocess
import sys
import textwrap

import pytest

from conftest import REPO_ROOT, tool_env


def run_python(code: str, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)], cwd=REPO_ROOT, env=tool_env(),
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_mmseg_models_import_and_mmcv_ops_stand_in():
    proc = run_python("""
        import mmssc, torch
        import mmseg.models, mmseg.datasets, mmseg.evaluation, mmseg.apis, mmseg.engine, mmseg.visualization
        from mmseg.registry import MODELS
        assert 'TinyCAMClassifier' in MODELS.module_dict and 'TIMMBackbone' in MODELS.module_dict
        import mmcv.ops
        assert mmssc.compat.applied()['mmcv_ops'] is True
        try:
            from mmcv.ops import roi_align
        except ModuleNotFoundError as exc:
            assert 'compiled ops' in str(exc)
        else:
            raise AssertionError('a compiled op resolved on mmcv-lite')
        # point_sample is the real pure-PyTorch one: equals grid_sample at the same normalised points
        feats = torch.randn(1, 2, 5, 7); pts = torch.rand(1, 9, 2)
        ref = torch.nn.functional.grid_sample(feats, (2 * pts - 1)[:, :, None], align_corners=False)[..., 0]
        assert torch.allclose(mmcv.ops.point_sample(feats, pts), ref, atol=1e-6)
        print('OK')
    """)
    assert proc.returncode == 0 and 'OK' in proc.stdout, proc.stderr[-3000:]


@pytest.mark.slow
def test_mmseg_models_import_fails_without_the_fix():
    proc = run_python('import mmseg.models')
    if proc.returncode == 0:
        pytest.skip('compiled mmcv ops present: the stand-in is not needed here')
    assert 'mmcv._ext' in proc.stderr


@pytest.mark.slow
def test_stand_in_not_installed_when_compiled_ops_exist():
    proc = run_python("""
        import sys, types
        sys.modules['mmcv._ext'] = types.ModuleType('mmcv._ext')   # pretend full mmcv
        import importlib.util   # load the fix alone: importing the package would import mmseg, hence mmcv.ops
        spec = importlib.util.spec_from_file_location('mmcv_ops_fix', 'mmssc/compat/mmcv_ops.py')
        m = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(m)
        assert m.apply() is False and 'mmcv.ops' not in sys.modules
        print('OK')
    """)
    assert proc.returncode == 0 and 'OK' in proc.stdout, proc.stderr[-3000:]


RESUME_CHECKPOINT = """
    import torch, numpy as np
    from mmengine.logging import HistoryBuffer
    from mmengine.runner.checkpoint import CheckpointLoader
    buf = HistoryBuffer(); buf.update(1.5)
    torch.save(dict(meta=dict(epoch=np.int64(3), buffer=buf), state_dict={{}}), {path!r})
    {prelude}
    ckpt = CheckpointLoader.load_checkpoint({path!r}, map_location='cpu')
    assert int(ckpt['meta']['epoch']) == 3 and ckpt['meta']['buffer'].current() == 1.5
    print('OK')
"""


@pytest.mark.slow
def test_trusted_local_checkpoint_loading(tmp_path):
    path = str(tmp_path / 'ckpt.pth')
    fixed = run_python(RESUME_CHECKPOINT.format(path=path, prelude='import mmssc'))
    assert fixed.returncode == 0 and 'OK' in fixed.stdout, fixed.stderr[-3000:]
    stock = run_python(RESUME_CHECKPOINT.format(path=path, prelude=''))
    assert stock.returncode != 0 and 'Weights only load failed' in stock.stderr


MMSEG_BASE_CONFIG = """
    import sys
    sys.modules['pkg_resources'] = None       # as with setuptools >= 82
    {prelude}
    from mmengine.config import Config
    open({path!r}, 'w').write("_base_ = ['mmseg::_base_/default_runtime.py']\\n")
    cfg = Config.fromfile({path!r})
    assert cfg.default_scope == 'mmseg'
    print('OK')
"""


@pytest.mark.slow
def test_mmseg_config_lookup_without_pkg_resources(tmp_path):
    path = str(tmp_path / 'cfg.py')
    fixed = run_python(MMSEG_BASE_CONFIG.format(path=path, prelude='import mmssc'))
    assert fixed.returncode == 0 and 'OK' in fixed.stdout, fixed.stderr[-3000:]
    stock = run_python(MMSEG_BASE_CONFIG.format(path=path, prelude=''))
    assert stock.returncode != 0 and 'pkg_resources' in stock.stderr


CPU_INIT_DIST = """
    import os, atexit
    os.environ.update(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1', MASTER_ADDR='127.0.0.1', MASTER_PORT='{port}')
    {prelude}
    import torch.distributed as dist
    from mmengine.dist import init_dist
    init_dist('pytorch', backend='nccl')      # a GPU config, run where there is no GPU
    assert dist.get_backend() == 'gloo'
    print('OK')
"""


@pytest.mark.slow
def test_cpu_distributed_init_and_clean_exit():
    from conftest import free_port
    import torch
    if torch.cuda.is_available():
        pytest.skip('CUDA present: the CPU fix is deliberately not applied')
    fixed = run_python(CPU_INIT_DIST.format(port=free_port(), prelude='import mmssc'))
    assert fixed.returncode == 0 and 'OK' in fixed.stdout, fixed.stderr[-3000:]
    stock = run_python(CPU_INIT_DIST.format(port=free_port(), prelude=''))
    assert stock.returncode != 0


@pytest.mark.slow
def test_cpu_fixes_skipped_when_cuda_present():
    proc = run_python("""
        import torch
        torch.cuda.is_available = lambda: True     # pretend a GPU machine
        import mmengine.dist.utils as du
        original = du._init_dist_pytorch
        import mmssc
        assert mmssc.compat.applied()['cpu_dist'] is False and du._init_dist_pytorch is original
        print('OK')
    """)
    assert proc.returncode == 0 and 'OK' in proc.stdout, proc.stderr[-3000:]


def test_import_without_mmcv_is_one_error_that_says_how_to_install_it():
    # a bare `pip install -e .` leaves mmcv out; None in sys.modules makes `import mmcv` fail as if absent
    proc = run_python("""
        import sys
        sys.modules['mmcv'] = None
        try:
            import mmssc
        except ImportError as exc:
            assert type(exc) is ImportError, type(exc)      # not a raw ModuleNotFoundError from deep inside
            assert exc.__cause__ is None and exc.__suppress_context__
            print(exc)
    """)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'pip install mmcv-lite==2.1.0' in proc.stdout and 'mim install "mmcv==2.1.0"' in proc.stdout
