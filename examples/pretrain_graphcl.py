"""Pretrain a molecular GIN with GraphCL (You et al., 2020) or SimGRACE (Xia et al., 2022).

    python examples/pretrain_graphcl.py --dataset embedded --epochs 10
    python examples/pretrain_graphcl.py --dataset moses --limit 100000 --root ../shared/data \
        --aug1 random --aug2 random
    python examples/pretrain_graphcl.py --objective simgrace --dataset embedded --epochs 10

GraphCL makes two augmented views of every molecule in the batch (node dropping, edge
perturbation, attribute masking or a connected subgraph; 'random' draws one per batch), runs
both through the same encoder, mean-pools, projects and contrasts them with NT-Xent, the other
molecules of the batch being negatives. SimGRACE needs no augmentation: its second view comes
from a copy of the encoder with Gaussian noise on its weights. Uses only the public API.
"""
import argparse

import graphpfm

parser = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument('--objective', default='graphcl', choices=['graphcl', 'simgrace'])
parser.add_argument('--dataset', default='embedded', help="'embedded', 'moses', a SMILES file "
                    'or an OGB molecule dataset name')
parser.add_argument('--root', default=None, help='data root (default: $GRAPHPFM_DATA)')
parser.add_argument('--limit', type=int, default=None, help='first N molecules only')
parser.add_argument('--num-layers', type=int, default=5)
parser.add_argument('--hidden-channels', type=int, default=300)
parser.add_argument('--aug1', default='drop_nodes', help='GraphCL view 1 augmentation')
parser.add_argument('--aug2', default='subgraph', help='GraphCL view 2 augmentation')
parser.add_argument('--aug-ratio', type=float, default=0.2, help='augmentation strength')
parser.add_argument('--eta', type=float, default=1.0, help='SimGRACE weight-noise scale')
parser.add_argument('--temperature', type=float, default=None,
                    help='NT-Xent temperature (default: 0.1 for GraphCL, 0.2 for SimGRACE)')
parser.add_argument('--epochs', type=int, default=10)
parser.add_argument('--batch-size', type=int, default=256)
parser.add_argument('--device', default='auto')
parser.add_argument('--out', default='runs/example_graphcl')
args = parser.parse_args()

corpus = graphpfm.load_dataset(args.dataset, root=args.root, limit=args.limit)
print(corpus)

encoder = graphpfm.build_encoder('gin', num_layers=args.num_layers,
                                 hidden_channels=args.hidden_channels)
if args.objective == 'graphcl':
    options = dict(aug1=args.aug1, aug2=args.aug2, aug_ratio=args.aug_ratio)
else:
    options = dict(eta=args.eta)
if args.temperature is not None:
    options['temperature'] = args.temperature
objective = graphpfm.build_objective(args.objective, encoder, **options)
print(objective)
trainer = graphpfm.Trainer(
    objective,
    graphpfm.TrainConfig(epochs=args.epochs, batch_size=args.batch_size, device=args.device),
    log_path=f'{args.out}/train_log.jsonl',
    checkpoint_path=f'{args.out}/checkpoint.pt',
    provenance={'corpus': corpus.name, 'num_graphs': len(corpus)},
)
for record in trainer.fit(corpus.dataset):
    print(f"epoch {record['epoch']:3d}  NT-Xent {record['loss']:.4f}  "
          f"positive cosine {record['pos_cos']:.3f}  {record['graphs_per_s']:.0f} graphs/s")

# The checkpoint keeps the encoder only; the projection head was a pretraining head.
checkpoint = f'{args.out}/checkpoint.pt'
print(f'checkpoint: {checkpoint} -> {graphpfm.load_encoder(checkpoint)}')
print('fine-tune it with: python examples/finetune_molecules.py --checkpoint', checkpoint)
