"""Constructor arguments that the pretraining data determine (Objective.data_kwargs)."""
from types import SimpleNamespace

import pytest

from graphpfm.objectives import OBJECTIVES, data_kwargs


def bundle(labelled=True, task_type='binary classification', num_tasks=3):
    return SimpleNamespace(name='toy', labelled=labelled, task_type=task_type,
                           num_tasks=num_tasks)


def test_objectives_fill_what_the_data_determine():
    assert OBJECTIVES.get('attr_masking').data_kwargs(bundle(), 10) == {}
    assert data_kwargs('supervised', {}, bundle(), 10) == {'num_tasks': 3}
    assert data_kwargs('bgrl', {'pe1': 0.1}, bundle(), 10) == {'total_steps': 10, 'pe1': 0.1}
    assert data_kwargs('bgrl', {'total_steps': 4}, bundle(), 10) == {'total_steps': 4}
    combined = data_kwargs('attr_masking+supervised', {'weights': [1, 2], 'options': {
        'attr_masking': {'mask_rate': 0.3}}}, bundle(), 10)
    assert combined == {'weights': [1, 2], 'options': {'attr_masking': {'mask_rate': 0.3},
                                                       'supervised': {'num_tasks': 3}}}


def test_supervised_needs_binary_labels():
    with pytest.raises(ValueError, match="dataset 'toy' is unlabelled"):
        data_kwargs('supervised', {}, bundle(labelled=False), 1)
    with pytest.raises(ValueError, match='valid datasets are binary classification'):
        data_kwargs('edge_pred+supervised', {}, bundle(task_type='regression'), 1)
