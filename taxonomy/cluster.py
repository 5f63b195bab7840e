"""Clustering expression embeddings into a requested number of values.

HDBSCAN finds dense groups without being told how many; the taxonomy wants about
``n_values``, so its clusters are then merged (average-linkage on cosine distance between
centroids) or, when HDBSCAN finds too few, the widest clusters are split with k-means.
Given (seed) values constrain the merge: clusters near one given value must join, clusters
near different given values stay apart.
Points HDBSCAN leaves out are assigned later, by the builder, to the nearest value above a
similarity threshold. Everything is deterministic for a given ``random_state``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

log = logging.getLogger(__name__)


@dataclass
class ClusterResult:
    labels: np.ndarray  # -1 for points HDBSCAN called noise
    n_hdbscan: int
    merged: int
    split: int
    # Frequent forms HDBSCAN called noise that were given a cluster of their own.
    promoted: int = 0
    # Per final label, the index of the given (seed) value it was formed around, or -1.
    anchor: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))


def unit_rows(x: np.ndarray) -> np.ndarray:
    """``x`` scaled to unit length along its last axis (each row, or a single vector); zeros stay zero."""
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def weighted_centroids(vectors: np.ndarray, labels: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    dim = vectors.shape[1]
    sums = np.zeros((k, dim), dtype=np.float64)
    mask = labels >= 0
    np.add.at(sums, labels[mask], vectors[mask] * weights[mask, None])
    return unit_rows(sums).astype(np.float32)


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
    return unit_rows(reduced.astype(np.float64)).astype(np.float32)


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


def promote_frequent_noise(labels: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, int]:
    """Give a cluster of its own to each noise point said at least as often as HDBSCAN's median
    cluster is (in mentions).

    HDBSCAN sees distinct forms, not how often each is said: "control", said 9 times in the AITA
    comments with no other form near it, was noise, and then joined its nearest value
    ("Responsibility") as an outlier. As a cluster of its own it competes in the merge to
    ``n_values`` like any other, and stays apart unless it is as close to another as clusters
    that are merged.
    """
    found = labels >= 0
    if not found.any():
        return labels, 0
    sizes = np.bincount(labels[found], weights=weights[found])
    floor = max(float(np.median(sizes)), 2.0)
    heavy = np.where(~found & (weights >= floor))[0]
    if not len(heavy):
        return labels, 0
    labels = labels.copy()
    labels[heavy] = labels.max() + 1 + np.arange(len(heavy))
    return labels, len(heavy)


def merge_to(centroids: np.ndarray, weights: np.ndarray, n_target: int) -> np.ndarray:
    """Map each cluster to one of ``n_target`` groups by average-linkage on cosine distance."""
    from sklearn.cluster import AgglomerativeClustering

    if centroids.shape[0] <= n_target:
        return np.arange(centroids.shape[0])
    agg = AgglomerativeClustering(n_clusters=n_target, metric="cosine", linkage="average")
    return agg.fit_predict(centroids)


def split_to(vectors: np.ndarray, labels: np.ndarray, weights: np.ndarray, n_target: int,
             random_state: int) -> tuple[np.ndarray, dict[int, int]]:
    """Split the cluster with the largest within-cluster spread until there are ``n_target``.

    Returns the new labels and, for each cluster a split created, the cluster it came from.
    """
    from sklearn.cluster import KMeans

    labels = labels.copy()
    parent: dict[int, int] = {}
    while labels.max() + 1 < n_target:
        k = labels.max() + 1
        spreads = np.full(k, -1.0)
        for c in range(k):
            idx = np.where(labels == c)[0]
            if len(idx) < 4:
                continue
            cen = unit_rows(vectors[idx].mean(axis=0, keepdims=True))[0]
            spreads[c] = float(np.sum(weights[idx] * (1.0 - vectors[idx] @ cen)))
        worst = int(np.argmax(spreads))
        if spreads[worst] <= 0:
            break
        idx = np.where(labels == worst)[0]
        sub = KMeans(n_clusters=2, n_init=4, random_state=random_state).fit_predict(vectors[idx], sample_weight=weights[idx])
        if sub.min() == sub.max():
            break
        labels[idx[sub == 1]] = k
        parent[k] = worst
    return labels, parent


def claim_clusters(centroids: np.ndarray, anchors: np.ndarray, threshold: float) -> np.ndarray:
    """For each cluster, the given value its centroid is most similar to, if at least ``threshold``; else -1."""
    sim = centroids @ anchors.T
    best = np.argmax(sim, axis=1)
    return np.where(sim[np.arange(len(best)), best] >= threshold, best, -1)


def merge_guided(centroids: np.ndarray, claim: np.ndarray, n_target: int | None) -> np.ndarray:
    """Average-linkage merge in which clusters claimed by one given value must join and
    clusters claimed by different given values are kept apart unless ``n_target`` forces it.

    Must-links are distance 0 and cannot-links the largest cosine distance (2), so unclaimed
    clusters still merge by how close they are, into a given value or with each other.
    """
    n = len(centroids)
    if n_target is None or n_target >= n:
        # Only the must-links: clusters of one given value become one group, numbered in order
        # of first appearance.
        number: dict[tuple[str, int], int] = {}
        keys = [("seed", int(c)) if c >= 0 else ("own", i) for i, c in enumerate(claim)]
        return np.array([number.setdefault(k, len(number)) for k in keys], dtype=int)
    from sklearn.cluster import AgglomerativeClustering

    dist = np.clip(1.0 - centroids.astype(np.float64) @ centroids.T.astype(np.float64), 0.0, 2.0)
    claimed = claim >= 0
    both = claimed[:, None] & claimed[None, :]
    same = claim[:, None] == claim[None, :]
    dist[both & same] = 0.0
    dist[both & ~same] = 2.0
    np.fill_diagonal(dist, 0.0)
    return AgglomerativeClustering(n_clusters=n_target, metric="precomputed", linkage="average").fit_predict(dist)


def group_anchors(group: np.ndarray, claim: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per group, the given value that claims most of its weight, or -1.

    Each given value names at most one group: the one where it has the most weight.
    """
    k = int(group.max() + 1)
    out = np.full(k, -1, dtype=int)
    owner: dict[int, tuple[float, int]] = {}
    for g in range(k):
        idx = np.where((group == g) & (claim >= 0))[0]
        if not len(idx):
            continue
        w = np.bincount(claim[idx], weights=weights[idx])
        a = int(np.argmax(w))
        if a not in owner or w[a] > owner[a][0]:
            owner[a] = (float(w[a]), g)
    for a, (_, g) in owner.items():
        out[g] = a
    return out


def cluster_expressions(vectors: np.ndarray, weights: np.ndarray, *, n_values: int | None, min_cluster_size: int,
                        min_samples: int | None, pca_components: int | None, random_state: int,
                        reducer: str = "pca", anchors: np.ndarray | None = None,
                        anchor_threshold: float = 0.5, refine: int = 0, trace: dict | None = None) -> ClusterResult:
    """Cluster unit-normalised ``vectors`` (one per distinct expression, ``weights`` = mentions).

    ``anchors`` (unit vectors of given values, in the same space) guide the merge of HDBSCAN's
    clusters: clusters near one given value are merged together and clusters near different
    ones are kept apart, so each given value the data supports comes out as a value of its own.
    ``trace``, when given, receives the labels after each step that ran (``leaves``,
    ``promoted``, ``merged``, ``split``, ``balanced``, ``refined``; -1 is noise), so a reader can
    see at which step two expressions came together (benchmarks/cluster_trace.py).
    """
    def record(step: str, at: np.ndarray) -> None:
        if trace is not None:
            trace[step] = at.copy()

    points = reduce_dimensions(vectors, pca_components, random_state, reducer) if pca_components else vectors
    labels = run_hdbscan(points, min_cluster_size, min_samples)
    record("leaves", labels)
    n_hdbscan = int(labels.max() + 1) if labels.size else 0
    labels, promoted = promote_frequent_noise(labels, weights)
    record("promoted", labels)
    n_leaves = n_found = int(labels.max() + 1) if labels.size else 0
    merged = 0
    anchor_of = np.zeros(0, dtype=int)
    guided = anchors is not None and len(anchors) > 0 and n_found > 0
    if guided or (n_values is not None and n_found > n_values):
        cents = weighted_centroids(vectors, labels, weights, n_found)
        sizes = np.bincount(labels[labels >= 0], weights=weights[labels >= 0], minlength=n_found)
        if guided:
            claim = claim_clusters(cents, anchors, anchor_threshold)
            mapping = merge_guided(cents, claim, n_values)
            anchor_of = group_anchors(mapping, claim, sizes)
        else:
            mapping = merge_to(cents, sizes, n_values)
        labels = np.where(labels >= 0, mapping[np.maximum(labels, 0)], -1)
        n_found = int(mapping.max() + 1)
        merged = n_leaves - n_found
        record("merged", labels)
    parent: dict[int, int] = {}
    if n_values is not None and n_found < n_values:
        if n_found == 0:
            labels = np.zeros(len(vectors), dtype=int)
        else:
            # Points HDBSCAN left out join their nearest cluster first, so the split sees them.
            cents = weighted_centroids(vectors, labels, weights, n_found)
            noise = labels < 0
            labels[noise] = np.argmax(vectors[noise] @ cents.T, axis=1)
        labels, parent = split_to(vectors, labels, weights, n_values, random_state)
        record("split", labels)
    if len(anchor_of):
        anchor_of = _anchors_after_splits(vectors, labels, weights, anchors, anchor_of, parent)
    # A guided merge keeps given values apart on purpose; nearest-centre passes would undo that.
    if refine and not guided:
        labels = balance_partition(vectors, labels, weights, random_state)
        record("balanced", labels)
        labels = refine_partition(vectors, labels, weights, refine)
        record("refined", labels)
    labels, order = _relabel_by_size(labels, weights)
    return ClusterResult(labels=labels, n_hdbscan=n_hdbscan, merged=merged, split=len(parent), promoted=promoted,
                         anchor=anchor_of[order] if len(anchor_of) else anchor_of)


def refine_partition(vectors: np.ndarray, labels: np.ndarray, weights: np.ndarray, iterations: int) -> np.ndarray:
    """Weighted spherical k-means steps from the current partition, over the clustered points.

    Merging HDBSCAN's leaves by linkage can leave a point in a group whose centre has drifted
    away from it; moving every clustered point to its nearest centre (and recomputing the
    centres) makes each value the set of expressions closest to its meaning. The number of
    values never changes: a value that would empty keeps its old members.
    """
    k = int(labels.max() + 1) if (labels >= 0).any() else 0
    if k < 2:
        return labels
    labels = labels.copy()
    mask = labels >= 0
    for _ in range(iterations):
        cents = weighted_centroids(vectors, labels, weights, k)
        new = labels.copy()
        new[mask] = np.argmax(vectors[mask] @ cents.T, axis=1)
        keep = np.bincount(new[mask], minlength=k) == 0
        if keep.any():
            for c in np.where(keep)[0]:
                new[labels == c] = c
        if np.array_equal(new, labels):
            break
        labels = new
    return labels


def _spread(vectors: np.ndarray, weights: np.ndarray, idx: np.ndarray) -> float:
    """Weighted cosine spread of a group around its own centre: what k-means-style steps lower."""
    if len(idx) == 0:
        return 0.0
    cen = unit_rows((weights[idx, None] * vectors[idx]).sum(axis=0, keepdims=True))[0]
    return float(np.sum(weights[idx] * (1.0 - vectors[idx] @ cen)))


def balance_partition(vectors: np.ndarray, labels: np.ndarray, weights: np.ndarray, random_state: int,
                      max_moves: int = 20) -> np.ndarray:
    """Split the widest value in two and merge the two values that are cheapest to join, while
    that lowers the total spread; the number of values stays the same.

    Nearest-centre passes only move points between neighbouring values. They cannot take apart
    a value that joined two ideas (linkage merges chain small leaves into one broad group) nor
    join two small values that say the same thing; this global move does both.
    """
    from sklearn.cluster import KMeans

    labels = labels.copy()
    k = int(labels.max() + 1) if (labels >= 0).any() else 0
    if k < 3:
        return labels
    for _ in range(max_moves):
        groups = [np.where(labels == c)[0] for c in range(k)]
        spreads = np.array([_spread(vectors, weights, g) for g in groups])
        worst = int(np.argmax(spreads))
        g = groups[worst]
        if len(g) < 4:
            break
        sub = KMeans(n_clusters=2, n_init=4, random_state=random_state).fit_predict(vectors[g], sample_weight=weights[g])
        if sub.min() == sub.max():
            break
        gain = spreads[worst] - _spread(vectors, weights, g[sub == 0]) - _spread(vectors, weights, g[sub == 1])
        # The cheapest pair to join among the other values (their spread after joining, less before).
        # Only each value's nearest few are candidates: joining distant values never pays.
        cents = weighted_centroids(vectors, labels, weights, k)
        best, pair = np.inf, None
        sims = cents @ cents.T
        for a in range(k):
            if a == worst:
                continue
            for b in np.argsort(-sims[a])[:4]:
                b = int(b)
                if b == a or b == worst:
                    continue
                cost = _spread(vectors, weights, np.concatenate([groups[a], groups[b]])) - spreads[a] - spreads[b]
                if cost < best:
                    best, pair = cost, (a, b)
        if pair is None or best >= gain:
            break
        a, b = sorted(pair)
        labels[labels == b] = a
        # The freed number takes the split-off half of the widest value.
        labels[g[sub == 1]] = b
    return labels


def _anchors_after_splits(vectors, labels, weights, anchors, anchor_of, parent) -> np.ndarray:
    """After splits, a given value stays with the part of its group whose centroid is closest to it."""
    k = int(labels.max() + 1)
    out = np.concatenate([anchor_of, np.full(k - len(anchor_of), -1, dtype=int)])
    if not parent:
        return out

    def root(c: int) -> int:
        while c in parent:
            c = parent[c]
        return c

    cents = weighted_centroids(vectors, labels, weights, k)
    for g, a in enumerate(anchor_of):
        if a < 0:
            continue
        family = [c for c in range(k) if root(c) == g]
        out[family] = -1
        out[max(family, key=lambda c: (float(cents[c] @ anchors[a]), -c))] = a
    return out


def _relabel_by_size(labels: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Number clusters 0..k-1 by decreasing total weight (ties by first member), for stable output.

    Also returns ``order``: the old number of each new cluster.
    """
    valid = sorted(set(labels[labels >= 0].tolist()))
    if not valid:
        return labels, np.zeros(0, dtype=int)
    size = {c: float(weights[labels == c].sum()) for c in valid}
    first = {c: int(np.argmax(labels == c)) for c in valid}
    order = sorted(valid, key=lambda c: (-size[c], first[c]))
    remap = {c: i for i, c in enumerate(order)}
    return np.array([remap.get(int(l), -1) for l in labels], dtype=int), np.array(order, dtype=int)
