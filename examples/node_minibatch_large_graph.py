"""Mini-batch node-level pretraining on a large synthetic graph, then a linear probe.

    python examples/node_minibatch_large_graph.py                       # 100k nodes, ~1M edges
    python examples/node_minibatch_large_graph.py --num-nodes 1000000 --avg-degree 10 \
        --epochs 1 --device cuda                                        # 1M nodes, ~10M edges

The graph is a stochastic block model built in a few tensor operations: every node belongs to
one of --num-blocks blocks (its label); each edge stays inside its source's block with
probability --p-in, else it goes anywhere; edges are made symmetric. The --num-features float
features are the block's random centroid times --signal plus unit Gaussian noise, so the label
is only weakly visible in a node's own features and neighbourhoods help.

The encoder is pretrained on mini-batches of seed nodes with sampled neighbourhoods
(graphpfm.NeighborLoader: pure torch, no pyg-lib or torch-sparse), every node a seed once per
epoch. Its frozen embeddings, and those of a randomly initialised encoder of the same
architecture, are then probed with a logistic regression (C chosen on the validation nodes).
Graphs too large for exact full-neighbourhood inference are embedded from sampled
neighbourhoods. Uses only graphpfm's public API.
"""
import argparse
import time

import torch
from torch_geometric.data import Data

import graphpfm

parser = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument('--num-nodes', type=int, default=100_000)
parser.add_argument('--avg-degree', type=float, default=10.0, help='directed edges per node')
parser.add_argument('--num-blocks', type=int, default=10)
parser.add_argument('--p-in', type=float, default=0.7, help='share of edges inside a block')
parser.add_argument('--num-features', type=int, default=128)
parser.add_argument('--signal', type=float, default=0.3, help='feature-label correlation')
parser.add_argument('--objective', default='grace', choices=['grace', 'bgrl', 'dgi', 'graphmae'])
parser.add_argument('--encoder', default='sage', choices=['sage', 'gcn', 'gat', 'gin'])
parser.add_argument('--num-layers', type=int, default=2)
parser.add_argument('--hidden-channels', type=int, default=128)
parser.add_argument('--epochs', type=int, default=1)
parser.add_argument('--lr', type=float, default=1e-3)
parser.add_argument('--node-batch-size', type=int, default=1024, help='seed nodes per step')
parser.add_argument('--num-neighbors', default='10,10', help='sampled neighbours per hop')
parser.add_argument('--train-fraction', type=float, default=0.05,
                    help='labelled nodes for the probe (as many again for validation)')
parser.add_argument('--probe-nodes', type=int, default=20_000,
                    help='nodes embedded for the probe (train, valid, test)')
parser.add_argument('--sampled-inference', action='store_true',
                    help='embed from sampled neighbourhoods even where exact inference fits')
parser.add_argument('--seeds', type=int, default=2)
parser.add_argument('--seed', type=int, default=0)
parser.add_argument('--device', default='auto')
parser.add_argument('--out', default='runs/example_node_minibatch')
args = parser.parse_args()
# an application, not the library: let glibc keep freed buffers for reuse instead of faulting
# in fresh pages every batch, as the graphpfm command does (GRAPHPFM_TUNE_MALLOC=0: off)
graphpfm.tune_malloc()

# ---------------------------------------------------------------- the graph
gen = torch.Generator().manual_seed(args.seed)
n, blocks = args.num_nodes, args.num_blocks
block = torch.randint(0, blocks, (n,), generator=gen)
order = torch.argsort(block)                              # nodes grouped by block
start = torch.searchsorted(block[order], torch.arange(blocks))
size = torch.bincount(block, minlength=blocks)
m = int(n * args.avg_degree / 2)
src = torch.randint(0, n, (m,), generator=gen)
inside = torch.rand(m, generator=gen) < args.p_in
b = block[src]
same = order[start[b] + (torch.rand(m, generator=gen) * size[b]).long().clamp_max(size[b] - 1)]
dst = torch.where(inside, same, torch.randint(0, n, (m,), generator=gen))
keep = src != dst
edge_index = torch.stack([src[keep], dst[keep]])
edge_index = torch.cat([edge_index, edge_index.flip(0)], 1)
centroids = torch.randn(blocks, args.num_features, generator=gen)
x = args.signal * centroids[block] + torch.randn(n, args.num_features, generator=gen)
data = Data(x=x, edge_index=edge_index, y=block, num_nodes=n)

labelled = torch.randperm(n, generator=gen)[:min(args.probe_nodes, n)]
k = max(1, int(args.train_fraction * labelled.numel()))
split_idx = {'train': labelled[:k], 'valid': labelled[k:2 * k], 'test': labelled[2 * k:]}
bundle = graphpfm.DatasetBundle(name='sbm', dataset=data, split_idx=split_idx, level='node',
                                task_type='multiclass classification', num_tasks=blocks,
                                eval_metric='acc', meta={'num_classes': blocks})
print(f'stochastic block model: {n} nodes, {edge_index.size(1)} edges, {blocks} blocks; '
      f"probe splits {', '.join(f'{s} {v.numel()}' for s, v in split_idx.items())}")

# ---------------------------------------------------------------- pretraining
num_neighbors = [int(v) for v in args.num_neighbors.split(',')]
arch = dict(num_layers=args.num_layers, hidden_channels=args.hidden_channels,
            in_channels=args.num_features)
torch.manual_seed(args.seed)
encoder = graphpfm.build_encoder(args.encoder, **arch)
objective = graphpfm.build_objective(args.objective, encoder)
config = graphpfm.TrainConfig(epochs=args.epochs, lr=args.lr, seed=args.seed, device=args.device,
                              node_batch_size=args.node_batch_size, num_neighbors=num_neighbors)
trainer = graphpfm.Trainer(objective, config, log_path=f'{args.out}/train_log.jsonl',
                           checkpoint_path=f'{args.out}/checkpoint.pt',
                           provenance={'corpus': 'sbm', 'num_nodes': n})
for record in trainer.fit(data):
    print(f"epoch {record['epoch']:3d}  loss {record['loss']:.4f}  "
          f"{record['nodes_per_s']:.0f} nodes/s  ({record['seconds']:.0f} s)")

# ---------------------------------------------------------------- linear probe
# exact inference embeds the whole graph at once; beyond a few million nodes x features,
# embed the probed nodes from sampled neighbourhoods instead
small = n * args.num_features + edge_index.size(1) <= 25_000_000 and not args.sampled_inference
probe_config = graphpfm.ProbeConfig(
    seeds=range(args.seeds), device=args.device, Cs=(0.01, 0.1, 1.0, 10.0),
    batch_size=None if small else 4096, num_neighbors=None if small else num_neighbors)
t0 = time.perf_counter()
checkpoint = f'{args.out}/checkpoint.pt'
results = {
    f'{args.objective} (pretrained)': graphpfm.probe(
        bundle, lambda seed: graphpfm.load_encoder(checkpoint), config=probe_config),
    'random encoder': graphpfm.probe(
        bundle, lambda seed: graphpfm.build_encoder(args.encoder, **arch), config=probe_config),
}
print(f'linear probe ({"exact" if small else "sampled"} inference, '
      f'{time.perf_counter() - t0:.0f} s): test accuracy at the C chosen on validation')
print(graphpfm.format_table(results))
