"""The memory benchmark: its /proc/self/status parser on a crafted text, the Data list it
builds, and a tiny run end to end (every case in its own process)."""
import json

import pytest
import torch

from benchmarks import memory

STATUS = """Name:\tpython
VmPeak:\t 9000000 kB
VmHWM:\t  450000 kB
VmRSS:\t  440000 kB
RssAnon:\t  300000 kB
RssFile:\t  139000 kB
RssShmem:\t    1000 kB
Threads:\t4
"""


def test_parse_status_reads_bytes():
    assert memory.parse_status(STATUS) == {'VmHWM': 450000 * 1024, 'VmRSS': 440000 * 1024,
                                           'RssAnon': 300000 * 1024, 'RssFile': 139000 * 1024,
                                           'RssShmem': 1000 * 1024}


def test_parse_status_rejects_other_units():
    with pytest.raises(ValueError, match='unit'):
        memory.parse_status('VmHWM:\t 12 MB\n')


def test_memory_now_is_consistent():
    now = memory.memory_now()
    assert now['VmRSS'] == now['RssAnon'] + now['RssFile'] + now['RssShmem']
    assert now['VmHWM'] >= now['VmRSS'] > 0 and now['ru_maxrss'] > 0


def test_data_list_owns_int64_copies(mol_store):
    graphs = memory.as_data_list(mol_store, 3)
    assert len(graphs) == 3 and sorted(graphs[0].keys()) == ['edge_attr', 'edge_index', 'x']
    for i, d in enumerate(graphs):
        ref = mol_store[i]
        for key in ('x', 'edge_index', 'edge_attr'):
            t = d[key]
            assert t.dtype == torch.int64 and torch.equal(t, ref[key])
            assert t.untyped_storage().nbytes() == t.nbytes  # its own storage, not a view


@pytest.mark.data
def test_tiny_run_end_to_end(data_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv('GRAPHPFM_CACHE', str(tmp_path / 'cache'))
    out = tmp_path / 'memory.jsonl'
    rows = memory.main(['--root', str(data_root), '--num-molecules', '300', '--max-steps', '2',
                        '--batch-size', '64', '--datalist-molecules', '300',
                        '--featurize-workers', '0', '--out', str(out)])
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert records == json.loads(json.dumps(rows))
    by_case = {r['case']: r for r in records}
    assert list(by_case) == ['baseline', 'featurise', 'store', 'datalist']
    for r in records:
        for key in ('VmHWM', 'VmRSS', 'RssAnon', 'RssFile', 'ru_maxrss'):
            assert r[key] > 0, (r['case'], key)
        assert r['versions']['torch'] and r['hardware']['cpu_count'] >= 1

    feat = by_case['featurise']
    assert feat['molecules'] == 300 and not feat['from_cache'] and feat['featurise_s'] > 0
    assert feat['cache_bytes'] > feat['store_bytes'] > 0

    store = by_case['store']
    assert store['mmap'] and store['molecules'] == 300 and not store['full_epoch']
    assert store['steps'] == 2 and store['graphs'] == 128 and store['graphs_per_s'] > 0
    assert store['VmHWM'] >= store['VmRSS'] and store['peak_rss_anon'] > 0
    assert store['peak_rss_file'] > 0

    dl = by_case['datalist']
    assert dl['molecules'] == 300 and dl['list_bytes'] > 0 and dl['tensor_bytes'] > 0
    assert dl['list_bytes'] == dl['after']['RssAnon'] - dl['before']['RssAnon']
    assert dl['bytes_per_molecule'] == pytest.approx(dl['list_bytes'] / 300)
    assert dl['extrapolated_to'] == 1_936_962
    assert dl['extrapolated_list_bytes'] == pytest.approx(dl['list_bytes'] / 300 * 1_936_962)

    printed = capsys.readouterr().out
    assert '| store + pretraining | 300 |' in printed
    assert '(**extrapolated**) | 1,936,962 |' in printed


def test_table_extrapolates_only_a_partial_list():
    """A list measured on the whole corpus is reported as measured, with no extrapolated row."""
    row = {'case': 'datalist', 'VmHWM': 2 ** 30, 'list_bytes': 2 ** 29, 'build_s': 1.0,
           'bytes_per_molecule': 100.0, 'store_bytes_per_molecule': 10.0,
           'extrapolated_to': 1_936_962}
    partial = memory.table([{**row, 'molecules': 200_000,
                             'extrapolated_list_bytes': 2 ** 29 * 1_936_962 / 200_000}])
    assert '| list of Data, held (measured) | 200,000 |' in partial
    assert '(**extrapolated**) | 1,936,962 |' in partial
    whole = memory.table([{**row, 'molecules': 1_936_962, 'extrapolated_list_bytes': 2 ** 29}])
    assert '| list of Data, held (measured) | 1,936,962 |' in whole
    assert 'extrapolated' not in whole
