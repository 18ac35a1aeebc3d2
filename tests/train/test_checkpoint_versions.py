"""package_versions: recorded in every checkpoint and benchmark record, also where an optional
package is absent (the GPU image has no RDKit)."""
import importlib.metadata as md
import sys

from graphpfm.train.checkpoint import package_versions


def test_package_versions_names_an_absent_package(monkeypatch):
    real = md.version

    def version(name):
        if name == 'rdkit':
            raise md.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(md, 'version', version)
    monkeypatch.setitem(sys.modules, 'rdkit', None)  # makes `import rdkit` raise ImportError
    out = package_versions()
    assert out['rdkit'] == 'not installed'
    assert out['torch'] == real('torch') and out['graphpfm']
