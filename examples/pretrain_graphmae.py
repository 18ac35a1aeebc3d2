"""Pretrain a molecular GIN with GraphMAE (Hou et al., 2022), save it, optionally fine-tune.

    python examples/pretrain_graphmae.py --dataset embedded --epochs 10
    python examples/pretrain_graphmae.py --dataset moses --limit 100000 --root ../shared/data \
        --finetune ogbg-molbbbp --finetune-epochs 30 --seeds 3

A quarter of the atoms of every molecule get the [MASK] token; the encoder output goes through
a bias-free linear map, the masked atoms' rows are zeroed again (re-masking), and one GIN layer
with bond embeddings decodes the atom types, scored by the scaled cosine error. With
--finetune, the pretrained encoder and a randomly initialised one are fine-tuned with the same
recipe and seeds. Uses only graphpfm's public API.
"""
import argparse

import graphpfm

parser = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument('--dataset', default='embedded', help="'embedded', 'moses', a SMILES file "
                    'or an OGB molecule dataset name')
parser.add_argument('--root', default=None, help='data root (default: $GRAPHPFM_DATA)')
parser.add_argument('--limit', type=int, default=None, help='first N molecules only')
parser.add_argument('--num-layers', type=int, default=5)
parser.add_argument('--hidden-channels', type=int, default=300)
parser.add_argument('--mask-rate', type=float, default=0.25)
parser.add_argument('--replace-rate', type=float, default=0.0,
                    help='fraction of masked atoms given another atom instead of [MASK]')
parser.add_argument('--gamma', type=float, default=1.0, help='scaled cosine error exponent')
parser.add_argument('--epochs', type=int, default=10)
parser.add_argument('--batch-size', type=int, default=256)
parser.add_argument('--device', default='auto')
parser.add_argument('--out', default='runs/example_graphmae')
parser.add_argument('--finetune', default=None,
                    help='then fine-tune on this labelled OGB dataset, against scratch')
parser.add_argument('--finetune-epochs', type=int, default=30)
parser.add_argument('--seeds', type=int, default=3, help='fine-tuning seeds')
args = parser.parse_args()

corpus = graphpfm.load_dataset(args.dataset, root=args.root, limit=args.limit)
print(corpus)

encoder = graphpfm.build_encoder('gin', num_layers=args.num_layers,
                                 hidden_channels=args.hidden_channels)
objective = graphpfm.build_objective('graphmae', encoder, mask_rate=args.mask_rate,
                                     replace_rate=args.replace_rate, gamma=args.gamma)
print(objective)
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
          f"masked-atom accuracy {record['atom_acc']:.3f}  {record['graphs_per_s']:.0f} graphs/s")

# The checkpoint keeps the encoder only; the decoder was a pretraining head.
checkpoint = f'{args.out}/checkpoint.pt'
print(f'checkpoint: {checkpoint} -> {graphpfm.load_encoder(checkpoint)}')

if args.finetune:
    bundle = graphpfm.load_dataset(args.finetune, root=args.root)
    spec = graphpfm.load_checkpoint(checkpoint)['encoder']
    config = graphpfm.FinetuneConfig(epochs=args.finetune_epochs, seeds=tuple(range(args.seeds)))
    results = graphpfm.compare(
        bundle,
        lambda seed: graphpfm.load_encoder(checkpoint, dropout=0.5),
        lambda seed: graphpfm.build_encoder(spec['name'], **{**spec['kwargs'], 'dropout': 0.5}),
        config, log_dir=f'{args.out}/finetune')
    print(f'{bundle.name}: test metric at the best validation epoch, mean ± std over seeds')
    print(graphpfm.format_table(results))
