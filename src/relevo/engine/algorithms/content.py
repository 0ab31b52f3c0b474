"""The content / category model (the AI service's category recommendations): items described
by TF-IDF over their category path (weighted more) and their text, grouped by K-Means. It
recommends what resembles a user's history, and places products the training data never saw
(`similar_to`, `cluster_of`).

Only arrays are saved (vocabularies, idf weights, item vectors, cluster centres); the
vectorizers are rebuilt from them on load, so a loaded model transforms text identically."""

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from threadpoolctl import threadpool_limits

from relevo.engine.base import Recommender, StopCheck, cosine_neighbours, sparse_arrays, sparse_from_arrays
from relevo.engine.bounds import bounded, check_bounds
from relevo.engine.data import TrainingData
from relevo.engine.rows import dense_product, row_block, row_dots
from relevo.engine.topk import top_k

_PATH_SEPARATORS = re.compile(r"\s*(?:>|/|\||»|::)\s*")
_DENSE_PROFILE_ENTRIES = 4_000_000  # users × terms held dense at once while scoring
MAX_TERMS = 200_000


@dataclass(frozen=True)
class ContentConfig:
    # Fewer when the catalog has fewer distinct descriptions; K-Means' time grows with it.
    clusters: int = bounded(20, at_least=1, at_most=1000)
    category_weight: float = bounded(2.0, at_least=0)  # the category block's weight against the text block's
    # Text vocabulary size: bounds the vectors and the cluster centres (clusters × terms, dense).
    max_terms: int = bounded(50_000, at_least=1, at_most=MAX_TERMS)
    # Share of a user's score that is the item's popularity rather than its likeness: items of
    # one category look nearly alike, so alone the model cannot tell a bestseller from a dud.
    # Off by default, as a hybrid blends popularity in itself.
    popularity_weight: float = bounded(0.0, at_least=0, at_most=1)

    def __post_init__(self) -> None:
        check_bounds(self)


class Content(Recommender):
    algorithm = "content"
    Config = ContentConfig

    def _fit(self, data: TrainingData, matrix: sp.csr_matrix, *, seed: int, threads: int, stop: StopCheck) -> None:
        catalog = data.catalog
        categories = [str(value) for value in catalog.category]
        texts = [str(value) for value in catalog.text]
        self.category_terms = _Terms.fitted(_category_vectorizer(), categories)
        self.text_terms = _Terms.fitted(_text_vectorizer(self.config.max_terms), texts)
        self.vectors = self._vectorize(categories, texts)
        # Each user counts once for an item, saturating with what they did (as in popular.py).
        saturated = matrix.copy()
        saturated.data = -np.expm1(-saturated.data.astype(np.float64))
        self.popularity = np.asarray(saturated.sum(axis=0), dtype=np.float32).ravel()
        stop()
        self.centres, self.labels = self._clusters(categories, texts, seed=seed, threads=threads)

    def _clusters(
        self, categories: list[str], texts: list[str], *, seed: int, threads: int
    ) -> tuple[np.ndarray, np.ndarray]:
        # More clusters than distinct descriptions would leave some empty (K-Means warns).
        distinct = len(set(zip(categories, texts, strict=True)))
        count = min(self.config.clusters, distinct)
        if count < 2 or self.vectors.shape[1] == 0:
            return np.zeros((1, self.vectors.shape[1]), dtype=np.float32), np.zeros(len(texts), dtype=np.int32)
        kmeans = KMeans(n_clusters=count, n_init=3, random_state=seed)
        with threadpool_limits(limits=threads):
            labels = kmeans.fit_predict(self.vectors)
        return kmeans.cluster_centers_.astype(np.float32), labels.astype(np.int32)

    def _vectorize(self, categories: list[str], texts: list[str]) -> sp.csr_matrix:
        """Unit-length item vectors: the category block, weighted, next to the text block."""
        blocks = sp.hstack(
            [self.category_terms.transform(categories) * self.config.category_weight, self.text_terms.transform(texts)]
        )
        return _unit_rows(sp.csr_matrix(blocks, dtype=np.float32))

    def _scores(self, users: np.ndarray, histories: sp.csr_matrix) -> np.ndarray:
        return self._likeness(histories, None)

    def _candidate_scores(self, users: np.ndarray, histories: sp.csr_matrix, candidates: np.ndarray) -> np.ndarray:
        return self._likeness(histories, candidates)

    def _likeness(self, histories: sp.csr_matrix, candidates: np.ndarray | None) -> np.ndarray:
        """Cosine of each user's profile (the history-weighted mean of the item vectors) to the
        vectors of the `candidates` (of every item for None), with `popularity_weight` of the
        items' popularity mixed in."""
        width = self.vectors.shape[0] if candidates is None else len(candidates)
        likeness = np.empty((histories.shape[0], width), dtype=np.float32)
        # Dense profiles, a block of users at a time: a sparse × dense product is the fast one.
        step = max(1, _DENSE_PROFILE_ENTRIES // max(self.vectors.shape[1], 1))
        for start in range(0, histories.shape[0], step):
            profiles = dense_product(row_block(histories, start, start + step), self.vectors)
            norms = np.linalg.norm(profiles, axis=1, keepdims=True)
            profiles /= np.where(norms > 0, norms, 1.0)
            if candidates is None:
                likeness[start : start + step] = (self.vectors @ profiles.T).T
            else:
                likeness[start : start + step] = row_dots(self.vectors, candidates, profiles)
        weight = self.config.popularity_weight
        if weight == 0:
            return likeness
        popularity = self.popularity if candidates is None else self.popularity[candidates]
        top = self.popularity.max(initial=0.0)
        share = popularity / top if top > 0 else np.zeros_like(popularity)
        return (1.0 - weight) * likeness + weight * share[np.newaxis, :]

    def _similar(self, item: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        return cosine_neighbours(self.vectors, item, k)

    # Placing what training never saw

    def similar_to(self, category: str, text: str, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The known items most like a product described by `category` and `text` (ids,
        scores), best first; only items with some likeness."""
        vector = self._vectorize([category], [text])
        similarity = np.asarray((self.vectors @ vector.T).todense(), dtype=np.float32).ravel()
        similarity[similarity <= 0] = -np.inf
        indices, scores = top_k(similarity[np.newaxis, :], k)
        keep = indices[0] >= 0
        return self.items.lookup(indices[0][keep]), scores[0][keep]

    def cluster_of(self, category: str, text: str = "") -> int:
        """The cluster a product so described belongs to (the nearest centre)."""
        vector = self._vectorize([category], [text])
        # |x - c|² = |x|² - 2 x·c + |c|²; |x|² is the same for every centre.
        distances = np.square(self.centres).sum(axis=1) - 2.0 * np.asarray(vector @ self.centres.T).ravel()
        return int(np.argmin(distances))

    def cluster_items(self, cluster: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The cluster's items, most popular first (ids, popularity shares of the most popular
        item); no items for an unknown cluster."""
        members = np.flatnonzero(self.labels == cluster)
        order = members[np.argsort(-self.popularity[members], kind="stable")][:k]
        top = self.popularity.max(initial=0.0)
        scores = self.popularity[order] / top if top > 0 else np.zeros(len(order), dtype=np.float32)
        return self.items.lookup(order), scores.astype(np.float32)

    def _state(self) -> dict[str, np.ndarray]:
        return {
            **self.category_terms.arrays("category"),
            **self.text_terms.arrays("text"),
            **sparse_arrays("vectors", self.vectors),
            "popularity": self.popularity,
            "centres": self.centres,
            "labels": self.labels,
        }

    def _restore(self, state: Mapping[str, np.ndarray]) -> None:
        self.category_terms = _Terms.restored(_category_vectorizer(), state, "category")
        self.text_terms = _Terms.restored(_text_vectorizer(self.config.max_terms), state, "text")
        self.vectors = sparse_from_arrays("vectors", state)
        self.popularity = state["popularity"]
        self.centres = state["centres"]
        self.labels = state["labels"]


def _unit_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Each row scaled to length one (empty rows stay empty; no features is fine too)."""
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1), dtype=np.float64).ravel())
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return sp.csr_matrix(sp.diags(scale.astype(np.float32)) @ matrix, dtype=np.float32)


def _category_path(category: str) -> list[str]:
    """A category's terms: every prefix of its path, so items of one leaf share all of them
    and items of one department share the first ("home", "home > kitchen", ...)."""
    parts = [part for part in _PATH_SEPARATORS.split(category.strip().lower()) if part]
    return [" > ".join(parts[: depth + 1]) for depth in range(len(parts))]


def _category_vectorizer() -> TfidfVectorizer:
    return TfidfVectorizer(analyzer=_category_path, dtype=np.float32)


def _text_vectorizer(max_terms: int) -> TfidfVectorizer:
    # Sublinear term frequency: a word repeated in name and description should not dominate.
    return TfidfVectorizer(sublinear_tf=True, max_features=max_terms, dtype=np.float32)


class _Terms:
    """One TF-IDF block: a vectorizer fitted (or rebuilt) on a vocabulary, or none when the
    documents had no terms at all (every vector is then empty)."""

    def __init__(self, vectorizer: TfidfVectorizer | None) -> None:
        self.vectorizer = vectorizer

    @classmethod
    def fitted(cls, vectorizer: TfidfVectorizer, documents: list[str]) -> "_Terms":
        try:
            vectorizer.fit(documents)
        except ValueError:  # scikit-learn refuses an empty vocabulary: no item has this kind of text
            return cls(None)
        return cls(vectorizer)

    @classmethod
    def restored(cls, vectorizer: TfidfVectorizer, state: Mapping[str, np.ndarray], name: str) -> "_Terms":
        terms = state[f"{name}.terms"].tolist()
        if not terms:
            return cls(None)
        vectorizer.set_params(vocabulary={term: index for index, term in enumerate(terms)})
        vectorizer.idf_ = state[f"{name}.idf"]
        return cls(vectorizer)

    def transform(self, documents: list[str]) -> sp.csr_matrix:
        if self.vectorizer is None:
            return sp.csr_matrix((len(documents), 0), dtype=np.float32)
        return self.vectorizer.transform(documents)

    def arrays(self, name: str) -> dict[str, np.ndarray]:
        if self.vectorizer is None:
            return {f"{name}.terms": np.array([], dtype=np.str_), f"{name}.idf": np.array([], dtype=np.float32)}
        vocabulary = self.vectorizer.vocabulary_
        terms = sorted(vocabulary, key=vocabulary.get)
        return {f"{name}.terms": np.asarray(terms, dtype=np.str_), f"{name}.idf": self.vectorizer.idf_}
