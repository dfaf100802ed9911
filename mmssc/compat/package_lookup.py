"""``mmseg::`` config bases without ``pkg_resources`` (docs/stack_fixes.md).

mmengine 0.10.7 finds installed packages with ``pkg_resources``, which setuptools 82 removed (and 81 warns about
on import). For mmengine <= 0.10.7 (later versions use importlib.metadata themselves), ``is_installed`` / ``get_installed_path`` are replaced by ``importlib.metadata`` versions in the three
places that hold them (``mmengine.utils.package_utils``, ``mmengine.utils`` and ``mmengine.config.config``, which
imported them by name). mmssc's own configs never use ``mmseg::``; this keeps users' configs that do working.
It acts at import time, so only the tools (which ``import mmssc`` before parsing a config) benefit.
"""
import importlib.metadata
import importlib.util
import os.path as osp


def is_installed(package: str) -> bool:
    try:
        importlib.metadata.distribution(package)
        return True
    except importlib.metadata.PackageNotFoundError:
        return importlib.util.find_spec(package) is not None


def get_installed_path(package: str) -> str:
    try:
        dist = importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            raise
        return osp.dirname(spec.origin)
    location = str(dist.locate_file(''))
    if osp.exists(osp.join(location, package)):
        return osp.join(location, package)
    top_level = (dist.read_text('top_level.txt') or '').split()
    if not top_level:
        raise ValueError(f'can not infer the module name of {package}')
    return osp.join(location, top_level[0])


def apply() -> bool:
    import mmengine
    from mmengine.utils import digit_version
    if digit_version(mmengine.__version__) > digit_version('0.10.7'):
        return False
    import mmengine.config.config as config_module
    import mmengine.utils as utils_module
    import mmengine.utils.package_utils as package_utils
    for module in (package_utils, utils_module, config_module):
        module.is_installed = is_installed
        module.get_installed_path = get_installed_path
    return True
