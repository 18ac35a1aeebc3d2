"""`graphpfm embed` gives exactly one row per input record, in input order, for every input
format: blank, whitespace, comment, invalid and non-UTF-8 or unicode-space lines included."""
import gzip

import numpy as np
import pandas as pd
import pytest

from graphpfm.cli import run
from graphpfm.errors import DataError
from graphpfm.nn import build_encoder
from graphpfm.train import save_checkpoint

CSV = (b'smiles,name\nCCO,a\n \n\nNOT_A_SMILES,b\nc1ccccc1,c,extra\nC C,d\n'
       b'C\xc2\xa0C,nbsp\n\xff\xfeCC,bytes\nCC(=O)O,acid\n')
CSV_VALID = [True, False, False, False, True, False, False, False, True]
CSV_LINES = [2, 3, 4, 5, 6, 7, 8, 9, 10]
SMI = (b'# a comment\nsmiles name\nCCO ethanol\n\nNOT_A_SMILES\nC\xe2\x80\xa8C\n'
       b'c1ccccc1\tbenzene\n#another\n\xffCC\nCC(=O)O\n')
SMI_VALID = [True, False, False, False, True, False, True]
SMI_LINES = [3, 4, 5, 6, 7, 9, 10]


@pytest.fixture(scope='module')
def ckpt(tmp_path_factory):
    path = tmp_path_factory.mktemp('ckpt') / 'c.pt'
    save_checkpoint(path, build_encoder('gin', num_layers=2, hidden_channels=8))
    return path


@pytest.mark.parametrize('name,content,valid,lines', [
    ('in.csv', CSV, CSV_VALID, CSV_LINES), ('in.csv.gz', CSV, CSV_VALID, CSV_LINES),
    ('in.smi', SMI, SMI_VALID, SMI_LINES), ('in.smi.gz', SMI, SMI_VALID, SMI_LINES)])
@pytest.mark.parametrize('suffix', ['.npy', '.csv'])
def test_one_row_per_record_in_input_order(ckpt, tmp_path, capsys, name, content, valid,
                                           lines, suffix):
    path = tmp_path / name
    path.write_bytes(gzip.compress(content) if name.endswith('.gz') else content)
    out = tmp_path / f'emb{suffix}'
    run(['embed', '--checkpoint', str(ckpt), '--input', str(path), '--output', str(out),
         '--no-progress', '--device', 'cpu'])
    if suffix == '.npy':
        emb, rows = np.load(out), pd.read_csv(out.with_suffix('.rows.csv'))
    else:
        table = pd.read_csv(out)
        emb = table[[c for c in table.columns if c.startswith('e')]].to_numpy(np.float32)
        rows = table
    assert emb.shape == (len(valid), 8)
    assert (~np.isnan(emb).all(axis=1)).tolist() == valid
    assert rows['valid'].tolist() == valid and rows['line'].tolist() == lines
    reasons = rows['reason'].fillna('').tolist()
    assert [r == '' for r in reasons] == valid
    assert 'whitespace inside the SMILES' in reasons
    # the same molecule embeds the same wherever it stands
    single = tmp_path / 'one.smi'
    single.write_text('CCO\n')
    run(['embed', '--checkpoint', str(ckpt), '--input', str(single), '--output',
         str(tmp_path / 'one.npy'), '--no-progress', '--device', 'cpu'])
    assert np.array_equal(np.load(tmp_path / 'one.npy')[0], emb[0])
    printed = capsys.readouterr().out
    assert f'{valid.count(False)} invalid record(s) left as NaN rows (line {lines[1]}' in printed


@pytest.mark.parametrize('content,rows', [(b'smiles\n', 0), (b'smiles\nXX\n\n', 1),
                                          (b'smiles\nNOPE\n\nC1CC\n\n\n', 3)])
def test_no_valid_molecule_gives_nan_rows(ckpt, tmp_path, content, rows):
    path = tmp_path / 'bad.csv'
    path.write_bytes(content)
    run(['embed', '--checkpoint', str(ckpt), '--input', str(path), '--output',
         str(tmp_path / 'e.npy'), '--no-progress', '--device', 'cpu'])
    emb = np.load(tmp_path / 'e.npy')
    assert emb.shape == (rows, 8) and np.isnan(emb).all()  # blank lines at the end: no rows


def test_bad_outputs_fail_before_any_work(ckpt, tmp_path):
    (tmp_path / 'a.smi').write_text('CCO\n')
    for output, message in ((tmp_path / 'e.txt', 'must end in'),
                            (tmp_path, 'is a folder')):
        with pytest.raises(SystemExit, match=message):
            run(['embed', '--checkpoint', str(ckpt), '--input', str(tmp_path / 'a.smi'),
                 '--output', str(output), '--no-progress', '--device', 'cpu'])


def test_huge_smiles_is_an_invalid_record_not_a_stall():
    from graphpfm.datasets import featurize_smiles
    store = featurize_smiles(['C' * 50_000, 'CCO', 'C' * 1500], num_workers=0, progress=False)
    assert store.source_index.tolist() == [1]
    assert 'more than the limit of 2000' in store.invalid[0][1]
    assert 'atoms, more than the limit of 1000' in store.invalid[1][1]


def test_from_smiles_checks_its_inputs():
    from graphpfm import from_smiles
    with pytest.raises(DataError, match=r"write from_smiles\(\['CCO'\]\)"):
        from_smiles('CCO')
    with pytest.raises(DataError, match='must be 0 or 1'):
        from_smiles(['CCO', 'CC'], [0, 3.5], task_type='binary classification')
    with pytest.raises(DataError, match='finite'):
        from_smiles(['CCO', 'CC'], [0.5, float('inf')])
    bundle = from_smiles(['CCO', 'C\ud800C', 'CC'], [1.0, 0.0, 0.0])  # a lone surrogate
    assert bundle.meta['num_invalid'] == 1 and len(bundle.dataset) == 2


def test_the_python_api_gives_the_rows_the_command_writes(ckpt, tmp_path):
    """`graphpfm.embed_dataset` is what `graphpfm embed` writes: the same values and rows."""
    import graphpfm
    path = tmp_path / 'in.csv'
    path.write_bytes(CSV)
    run(['embed', '--checkpoint', str(ckpt), '--input', str(path), '--output',
         str(tmp_path / 'cli.npy'), '--featurize-workers', '0', '--no-progress'])
    bundle = graphpfm.load_dataset(str(path), num_workers=0)
    table = graphpfm.embed_dataset(graphpfm.load_encoder(ckpt), bundle, source=str(path))
    np.testing.assert_array_equal(table.values, np.load(tmp_path / 'cli.npy'))
    assert table.rows.equals(pd.read_csv(tmp_path / 'cli.rows.csv', keep_default_na=False))
    assert table.invalid == [i for i, v in enumerate(CSV_VALID) if not v]
    assert table.rows['line'].tolist() == CSV_LINES
    written = pd.read_csv(table.write(tmp_path / 'api.csv'))  # NaN rows read back as NaN
    assert written.columns[:4].tolist() == ['index', 'line', 'valid', 'reason']
    np.testing.assert_allclose(written[[f'e{i}' for i in range(8)]].to_numpy(),
                               table.values, rtol=1e-6)
    with pytest.raises(ValueError, match="output must end in .npy, .csv, .parquet, got 'x.txt'"):
        table.write(tmp_path / 'x.txt')
