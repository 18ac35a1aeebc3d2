"""The bad-input benchmark reports every case that does not behave as expected: a wrong exit
status, a traceback, a missing message, a hang."""
from __future__ import annotations

from benchmarks.bad_inputs import Case, Runner, counts, report, scrub


def test_cases_that_misbehave_are_reported(tmp_path):
    files = tmp_path / 'files'
    files.mkdir()
    (files / 'garbage.pt').write_bytes(b'\x00 not a checkpoint')
    (files / 'mols.smi').write_text('CCO\n')
    embed = ('embed', '--checkpoint', 'garbage.pt', '--input', 'mols.smi', '--output', 'e.npy')
    cases = [Case('as expected', ('list', 'no_such'), 2, "Unknown objective 'no_such'"),
             Case('succeeds', ('list', 'attr_masking'), 2, 'anything'),
             Case('traceback', (*embed, '--debug'), 1, 'garbage.pt', ('garbage.pt', 'mols.smi')),
             Case('other message', embed, 1, 'no such text', ('garbage.pt', 'mols.smi')),
             Case('hangs', ('pretrain', '--dataset', 'mols.smi', '--epochs', '100000',
                            '--num-layers', '1', '--hidden-channels', '4', '--device', 'cpu',
                            '--out', 'run'), 2, 'never', ('mols.smi',))]
    with Runner(files, tmp_path / 'work', preload=True) as runner:
        records = [runner(c, timeout=20 if c.input != 'hangs' else 3) for c in cases]
    first, ok, tb, other, hang = records
    assert first['as_expected'] and first['last_line'].startswith('error: Unknown objective')
    assert ok['status'] == 0 and not ok['status_ok'] and not ok['as_expected']
    assert tb['traceback'] and tb['status'] == 1 and not tb['as_expected']
    assert other['status_ok'] and not other['message_ok']
    assert 'garbage.pt is not a readable' in other['last_line'] and '/' not in \
        other['last_line'].split('garbage.pt')[0]  # the case folder is not shown
    assert hang['timed_out'] and not hang['as_expected']
    assert counts(records) == {'cases': 5, 'as expected': 1, 'tracebacks': 1,
                               'wrong status': 2, 'misleading or missing message': 4,
                               'timed out': 1, 'skipped': 0}
    page = report(records, 'python -m benchmarks.bad_inputs', 1.0)
    assert page.count('| **no**') == 4 and '**no**: traceback' in page
    assert '**no**: status 0, expected 2' in page and '**no**: timed out' in page


def test_scrub_shows_paths_in_a_case_folder_by_their_names():
    text = "error: cannot read /tmp/x/case-3/a b.smi: /tmp/x/work/cache/s.pt ('/d/ogb/x.csv')"
    assert scrub(text, ['/tmp/x/case-3', '/tmp/x/work'], '/d') == \
        "error: cannot read a b.smi: cache/s.pt ('DATA/ogb/x.csv')"
