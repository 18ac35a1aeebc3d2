"""Pretrain a molecular GIN with context prediction (Hu et al., 2020) and save a checkpoint.

    python examples/pretrain_context_pred.py --dataset embedded --epochs 10
    python examples/pretrain_context_pred.py --dataset moses --limit 100000 --root ../shared/data

Every molecule gets a random center atom; the encoder embeds the center's k-hop neighbourhood
(k = --num-layers), a separate 3-layer GNN embeds the ring of atoms k..k+2 hops away, and the
two are trained to recognise each other among the other molecules of the batch.
Uses only graphpfm's public API.
"""
import argparse

import graphpfm

parser = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument('--dataset', default='embedded', help="'embedded', 'moses', a SMILES file "
                    'or an OGB molecule dataset name')
parser.add_argument('--root', default=None, help='data root (default: $GRAPHPFM_DATA)')
parser.add_argument('--limit', type=int, default=None, help='first N molecules only')
parser.add_argument('--num-layers', type=int, default=5, help='encoder layers = substructure k')
parser.add_argument('--hidden-channels', type=int, default=300)
parser.add_argument('--context-layers', type=int, default=3)
parser.add_argument('--mode', default='cbow', choices=['cbow', 'skipgram'])
parser.add_argument('--neg-samples', type=int, default=1)
parser.add_argument('--epochs', type=int, default=10)
parser.add_argument('--batch-size', type=int, default=256)
parser.add_argument('--device', default='auto')
parser.add_argument('--out', default='runs/example_context_pred')
args = parser.parse_args()

corpus = graphpfm.load_dataset(args.dataset, root=args.root, limit=args.limit)
print(corpus)

encoder = graphpfm.build_encoder('gin', num_layers=args.num_layers,
                                 hidden_channels=args.hidden_channels)
objective = graphpfm.build_objective('context_pred', encoder, context_layers=args.context_layers,
                                     mode=args.mode, neg_samples=args.neg_samples)
print(objective.kwargs)
trainer = graphpfm.Trainer(
    objective,
    graphpfm.TrainConfig(epochs=args.epochs, batch_size=args.batch_size, device=args.device),
    log_path=f'{args.out}/train_log.jsonl',
    checkpoint_path=f'{args.out}/checkpoint.pt',
    provenance={'corpus': corpus.name, 'num_graphs': len(corpus)},
)
history = trainer.fit(corpus.dataset)
for record in history:
    print(f"epoch {record['epoch']:3d}  loss {record['loss']:.4f}  "
          f"pair accuracy {record.get('acc', float('nan')):.3f}  "
          f"skipped {100 * record['skipped_frac']:.1f}%  {record['graphs_per_s']:.0f} graphs/s")

# The checkpoint keeps the substructure encoder only; the context GNN was a pretraining head.
restored = graphpfm.load_encoder(f'{args.out}/checkpoint.pt')
print(f'checkpoint: {args.out}/checkpoint.pt -> {restored}')
