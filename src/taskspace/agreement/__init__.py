"""Task Discovery's agreement score and the machinery behind it (chapter 8 onwards).

* :mod:`~taskspace.agreement.networks` — ResNet-18, MLP, ViT, a small CNN (appendix I.3);
* :mod:`~taskspace.agreement.ensemble` — training many networks at once (a loop or ``vmap``);
* :mod:`~taskspace.agreement.score` — the agreement score, accuracy, Proposition 1;
* :mod:`~taskspace.agreement.tasks` — human-, random-, random-network- and pixel-labelled tasks;
* :mod:`~taskspace.agreement.measure` — one cached measurement: train, predict, keep the numbers;
* :mod:`~taskspace.agreement.splits` — adversarial train/test splits and their evaluation (ch. 10);
* :mod:`~taskspace.agreement.cache` — the disk cache behind it.
"""

from taskspace.agreement.ensemble import (
    STRATEGIES,
    Stochasticity,
    TrainConfig,
    TrainedEnsemble,
    choose_strategy,
    train_ensemble,
)
from taskspace.agreement.measure import AgreementRun, measure_agreement
from taskspace.agreement.networks import MLP, NetworkSpec, ResNet18, SmallCNN, ViT
from taskspace.agreement.score import (
    AgreementScore,
    Proposition1,
    accuracy,
    agreement_score,
    majority_vote,
    pairwise_agreement,
    proposition1,
)
from taskspace.agreement.splits import (
    SplitEvaluation,
    TrainTestSplit,
    adversarial_split,
    evaluate_split,
    random_split_like,
    target_groups,
)
from taskspace.agreement.tasks import (
    PixelTask,
    human_labels,
    human_task_splits,
    median_split,
    random_labels,
    random_network_scores,
    sample_human_tasks,
)

__all__ = [
    "MLP",
    "STRATEGIES",
    "AgreementRun",
    "AgreementScore",
    "NetworkSpec",
    "PixelTask",
    "Proposition1",
    "ResNet18",
    "SmallCNN",
    "SplitEvaluation",
    "Stochasticity",
    "TrainConfig",
    "TrainTestSplit",
    "TrainedEnsemble",
    "ViT",
    "accuracy",
    "adversarial_split",
    "agreement_score",
    "choose_strategy",
    "evaluate_split",
    "human_labels",
    "human_task_splits",
    "majority_vote",
    "measure_agreement",
    "median_split",
    "pairwise_agreement",
    "proposition1",
    "random_labels",
    "random_network_scores",
    "random_split_like",
    "sample_human_tasks",
    "target_groups",
    "train_ensemble",
]
