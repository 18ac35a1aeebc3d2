"""Bad inputs on the ``graphpfm`` command line: the exit status and the message of each.

    python -m benchmarks.bad_inputs --out benchmarks/results/bad-inputs.md

:data:`CASES` is a catalogue of bad command lines (broken, empty, foreign and truncated
checkpoints, a node-level checkpoint used on molecules, broken or wrongly typed YAML
configs, empty, header-only, invalid and non-UTF-8 SMILES files, unwritable outputs,
out-of-range options, unknown names, contradicting options, runs that cannot be resumed,
malformed graph files, ...), each with the exit status it must end with (2: wrong options, 1:
bad data, a bad file or a failed run) and a substring of the one line it must print last on
standard error (``error: ...``, naming the input). :func:`prepare` writes the files they use;
:func:`run` runs each case as ``python -m graphpfm`` in a fresh folder holding the files it
names (with ``GRAPHPFM_CACHE`` in a temporary folder) and records the exit status, whether a
traceback appeared, the last line of standard error and the wall time. ``--preload`` forks
each case from a process that has imported graphpfm (the same run without the ~5 s import;
the tests use it). Writes a markdown table and prints the counts; exits 1 when a case did
not behave as expected.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from .harness.env import REPO, git_commit, timestamp

#: a tiny encoder on the CPU: every case runs in seconds
TINY_VALUES = ('--num-layers', '1', '--hidden-channels', '8', '--device', 'cpu')
#: stands for the folder of :func:`prepare` in a case's arguments
FILES = '{files}'
#: the seconds a case may run before it counts as hung
TIMEOUT = 120.0
#: the last line of standard error of a failure: ``error: ...`` (argparse: ``PROG: error: ...``)
ERROR_LINE = re.compile(r'(graphpfm[\w -]*: )?error: ')


@dataclass(frozen=True)
class Case:
    r"""One bad command line.

    Args:
        input (str): what is wrong, in a few words.
        argv (tuple of str): the arguments of ``graphpfm``.
        status (int): the exit status it must end with (2: options, 1: data, files, run).
        message (str): a substring of the last line of standard error.
        files (tuple of str): the files and folders of :func:`prepare` it needs.
        requires (str, optional): ``'non-root'`` (file permissions must bind) or
            ``'no-cuda'``; a case whose requirement fails is reported as skipped.
    """

    input: str
    argv: tuple[str, ...]
    status: int
    message: str
    files: tuple[str, ...] = ()
    requires: str | None = None

    @property
    def command(self) -> str:
        return self.argv[0] if self.argv and not self.argv[0].startswith('-') else '(none)'

    @property
    def id(self) -> str:
        """A short identifier: the command and the input as a slug."""
        return f"{self.command}-{re.sub(r'[^a-z0-9]+', '-', self.input.lower()).strip('-')}"


def _line(command: str, defaults: Sequence[str], extra: Sequence[str]) -> tuple[str, ...]:
    """``graphpfm command`` with the options ``defaults`` (flag, value, flag, value, ...) that
    ``extra`` does not give, then ``extra``."""
    pairs = [defaults[i:i + 2] for i in range(0, len(defaults), 2)]
    kept = [x for pair in pairs if pair[0] not in extra for x in pair]
    return (command, *kept, *extra)


def _pretrain(*extra: str, dataset: str = 'mols.smi') -> tuple[str, ...]:
    return _line('pretrain', ('--dataset', dataset, *TINY_VALUES, '--epochs', '1', '--out',
                              'run'), extra) + ('--no-progress',)


def _embed(checkpoint: str = 'mol.pt', input: str = 'mols.smi', output: str = 'e.npy',
           *extra: str) -> tuple[str, ...]:
    return ('embed', '--checkpoint', checkpoint, '--input', input, '--output', output,
            '--device', 'cpu', '--no-progress', *extra)


def _transfer(command: str, *extra: str, dataset: str = 'embedded-polar') -> tuple[str, ...]:
    epochs = ('--epochs', '1') if command == 'finetune' else ()
    return _line(command, ('--dataset', dataset, *epochs, '--seeds', '1', '--device', 'cpu',
                           '--out', 'out'), extra) + ('--no-progress',)


P, E = _pretrain, _embed
M = ('mols.smi',)
#: the catalogue
CASES: list[Case] = [
    # ---- pretrain: options out of range, wrong or contradicting
    Case('--epochs 0', P('--epochs', '0'), 2, 'epochs must be >= 1', M),
    Case('--epochs not a number', P('--epochs', 'ten'), 2, "invalid value 'ten' for --epochs",
         M),
    Case('--lr inf', P('--lr', 'inf'), 2, 'lr must be a finite number > 0', M),
    Case('--grad-clip -1', P('--grad-clip', '-1'), 2, 'grad_clip must be a finite number > 0',
         M),
    Case('--seed 2**70', P('--seed', str(2 ** 70)), 2, 'seed must be in [0, 2**63)', M),
    Case('--batch-size 0', P('--batch-size', '0'), 2, 'batch_size must be >= 1, got 0', M),
    Case('--hidden-channels 0', P('--hidden-channels', '0'), 2,
         'hidden_channels must be an integer >= 1, got 0', M),
    Case('--jk bogus', P('--jk', 'bogus'), 2, "encoder 'gin': jk 'bogus' invalid", M),
    Case('--mask-rate 1.5', P('--mask-rate', '1.5'), 2,
         "objective 'attr_masking': mask_rate must be in (0, 1], got 1.5", M),
    Case('--device bogus', P('--device', 'bogus'), 2,
         "device 'bogus' invalid; valid options here: cpu", M),
    Case('--device cuda:7', P('--device', 'cuda:7'), 2, "device 'cuda:7'", M),
    Case('--device cuda without CUDA', P('--device', 'cuda'), 2,
         "device 'cuda' requested but CUDA is not available", M, requires='no-cuda'),
    Case('--quiet with --verbose', P('--quiet', '--verbose'), 2,
         '--quiet and --verbose contradict each other', M),
    Case('unknown flag', P('--epoch', '3'), 2, 'unrecognized arguments: --epoch 3', M),
    Case('unknown objective', P('--objective', 'attr_masking+no_such'), 2,
         "Unknown objective 'no_such'. Valid options: attr_masking,", M),
    Case('unknown encoder', P('--encoder', 'no_such'), 2,
         "Unknown encoder 'no_such'. Valid options: gat, gcn, gin, sage", M),
    Case('option of another objective', P('--objective', 'edge_pred', '--mask-rate', '0.2'),
         2, "option --mask-rate does not apply to objective 'edge_pred'", M),
    Case('--objective-weights on one objective', P('--objective-weights', '1,2'), 2,
         '--objective-weights applies to a combination of objectives', M),
    Case('--level on a SMILES file', P('--level', 'node'), 2,
         "--level is for graph files (.json, .json.gz, .gml, .graphml), not for 'mols.smi'",
         M),
    Case('--normalize-features on molecules', P('--normalize-features'), 2,
         "--normalize-features is for node datasets with float features; 'mols.smi' has none",
         M),
    Case('--validate-every on molecules', P('--validate-every', '1'), 2,
         "--validate-every selects on a labelled node dataset's validation split", M),
    # ---- pretrain: config files
    Case('--config missing', P('--config', 'missing.yaml'), 2,
         'config file not found: missing.yaml', M),
    Case('--config a YAML list', P('--config', 'list.yaml'), 2,
         'list.yaml: expected a mapping of option names to values', M + ('list.yaml',)),
    Case('--config broken YAML', P('--config', 'broken.yaml'), 2,
         'broken.yaml is not valid YAML (line 2)', M + ('broken.yaml',)),
    Case('--config epochs: true', P('--config', 'epochs-true.yaml'), 2,
         'epochs-true.yaml: invalid value True for --epochs (int)', M + ('epochs-true.yaml',)),
    Case('--config lr: fast', P('--config', 'lr-fast.yaml'), 2,
         "lr-fast.yaml: invalid value 'fast' for --lr (float)", M + ('lr-fast.yaml',)),
    Case('--config with a misspelt key', P('--config', 'typo.yaml'), 2,
         'typo.yaml: unknown option(s) epoch; valid options:', M + ('typo.yaml',)),
    # ---- pretrain: data
    Case('unknown dataset name', P(dataset='no-such-dataset'), 1,
         "Unknown dataset 'no-such-dataset'", ()),
    Case('.gz that is not gzip', P(dataset='notgz.smi.gz'), 1,
         'cannot read notgz.smi.gz: Not a gzipped file', ('notgz.smi.gz',)),
    Case('truncated .smi.gz', P(dataset='truncated.smi.gz'), 1,
         'cannot read truncated.smi.gz: Compressed file ended', ('truncated.smi.gz',)),
    Case('empty SMILES file', P(dataset='empty.smi'), 1,
         "'empty.smi' holds no molecule or graph to pretrain on", ('empty.smi',)),
    Case('header-only .csv', P(dataset='header.csv'), 1,
         "'header.csv' holds no molecule or graph to pretrain on", ('header.csv',)),
    Case('.csv without a smiles column', P(dataset='nosmiles.csv'), 1,
         "nosmiles.csv has no 'smiles' column; columns: name, y", ('nosmiles.csv',)),
    Case('every SMILES invalid', P(dataset='invalid.smi'), 1,
         "'invalid.smi' holds no valid molecule: all 3 records are invalid (first: line 1",
         ('invalid.smi',)),
    Case('UTF-16 (not UTF-8) SMILES file', P(dataset='utf16.smi'), 1,
         "'utf16.smi' holds no valid molecule", ('utf16.smi',)),
    Case('graph file with a wrongly typed attribute', P(dataset='badattr.json'), 1,
         "graph 0, node 3: 'x' holds 'high' (str), expected a sequence of numbers",
         ('badattr.json',)),
    Case('graph file that is not JSON', P(dataset='notjson.json'), 1,
         'cannot read notjson.json as JSON', ('notjson.json',)),
    Case('JSON that is not a node-link graph', P(dataset='numbers.json'), 1,
         'numbers.json: record 0 is not a node-link graph', ('numbers.json',)),
    Case('GraphML file that is not XML', P(dataset='broken.graphml'), 1,
         'cannot read broken.graphml: ParseError', ('broken.graphml',)),
    Case('supervised objective on unlabelled SMILES', P('--objective', 'supervised'), 1,
         "objective 'supervised' needs labels, but dataset 'mols.smi' is unlabelled", M),
    # ---- pretrain: outputs and runs
    Case('--out an existing file', P('--out', 'afile.txt'), 2,
         'output folder afile.txt is a file; choose a folder', M + ('afile.txt',)),
    Case('--out in a read-only folder', P('--out', 'readonly/run'), 2,
         'cannot write the run to readonly', M + ('readonly',), requires='non-root'),
    Case('--out inside a file', P('--out', 'afile.txt/run'), 2,
         'cannot write the run to afile.txt (Not a directory)', M + ('afile.txt',)),
    Case('--resume with other options', P('--lr', '0.01', '--resume', '--epochs', '1000',
                                          '--save-state-every', '1',
                                          dataset=f'{FILES}/mols.smi'),
         2, 'cannot resume with other options than the saved run; they differ in: train.lr: '
         '0.001 -> 0.01', ('.run.partial',)),
    Case('--resume of a finished run', P('--resume', '--out', 'finished'), 2,
         'the run in finished finished; nothing to resume', M + ('finished',)),
    # ---- finetune
    Case('node-level checkpoint on molecules', _transfer('finetune', '--checkpoint', 'node.pt'),
         1, "the encoder of node.pt takes 4 float features, but 'embedded-polar' has OGB atom",
         ('node.pt',)),
    Case('--hidden-channels against the checkpoint',
         _transfer('finetune', '--checkpoint', 'mol.pt', '--hidden-channels', '16'), 2,
         'conflicting options: --hidden-channels 16 (checkpoint: 8)', ('mol.pt',)),
    Case('unlabelled SMILES file', _transfer('finetune', dataset='mols.smi'), 1,
         "dataset 'mols.smi' has no labels to fine-tune on", M),
    Case('--compare-scratch without --checkpoint', _transfer('finetune', '--compare-scratch'),
         2, '--compare-scratch needs --checkpoint'),
    Case('--epochs 0', _transfer('finetune', '--epochs', '0'), 2, 'epochs must be >= 1, got 0',
         ()),
    Case('--seeds 0', _transfer('finetune', '--seeds', '0'), 2, "invalid value '0' for --seeds"),
    Case('garbage checkpoint', _transfer('finetune', '--checkpoint', 'garbage.pt'), 1,
         'garbage.pt is not a readable graphpfm checkpoint', ('garbage.pt',)),
    # ---- probe
    Case('--hidden-channels against the checkpoint',
         _transfer('probe', '--checkpoint', 'node.pt', '--hidden-channels', '16',
                   dataset='graph.json'),
         2, 'conflicting options: --hidden-channels 16 (checkpoint: 8)', ('node.pt', 'graph.json')),
    Case('molecule checkpoint on a node graph',
         _transfer('probe', '--checkpoint', 'mol.pt', dataset='graph.json'), 1,
         "the encoder of mol.pt takes OGB atom features, but 'graph' has 4 float features",
         ('mol.pt', 'graph.json')),
    Case('unlabelled SMILES file', _transfer('probe', dataset='mols.smi'), 1,
         "dataset 'mols.smi' has no labels and split to probe on", M),
    Case('--compare-random without --checkpoint', _transfer('probe', '--compare-random'), 2,
         '--compare-random needs --checkpoint'),
    Case('--max-iter 0', _transfer('probe', '--max-iter', '0'), 2,
         'max_iter must be >= 1, got 0'),
    # ---- embed
    Case('missing checkpoint', E('missing.pt'), 2,
         "checkpoint not found: 'missing.pt' is neither a file nor a shipped pretrained model",
         M),
    Case('garbage checkpoint', E('garbage.pt'), 1,
         'garbage.pt is not a readable graphpfm checkpoint', M + ('garbage.pt',)),
    Case('empty checkpoint', E('empty.pt'), 1, 'empty.pt is not a readable graphpfm checkpoint',
         M + ('empty.pt',)),
    Case('foreign checkpoint', E('foreign.pt'), 1, 'foreign.pt is not a graphpfm checkpoint',
         M + ('foreign.pt',)),
    Case('truncated checkpoint', E('truncated.pt'), 1,
         'truncated.pt is not a readable graphpfm checkpoint', M + ('truncated.pt',)),
    Case('node-level checkpoint on molecules', E('node.pt'), 1,
         "the encoder of node.pt takes 4 float features, but 'mols.smi' has OGB atom features",
         M + ('node.pt',)),
    Case('molecule checkpoint on graphs with float features', E('mol.pt', 'graphs.json'), 1,
         "the encoder of mol.pt takes OGB atom features, but 'graphs' has 4 float features",
         ('mol.pt', 'graphs.json')),
    Case('--output with a wrong suffix', E('mol.pt', 'mols.smi', 'e.txt'), 2,
         "--output must end in .npy, .csv, .parquet, got 'e.txt'", M + ('mol.pt',)),
    Case('--output a folder', E('mol.pt', 'mols.smi', 'folder.npy'), 2,
         '--output folder.npy is a folder', M + ('mol.pt', 'folder.npy')),
    Case('--output inside a file', E('mol.pt', 'mols.smi', 'afile.txt/e.npy'), 2,
         'cannot write --output afile.txt/e.npy (afile.txt is a file, not a folder)',
         M + ('mol.pt', 'afile.txt')),
    Case('missing input', E('mol.pt', 'missing.smi'), 1, 'SMILES file missing.smi not found',
         ('mol.pt',)),
    Case('--pool bogus', E('mol.pt', 'mols.smi', 'e.npy', '--pool', 'bogus'), 2,
         "--pool 'bogus' invalid; valid options: mean, sum, max", M + ('mol.pt',)),
    Case('--batch-size 0', E('mol.pt', 'mols.smi', 'e.npy', '--batch-size', '0'), 2,
         '--batch-size must be >= 1, got 0', M + ('mol.pt',)),
    # ---- leakage
    Case('unknown downstream dataset',
         ('leakage', '--corpus', 'mols.smi', '--downstream', 'no-such-dataset',
          '--no-progress'), 1, "'no-such-dataset' is not an OGB molecule dataset", M),
    Case('unknown split', ('leakage', '--corpus', 'mols.smi', '--downstream', 'ogbg-molbace',
                           '--splits', 'dev', '--no-progress'), 2,
         "invalid split(s) ['dev']; valid options: train, valid, test", M),
    Case('missing corpus file', ('leakage', '--corpus', 'missing.smi', '--downstream',
                                 'ogbg-molbace', '--no-progress'), 1, 'missing.smi'),
    Case('missing --downstream', ('leakage', '--corpus', 'mols.smi'), 2,
         'option --downstream is required', M),
    # ---- list
    Case('unknown objective', ('list', 'no_such'), 2,
         "Unknown objective 'no_such'. Valid options: attr_masking,", ()),
    # ---- quickstart
    Case('garbage checkpoint', ('quickstart', '--checkpoint', 'garbage.pt', '--device', 'cpu',
                                '--no-progress', '--out', 'qs'), 1,
         'garbage.pt is not a readable graphpfm checkpoint', ('garbage.pt',)),
    Case('--finetune-epochs 0', ('quickstart', '--checkpoint', 'mol.pt', '--finetune-epochs',
                                 '0', '--device', 'cpu', '--no-progress', '--out', 'qs'), 2,
         '--finetune-epochs must be >= 1, got 0', ('mol.pt',)),
    Case('unlabelled SMILES file', ('quickstart', '--checkpoint', 'mol.pt', '--dataset',
                                    'mols.smi', '--device', 'cpu', '--no-progress', '--out',
                                    'qs'), 1,
         "dataset 'mols.smi' has no labels to fine-tune on", M + ('mol.pt',)),
    # ---- no command
    Case('no command', (), 2, 'the following arguments are required: COMMAND', ()),
]


# ---------------------------------------------------------------------------- files
SMILES = ('CCO', 'c1ccccc1O', 'CC(=O)Nc1ccc(O)cc1', 'C1CCNCC1', 'CCN(CC)CC', 'OCC(O)CO')


def _node_link(features: Sequence[Any], labels: Sequence[int] | None = None) -> dict[str, Any]:
    """A ring graph in networkx's node-link JSON form, node ``i`` with ``x = features[i]``."""
    n = len(features)
    nodes = [{'id': i, 'x': f, **({'y': labels[i]} if labels else {})}
             for i, f in enumerate(features)]
    return {'directed': False, 'multigraph': False, 'graph': {}, 'nodes': nodes,
            'edges': [{'source': i, 'target': (i + 1) % n} for i in range(n)]}


def _pretrain_run(folder: Path, out: str, *extra: str) -> list[str]:
    return [sys.executable, '-m', 'graphpfm', *_pretrain('--out', out, *extra,
                                                         dataset=str(folder / 'mols.smi'))]


def prepare(folder: str | os.PathLike, cache: str | os.PathLike | None = None) -> Path:
    """Write every file the cases name into ``folder`` (created): broken files, configs,
    SMILES and graph files, tiny checkpoints (``mol.pt`` from a finished ``graphpfm
    pretrain`` run in ``finished/``, ``node.pt`` of a GCN on 4 float node features), an
    unfinished run (``.run.partial``, killed after its first training state) and a
    read-only folder. The runs cache their data in ``cache`` (default: ``folder/.cache``).
    Returns ``folder``."""
    import torch

    from graphpfm import build_encoder, save_checkpoint
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / 'mols.smi').write_text('\n'.join(SMILES) + '\n')
    # two runs of the real command line, side by side: finished, and killed mid-way
    env = {**os.environ, 'OMP_NUM_THREADS': '1',
           'GRAPHPFM_CACHE': str(cache or folder / '.cache')}
    finished = subprocess.Popen(_pretrain_run(folder, 'finished'), cwd=folder, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    killed = subprocess.Popen(_pretrain_run(folder, 'run', '--epochs', '1000', '--save-state-every',
                                            '1'), cwd=folder, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    (folder / 'garbage.pt').write_bytes(b'\x00\x01 not a checkpoint')
    (folder / 'empty.pt').write_bytes(b'')
    torch.save({'weights': torch.zeros(2)}, folder / 'foreign.pt')
    node = build_encoder('gcn', num_layers=1, hidden_channels=8, in_channels=4)
    save_checkpoint(folder / 'node.pt', node)
    for name, text in {'list.yaml': '- 1\n- 2\n', 'broken.yaml': 'epochs: [1\n',
                       'epochs-true.yaml': 'epochs: true\n', 'lr-fast.yaml': 'lr: fast\n',
                       'typo.yaml': 'epoch: 3\n', 'empty.smi': '', 'header.csv': 'smiles,y\n',
                       'nosmiles.csv': 'name,y\nethanol,1\n', 'afile.txt': 'a file\n',
                       'invalid.smi': 'not_a_molecule\nC1CC\nXyz(\n',
                       'notgz.smi.gz': 'CCO\n', 'notjson.json': 'nodes: 1, 2\n',
                       'numbers.json': '[1, 2, 3]\n'}.items():
        (folder / name).write_text(text)
    (folder / 'utf16.smi').write_text('\n'.join(SMILES) + '\n', encoding='utf-16')
    whole = gzip.compress(('\n'.join(SMILES) + '\n').encode())
    (folder / 'truncated.smi.gz').write_bytes(whole[:len(whole) // 2])
    (folder / 'broken.graphml').write_text('<graphml><graph edgedefault="undirected">\n')
    features = [[1.0, 0.0, 0.5, 0.25]] * 6
    labels = [0, 1, 0, 1, 0, 1]
    (folder / 'graph.json').write_text(json.dumps(_node_link(features, labels)))
    (folder / 'graphs.json').write_text(json.dumps([_node_link(features[:n]) for n in (3, 4)]))
    bad = [list(f) for f in features]
    bad[3][2] = 'high'
    (folder / 'badattr.json').write_text(json.dumps(_node_link(bad)))
    (folder / 'folder.npy').mkdir(exist_ok=True)
    (folder / 'readonly').mkdir(exist_ok=True)
    (folder / 'readonly').chmod(0o555)
    state = folder / '.run.partial' / 'checkpoint.state.pt'
    deadline = time.monotonic() + TIMEOUT
    try:
        while not state.is_file() and killed.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait()
    if not state.is_file():
        raise RuntimeError('the run to be resumed saved no training state')
    _, err = finished.communicate(timeout=TIMEOUT)
    if finished.returncode:
        raise RuntimeError(f'the finished run failed:\n{err}')
    shutil.copy(folder / 'finished' / 'checkpoint.pt', folder / 'mol.pt')
    (folder / 'truncated.pt').write_bytes((folder / 'mol.pt').read_bytes()[:2000])
    return folder


def _copy(files: Path, names: Iterable[str], to: Path) -> None:
    for name in names:
        src = files / name
        if src.is_dir():
            shutil.copytree(src, to / name, symlinks=True)
        else:
            shutil.copy2(src, to / name)


def _remove(path: Path) -> None:
    def writable(func: Any, p: str, _: Any) -> None:
        os.chmod(os.path.dirname(p), 0o755)
        func(p)
    shutil.rmtree(path, onerror=writable)


# ---------------------------------------------------------------------------- running
def data_root() -> Path:
    """``$GRAPHPFM_DATA``, else ``../shared/data`` beside the repository."""
    env = os.environ.get('GRAPHPFM_DATA')
    return Path(env).resolve() if env else (REPO.parent / 'shared' / 'data').resolve()


def unmet(case: Case) -> str | None:
    """Why ``case`` cannot run here (:attr:`Case.requires`), or :obj:`None`."""
    if case.requires == 'non-root' and os.geteuid() == 0:
        return 'runs as root, which writes to read-only folders'
    if case.requires == 'no-cuda':
        import torch
        if torch.cuda.is_available():
            return 'a CUDA device is present'
    return None


def serve() -> None:
    """The ``--preload`` server: import graphpfm once, then for each JSON line on standard
    input (``{"argv", "cwd", "stdout", "stderr", "timeout"}``) fork a process that runs
    ``python -m graphpfm`` there and answer ``{"status", "timed_out"}``."""
    import runpy
    import traceback

    import graphpfm  # noqa: F401
    import graphpfm.cli  # noqa: F401
    for line in sys.stdin:
        job = json.loads(line)
        pid = os.fork()
        if pid == 0:  # the case: as the interpreter runs ``python -m graphpfm``
            code = 1
            try:
                os.setpgid(0, 0)
                os.chdir(job['cwd'])
                for fd, name in ((0, os.devnull), (1, job['stdout']), (2, job['stderr'])):
                    os.dup2(os.open(name, os.O_RDONLY if fd == 0 else
                                    os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
                sys.argv = ['graphpfm', *job['argv']]
                try:
                    runpy.run_module('graphpfm', run_name='__main__', alter_sys=True)
                    code = 0
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None \
                        else (print(exc.code, file=sys.stderr), 1)[1]
                except BaseException:  # noqa: BLE001 - what the interpreter shows
                    traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        deadline, status = time.monotonic() + job['timeout'], None
        while status is None:
            done, raw = os.waitpid(pid, os.WNOHANG)
            if done:
                status = os.waitstatus_to_exitcode(raw)
            elif time.monotonic() > deadline:
                os.killpg(pid, signal.SIGKILL)
                status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
                break
            else:
                time.sleep(0.005)
        print(json.dumps({'status': status, 'timed_out': time.monotonic() > deadline}),
              flush=True)


class Runner:
    r"""Runs cases, each in a fresh folder under ``work`` holding copies of the files of
    ``files`` it names, with ``GRAPHPFM_CACHE`` in ``work``.

    Args:
        files (Path): the folder :func:`prepare` wrote.
        work (Path): where the case folders and the cache go.
        preload (bool): fork each case from a process that has imported graphpfm, rather than
            start ``python -m graphpfm``.
        timeout (float): the seconds a case may run.
    """

    def __init__(self, files: Path, work: Path, preload: bool = False,
                 timeout: float = TIMEOUT) -> None:
        self.files, self.work, self.preload, self.timeout = Path(files), Path(work), preload, \
            timeout
        self.env = {**os.environ, 'GRAPHPFM_CACHE': str(self.work / 'cache'),
                    'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(REPO)}
        self.count, self.server = 0, None
        self.work.mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        if self.server is not None:
            self.server.stdin.close()
            self.server.wait()
            self.server = None

    def _start_server(self) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, '-c', 'from benchmarks.bad_inputs import serve; serve()'],
            cwd=REPO, env=self.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def __call__(self, case: Case, timeout: float | None = None) -> dict[str, Any]:
        """Run ``case`` (for ``timeout`` seconds instead of the runner's, if given); returns
        its record (see :func:`record`)."""
        timeout = self.timeout if timeout is None else timeout
        reason = unmet(case)
        if reason:
            return record(case, skipped=reason)
        self.count += 1
        cwd = self.work / f'case-{self.count}'
        cwd.mkdir()
        _copy(self.files, case.files, cwd)
        argv = [a.replace(FILES, str(self.files)) for a in case.argv]
        out, err = cwd.parent / f'case-{self.count}.out', cwd.parent / f'case-{self.count}.err'
        t0 = time.perf_counter()
        if self.preload:
            if self.server is None:
                self.server = self._start_server()
            self.server.stdin.write(json.dumps({
                'argv': argv, 'cwd': str(cwd), 'stdout': str(out), 'stderr': str(err),
                'timeout': timeout}) + '\n')
            self.server.stdin.flush()
            answer = json.loads(self.server.stdout.readline())
            status, timed_out = answer['status'], answer['timed_out']
        else:
            with open(out, 'w') as fo, open(err, 'w') as fe:
                proc = subprocess.Popen([sys.executable, '-m', 'graphpfm', *argv], cwd=cwd,
                                        env=self.env, stdin=subprocess.DEVNULL, stdout=fo,
                                        stderr=fe, start_new_session=True)
                try:
                    status, timed_out = proc.wait(timeout=timeout), False
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    status, timed_out = proc.wait(), True
        seconds = time.perf_counter() - t0
        stderr = err.read_text(errors='replace')
        _remove(cwd)
        return record(case, status=status, stderr=stderr, seconds=seconds,
                      timed_out=timed_out, folders=(str(cwd), str(self.work), str(self.files)))


def scrub(text: str, folders: Sequence[str], data: str | None = None) -> str:
    """``text`` with each path under one of ``folders`` shown relative to it (a file of a case
    folder by its name) and the data root ``data`` as ``DATA``."""
    if data:
        text = text.replace(data, 'DATA')
    for folder in sorted(folders, key=len, reverse=True):
        text = re.sub(re.escape(folder.rstrip('/')) + r"""(/[^\s'",;:()\[\]]*)?""",
                      lambda m: (m.group(1) or '/.')[1:], text)
    return text


def record(case: Case, *, status: int | None = None, stderr: str = '',
           seconds: float = 0.0, timed_out: bool = False, skipped: str | None = None,
           folders: Sequence[str] = ()) -> dict[str, Any]:
    """What a case did: its exit ``status``, whether standard error holds a ``traceback``,
    its ``last_line`` (paths scrubbed), ``seconds``, ``status_ok``, ``message_ok`` (the
    last line is ``error: ...`` holding :attr:`Case.message`) and ``as_expected``."""
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    last = scrub(lines[-1], folders, str(data_root())) if lines else ''
    traceback = 'Traceback (most recent call last)' in stderr
    status_ok = status == case.status and not timed_out
    message_ok = bool(ERROR_LINE.match(last)) and case.message in last
    return {'id': case.id, 'command': case.command, 'input': case.input,
            'argv': list(case.argv), 'expected_status': case.status,
            'expected_message': case.message, 'status': status, 'timed_out': timed_out,
            'traceback': traceback, 'last_line': last, 'stderr': stderr,
            'seconds': round(seconds, 2), 'status_ok': status_ok, 'message_ok': message_ok,
            'skipped': skipped,
            'as_expected': skipped is None and status_ok and message_ok and not traceback}


def run(cases: Sequence[Case], preload: bool = False, timeout: float = TIMEOUT,
        progress: bool = False) -> list[dict[str, Any]]:
    """Run ``cases`` (each in a fresh temporary folder, files from :func:`prepare`); returns
    their records (:func:`record`)."""
    with tempfile.TemporaryDirectory(prefix='graphpfm-bad-') as tmp:
        files = prepare(Path(tmp) / 'files', Path(tmp) / 'work' / 'cache')
        records = []
        with Runner(files, Path(tmp) / 'work', preload, timeout) as runner:
            for i, case in enumerate(cases):
                records.append(runner(case))
                if progress:
                    r = records[-1]
                    mark = 'skipped' if r['skipped'] else 'ok' if r['as_expected'] else 'NOT OK'
                    print(f"[{i + 1}/{len(cases)}] {case.id}: {mark} ({r['status']}, "
                          f"{r['seconds']:.1f} s) {r['last_line'][:100]}", file=sys.stderr)
        _remove(files)
    return records


# ---------------------------------------------------------------------------- report
def counts(records: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Cases, as expected, tracebacks, wrong status, misleading or missing message, timed out,
    skipped."""
    ran = [r for r in records if not r['skipped']]
    return {'cases': len(records), 'as expected': sum(r['as_expected'] for r in ran),
            'tracebacks': sum(r['traceback'] for r in ran),
            'wrong status': sum(not r['status_ok'] for r in ran),
            'misleading or missing message': sum(not r['message_ok'] for r in ran),
            'timed out': sum(r['timed_out'] for r in ran),
            'skipped': len(records) - len(ran)}


def _cell(text: str, limit: int = 140) -> str:
    text = text if len(text) <= limit else text[:limit - 3] + '...'
    return text.replace('|', '\\|')


def _verdict(r: dict[str, Any]) -> str:
    if r['skipped']:
        return f"skipped ({r['skipped']})"
    if r['as_expected']:
        return 'yes'
    why = [*(['traceback'] if r['traceback'] else []),
           *(['timed out'] if r['timed_out'] else []),
           *([f"status {r['status']}, expected {r['expected_status']}"]
             if not r['status_ok'] and not r['timed_out'] else []),
           *([f"message lacks '{r['expected_message']}'"] if not r['message_ok'] else [])]
    return '**no**: ' + '; '.join(why)


def table(records: Sequence[dict[str, Any]]) -> str:
    """The markdown table of the records, one row per case."""
    rows = ['| input | command | exit status | message | as expected? |', '|---|---|---|---|---|']
    for r in records:
        command = ' '.join(['graphpfm', *r['argv']]).replace(FILES, 'FILES')
        status = '' if r['status'] is None else str(r['status'])
        rows.append(f"| {r['command']}: {_cell(r['input'])} | `{_cell(command, 200)}` | "
                    f"{status} | {_cell(r['last_line'])} | {_verdict(r)} |")
    return '\n'.join(rows)


def _timing(records: Sequence[dict[str, Any]]) -> str:
    ran = sorted((r for r in records if not r['skipped']), key=lambda r: r['seconds'])
    if not ran:
        return 'No case ran.'
    median, slowest = ran[len(ran) // 2]['seconds'], ran[-1]
    return (f"Wall time per case (process start included): median {median:.1f} s, slowest "
            f"{slowest['seconds']:.1f} s ({slowest['id']}).")


def report(records: Sequence[dict[str, Any]], command: str, seconds: float) -> str:
    """The markdown page: how it was run, the counts, and the table."""
    c = counts(records)
    by_command: dict[str, int] = {}
    for r in records:
        by_command[r['command']] = by_command.get(r['command'], 0) + 1
    return '\n'.join([
        '# Bad inputs on the command line', '',
        f'`{command}` ({timestamp()}, commit {git_commit()}, {seconds:.0f} s). Each case runs '
        '`python -m graphpfm` in a fresh folder with the files it names; it is as expected '
        'when it ends with the expected exit status (2: wrong options, 1: bad data, a bad '
        'file or a failed run), without a traceback, and its last line on standard error is '
        '`error: ...` holding the expected text. Temporary paths are shown as their file '
        'names, the data root as `DATA`; `FILES` is the folder of the prepared files.', '',
        'Counts: ' + ', '.join(f'{k} {v}' for k, v in c.items()) + '.', '',
        'Cases by command: ' + ', '.join(f'{k} {v}' for k, v in by_command.items()) + '.', '',
        _timing(records), '',
        table(records), ''])


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', default='benchmarks/results/bad-inputs.md')
    p.add_argument('--only', help='run only the cases whose id holds this text')
    p.add_argument('--preload', action='store_true',
                   help='fork each case from a process that has imported graphpfm')
    p.add_argument('--timeout', type=float, default=TIMEOUT)
    args = p.parse_args(argv)
    command = 'python -m benchmarks.bad_inputs ' + ' '.join(
        sys.argv[1:] if argv is None else argv)
    cases = [c for c in CASES if not args.only or args.only in c.id]
    t0 = time.perf_counter()
    records = run(cases, args.preload, args.timeout, progress=True)
    seconds = time.perf_counter() - t0
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report(records, command, seconds))
    c = counts(records)
    print(', '.join(f'{k}: {v}' for k, v in c.items()) + f' ({seconds:.0f} s) -> {out}')
    return 0 if c['as expected'] + c['skipped'] == c['cases'] else 1


if __name__ == '__main__':
    sys.exit(main())
