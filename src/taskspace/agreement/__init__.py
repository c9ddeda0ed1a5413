"""Task Discovery's agreement score and the machinery behind it (chapter 8 onwards).

* :mod:`~taskspace.agreement.networks` — ResNet-18, MLP, ViT, a small CNN (appendix I.3);
* :mod:`~taskspace.agreement.ensemble` — training many networks at once (a loop or ``vmap``);
* :mod:`~taskspace.agreement.score` — the agreement score, accuracy, Proposition 1;
* :mod:`~taskspace.agreement.tasks` — human-, random-, random-network- and pixel-labelled tasks;
* :mod:`~taskspace.agreement.measure` — one cached measurement: train, predict, keep the numbers;
* :mod:`~taskspace.agreement.recipes` — chapter 8's settings per scale, images and tasks (ch. 8-10);
* :mod:`~taskspace.agreement.proxy` — the differentiable proxy-AS and its meta-gradient (ch. 9);
* :mod:`~taskspace.agreement.benchmark` — time and peak memory of that meta-gradient (ch. 9);
* :mod:`~taskspace.agreement.discovery` — task encoders, discovering tasks, task similarity (ch. 9);
* :mod:`~taskspace.agreement.discovery_experiments` — chapter 9's settings and experiments;
* :mod:`~taskspace.agreement.splits` — adversarial train/test splits and their evaluation (ch. 10);
* :mod:`~taskspace.agreement.split_experiments` — chapter 10's settings and experiments;
* :mod:`~taskspace.cache` — the disk cache behind the measurements (and chapter 4's boxes).
"""

from taskspace.agreement.discovery import (
    DiscoveredTasks,
    DiscoveryConfig,
    TaskEncoder,
    discover_tasks,
    mean_pairwise_similarity,
    orthogonal_heads,
    task_similarity,
    uniformity_loss,
)
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
from taskspace.agreement.proxy import META_GRADIENTS, ProxyConfig, proxy_agreement
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
    SmallSplitWarning,
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
    "META_GRADIENTS",
    "MLP",
    "STRATEGIES",
    "AgreementRun",
    "AgreementScore",
    "DiscoveredTasks",
    "DiscoveryConfig",
    "NetworkSpec",
    "PixelTask",
    "Proposition1",
    "ProxyConfig",
    "ResNet18",
    "SmallCNN",
    "SmallSplitWarning",
    "SplitEvaluation",
    "Stochasticity",
    "TaskEncoder",
    "TrainConfig",
    "TrainTestSplit",
    "TrainedEnsemble",
    "ViT",
    "accuracy",
    "adversarial_split",
    "agreement_score",
    "choose_strategy",
    "discover_tasks",
    "evaluate_split",
    "human_labels",
    "human_task_splits",
    "majority_vote",
    "mean_pairwise_similarity",
    "measure_agreement",
    "median_split",
    "orthogonal_heads",
    "pairwise_agreement",
    "proposition1",
    "proxy_agreement",
    "random_labels",
    "random_network_scores",
    "random_split_like",
    "sample_human_tasks",
    "target_groups",
    "task_similarity",
    "train_ensemble",
    "uniformity_loss",
]
