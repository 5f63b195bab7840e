"""Clustering expression embeddings into a requested number of values.

HDBSCAN finds dense groups without being told how many; the taxonomy wants about
``n_values``, so its clusters are then merged (average-linkage on cosine distance between
centroids) or, when HDBSCAN finds too few, the widest clusters are split with k-means.
Points HDBSCAN leaves out are assigned later, by the builder, to the nearest value above a
similarity threshold. Everything is deterministic for a given ``random_state``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)


@dataclass
class ClusterResult:
    labels: np.ndarray  # -1 for points HDBSCAN called noise
    n_hdbscan: int
    merged: int
    split: int


def _normalise(x: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(n, 1e-12)


def weighted_centroids(vectors: np.ndarray, labels: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    dim = vectors.shape[1]
    sums = np.zeros((k, dim), dtype=np.float64)
    mask = labels >= 0
    np.add.at(sums, labels[mask], vectors[mask] * weights[mask, None])
    return _normalise(sums).astype(np.float32)


REDUCERS = ("pca", "umap", "none")


def reduce_dimensions(vectors: np.ndarray, n_components: int, random_state: int, reducer: str = "pca") -> np.ndarray:
    """Fewer dimensions before HDBSCAN: density estimates in 384 dimensions are slow and flat.

    PCA is the default (fast, deterministic); UMAP (``pip install umap-learn``) follows the
    manifold more closely at a higher cost, and is deterministic only with a fixed seed and
    one thread.
    """
    n_components = min(n_components, vectors.shape[0] - 2, vectors.shape[1])
    if reducer == "none" or n_components < 2:
        return vectors
    if reducer == "umap":
        try:
            import umap
        except ImportError:
            from moralgap.errors import ConfigError

            raise ConfigError("--reducer umap needs the umap-learn package: pip install umap-learn") from None
        reduced = umap.UMAP(n_components=n_components, n_neighbors=15, min_dist=0.0, metric="cosine",
                            random_state=random_state).fit_transform(vectors)
        return reduced.astype(np.float32)
    from sklearn.decomposition import PCA

    reduced = PCA(n_components=n_components, random_state=random_state, svd_solver="randomized").fit_transform(vectors)
    return _normalise(reduced.astype(np.float64)).astype(np.float32)


def run_hdbscan(points: np.ndarray, min_cluster_size: int, min_samples: int | None) -> np.ndarray:
    import hdbscan

    if points.shape[0] < max(2, min_cluster_size):
        return np.full(points.shape[0], -1, dtype=int)
    clusterer = hdbscan.HDBSCAN(
        min_cluster_size=min_cluster_size,
        min_samples=min_samples,
        metric="euclidean",  # on unit vectors, a monotone function of cosine distance
        cluster_selection_method="leaf",  # many fine clusters; merging to n_values comes after
        core_dist_n_jobs=1,
    )
    return clusterer.fit_predict(points.astype(np.float64)).astype(int)


def merge_to(centroids: np.ndarray, weights: np.ndarray, n_target: int) -> np.ndarray:
    """Map each cluster to one of ``n_target`` groups by average-linkage on cosine distance."""
    from sklearn.cluster import AgglomerativeClustering

    if centroids.shape[0] <= n_target:
        return np.arange(centroids.shape[0])
    agg = AgglomerativeClustering(n_clusters=n_target, metric="cosine", linkage="average")
    return agg.fit_predict(centroids)


def split_to(vectors: np.ndarray, labels: np.ndarray, weights: np.ndarray, n_target: int, random_state: int) -> tuple[np.ndarray, int]:
    """Split the cluster with the largest within-cluster spread until there are ``n_target``."""
    from sklearn.cluster import KMeans

    labels = labels.copy()
    splits = 0
    while labels.max() + 1 < n_target:
        k = labels.max() + 1
        spreads = np.full(k, -1.0)
        for c in range(k):
            idx = np.where(labels == c)[0]
            if len(idx) < 4:
                continue
            cen = _normalise(vectors[idx].mean(axis=0, keepdims=True))[0]
            spreads[c] = float(np.sum(weights[idx] * (1.0 - vectors[idx] @ cen)))
        worst = int(np.argmax(spreads))
        if spreads[worst] <= 0:
            break
        idx = np.where(labels == worst)[0]
        sub = KMeans(n_clusters=2, n_init=4, random_state=random_state).fit_predict(vectors[idx], sample_weight=weights[idx])
        if sub.min() == sub.max():
            break
        labels[idx[sub == 1]] = k
        splits += 1
    return labels, splits


def cluster_expressions(vectors: np.ndarray, weights: np.ndarray, *, n_values: int | None, min_cluster_size: int,
                        min_samples: int | None, pca_components: int | None, random_state: int,
                        reducer: str = "pca") -> ClusterResult:
    """Cluster unit-normalised ``vectors`` (one per distinct expression, ``weights`` = mentions)."""
    points = reduce_dimensions(vectors, pca_components, random_state, reducer) if pca_components else vectors
    labels = run_hdbscan(points, min_cluster_size, min_samples)
    n_found = int(labels.max() + 1) if labels.size else 0
    merged = split = 0
    if n_values is not None and n_found > n_values:
        cents = weighted_centroids(vectors, labels, weights, n_found)
        sizes = np.bincount(labels[labels >= 0], weights=weights[labels >= 0], minlength=n_found)
        mapping = merge_to(cents, sizes, n_values)
        labels = np.where(labels >= 0, mapping[np.maximum(labels, 0)], -1)
        merged = n_found - n_values
    if n_values is not None and n_found < n_values:
        if n_found == 0:
            labels = np.zeros(len(vectors), dtype=int)
        else:
            # Points HDBSCAN left out join their nearest cluster first, so the split sees them.
            cents = weighted_centroids(vectors, labels, weights, n_found)
            noise = labels < 0
            labels[noise] = np.argmax(vectors[noise] @ cents.T, axis=1)
        labels, split = split_to(vectors, labels, weights, n_values, random_state)
    labels = _relabel_by_size(labels, weights)
    return ClusterResult(labels=labels, n_hdbscan=n_found, merged=merged, split=split)


def _relabel_by_size(labels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Number clusters 0..k-1 by decreasing total weight (ties by first member), for stable output."""
    valid = sorted(set(labels[labels >= 0].tolist()))
    if not valid:
        return labels
    size = {c: float(weights[labels == c].sum()) for c in valid}
    first = {c: int(np.argmax(labels == c)) for c in valid}
    order = sorted(valid, key=lambda c: (-size[c], first[c]))
    remap = {c: i for i, c in enumerate(order)}
    return np.array([remap.get(int(l), -1) for l in labels], dtype=int)
