"""Model cards of a transfer run's pretrained encoders: data, featuriser, objective, training
and the overlap of the pretraining corpus with every downstream split."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def corpus_overlap(corpus: str, limit: int | None, datasets: list[str], root: str | None
                   ) -> dict[str, dict[str, int]]:
    """``{dataset: {split: corpus molecules found in it}}`` by InChIKey (RDKit), for every
    split of every downstream dataset."""
    from graphpfm.datasets import dataset_smiles
    from graphpfm.datasets.leakage import downstream_smiles, molecule_keys
    keys = {k for k in molecule_keys(dataset_smiles(corpus, root, limit)) if k is not None}
    out: dict[str, dict[str, int]] = {}
    for name in datasets:
        out[name] = {}
        for split in ('train', 'valid', 'test'):
            smiles, _, _ = downstream_smiles(name, root, [split])
            found = {k for k in molecule_keys(smiles) if k is not None}
            out[name][split] = len(found & keys)
    return out


def write_model_card(adir: Path, overlap: dict[str, dict[str, int]]) -> dict[str, Any]:
    """``model_card.json`` and ``model_card.md`` beside a pretrained checkpoint: the data,
    the featuriser, the objective, the training (epochs, time, loss curve) and the overlap of
    the corpus with every downstream split (distinct molecules, by InChIKey)."""
    from graphpfm.train import load_checkpoint
    ckpt = load_checkpoint(adir / 'checkpoint.pt')
    run = json.loads((adir / 'protocol.json').read_text())
    history = ckpt.get('history') or []
    data = ckpt.get('data') or {}
    card = {
        'objective': ckpt['objective'], 'encoder': ckpt['encoder'],
        'corpus': {k: data.get(k) for k in ('corpus', 'num_graphs', 'limit', 'source',
                                            'num_invalid')},
        'featuriser': 'ogb.utils.smiles2graph: 9 categorical atom and 3 bond features (OGB); '
                      'Hu et al. (2020) used 2 atom / 2 bond features',
        'leakage_control': data.get('leakage'),
        'training': {'epochs': len(history), 'wall_s': round(run.get('wall_s', float('nan')), 1),
                     'loss_per_epoch': [h['loss'] for h in history],
                     'config': {k: (ckpt.get('config') or {}).get(k)
                                for k in ('batch_size', 'lr', 'seed', 'epochs')}},
        'overlap_with_downstream': overlap, 'versions': ckpt.get('versions'),
        'created': ckpt.get('created'),
    }
    (adir / 'model_card.json').write_text(json.dumps(card, indent=1))
    obj = card['objective']
    lines = [f"# {obj['name']} ({', '.join(f'{k}={v}' for k, v in obj['kwargs'].items())})", '',
             f"- encoder: {card['encoder']['name']} {card['encoder']['kwargs']}",
             f"- corpus: {card['corpus']['corpus']}, {card['corpus']['num_graphs']} molecules",
             f"- featuriser: {card['featuriser']}",
             (f"- training: {card['training']['epochs']} epochs, {card['training']['wall_s']} s; "
             f"loss per epoch {', '.join(f'{v:.4f}' for v in card['training']['loss_per_epoch'])}")]
    if card['leakage_control']:
        lc = card['leakage_control']
        lines.append(f"- leakage control: removed {lc.get('removed')} molecules found in the "
                     f"{'/'.join(lc.get('splits', []))} splits of "
                     f"{', '.join(lc.get('downstream', []))}")
    lines += ['', '| downstream | train | valid | test |', '|---|---:|---:|---:|']
    lines += [f"| {d} | {v['train']} | {v['valid']} | {v['test']} |" for d, v in overlap.items()]
    lines += ['', ('Counts: distinct corpus molecules (InChIKey) found in each split, before any '
              'leakage control.'), f"versions: {card['versions']}"]
    (adir / 'model_card.md').write_text('\n'.join(lines) + '\n')
    return card


