"""mmssc: SSC weakly supervised semantic segmentation for OpenMMLab.

The tested versions are pinned in requirements.txt (the one place they are pinned); install with
``pip install -r requirements.txt -e .``. ``install_requires`` takes the same lines, minus mmcv-lite (a GPU
install may use full mmcv instead, and both provide the ``mmcv`` package) and the test runner.
"""
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def runtime_requirements():
    skipped = ('mmcv-lite', 'pytest')
    with open(osp.join(HERE, 'requirements.txt')) as f:
        lines = [ln.split('#')[0].strip() for ln in f]
    return [ln for ln in lines if ln and not ln.startswith(skipped)]


def version():
    scope = {}
    with open(osp.join(HERE, 'mmssc', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='mmssc',
    version=version(),
    description='SSC (spatial structure constraints) weakly supervised semantic segmentation on OpenMMLab',
    long_description=open(osp.join(HERE, 'README.md'), encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmssc', 'mmssc.*']),
    python_requires='>=3.9',
    install_requires=runtime_requirements(),
    license='Apache-2.0',
)
