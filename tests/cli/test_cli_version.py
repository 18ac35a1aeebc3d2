"""`graphpfm --version`: the package, its main dependencies and the device."""
import importlib.metadata as md

import pytest
import torch

from graphpfm import __version__
from graphpfm.cli import run


def test_version_names_packages_and_device(capsys):
    with pytest.raises(SystemExit) as exit_info:
        run(['--version'])
    assert exit_info.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f'graphpfm {__version__}'
    assert f"torch {md.version('torch')}" in lines
    assert f"torch_geometric {md.version('torch_geometric')}" in lines
    device = lines[-1]
    assert device.startswith('device cuda' if torch.cuda.is_available() else 'device cpu')


def test_versions_from_python_is_what_the_flag_prints(capsys):
    import graphpfm
    with pytest.raises(SystemExit):
        run(['--version'])
    assert capsys.readouterr().out == graphpfm.versions() + '\n'
