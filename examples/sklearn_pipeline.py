"""A pretrained encoder inside a scikit-learn pipeline, against fine-tuning it, on ogbg-molbbbp.

    python examples/sklearn_pipeline.py --checkpoint runs/example_attr_masking/checkpoint.pt \
        --root ../shared/data --epochs 30 --seeds 3

The pipeline GraphEmbedder -> StandardScaler -> LogisticRegression learns from the SMILES of
the scaffold split's training molecules (the encoder stays frozen: only the logistic
regression is fitted) and is scored on the test molecules by ROC-AUC with OGB's evaluator.
Beside it the same checkpoint is fine-tuned end to end (graphpfm.finetune: test ROC-AUC at
the best validation epoch, mean ± std over seeds). Uses only graphpfm's public API.
"""
import argparse

import numpy as np
from ogb.graphproppred import Evaluator
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import graphpfm

parser = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument('--checkpoint', default=None,
                    help='checkpoint file or shipped model name (default: the shipped model)')
parser.add_argument('--root', default=None, help='data root (default: $GRAPHPFM_DATA)')
parser.add_argument('--dataset', default='ogbg-molbbbp',
                    help='an OGB molecule dataset with one binary task')
parser.add_argument('--C', type=float, default=1.0, help='inverse regularisation strength')
parser.add_argument('--epochs', type=int, default=30, help='fine-tuning epochs')
parser.add_argument('--seeds', type=int, default=3, help='fine-tuning seeds')
parser.add_argument('--dropout', type=float, default=0.5, help='encoder dropout when fine-tuning')
parser.add_argument('--device', default='cpu')
args = parser.parse_args()

bundle = graphpfm.load_dataset(args.dataset, root=args.root)
if bundle.task_type != 'binary classification' or bundle.num_tasks != 1:
    parser.error(f'{bundle.name} is {bundle.task_type} with {bundle.num_tasks} tasks; this '
                 'example takes one binary task')
print(bundle)
smiles = np.asarray(graphpfm.bundle_smiles(bundle, args.root), dtype=object)
y = bundle.dataset.y.numpy()  # [num_graphs, 1], NaN = missing
train, test = (bundle.split_idx[s].numpy() for s in ('train', 'test'))
train = train[~np.isnan(y[train, 0])]

pipe = Pipeline([
    ('embed', graphpfm.GraphEmbedder(checkpoint=args.checkpoint, device=args.device)),
    ('impute', SimpleImputer()),  # molecules RDKit rejects give NaN rows
    ('scale', StandardScaler()),
    ('clf', LogisticRegression(C=args.C, max_iter=2000)),
])
pipe.fit(smiles[train], y[train, 0].astype(int))
scores = pipe.decision_function(smiles[test])
rocauc = Evaluator(bundle.name).eval({'y_true': y[test], 'y_pred': scores[:, None]})['rocauc']

checkpoint = pipe.named_steps['embed'].checkpoint_path_
config = graphpfm.FinetuneConfig(epochs=args.epochs, seeds=tuple(range(args.seeds)),
                                 device=args.device)
tuned = graphpfm.finetune(
    bundle, lambda seed: graphpfm.load_encoder(checkpoint, dropout=args.dropout), config)

print(f'{bundle.name}, scaffold split, test ROC-AUC')
print(f'  frozen embeddings + logistic regression (C={args.C:g}): {rocauc:.3f}')
print(f'  fine-tuned ({args.epochs} epochs, mean ± std over {args.seeds} seeds): '
      f'{tuned.summary()}')
