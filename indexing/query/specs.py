"""The query model: every question SimLab can ask is one typed, validated, JSON-serialisable spec.

- ``NeighboursQuery``: the nearest items to a text, an image or an item (k, kind and metadata filters).
- ``ComposeQuery``: a reference image plus a modification text, ranked by each compose method.
- ``ConditionQuery``: similar to a reference *with respect to* an attribute, a value or an object.
- ``Feedback`` on any of them: refine the query from its relevance judgments (Rocchio).

A spec is built valid or not at all (``QueryError`` says what to fix). Each spec class registers once
(``@spec_type``): that one table (``REGISTRY``) reads specs back (``from_json``), names their family, and holds
the function that answers them (``indexing.query.runner.answers``), so a type that runs can also be saved
and re-run from Label. ``key()`` is a spec's one identity for caches, de-duplication and heatmaps.
"""
from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from pathlib import PurePosixPath
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Union

from indexing.query.compose import COMPOSE_METHODS
from indexing.query.condition import CONDITION_METHODS, VOCABULARY
from indexing.core.errors import InputError

KINDS = ("image", "text")
MATCHES = ("whole", "region")  # a neighbours query matches whole images, or the best region of each image
DEFAULT_K = 12  # neighbours shown by default (Neighbours page, CLI)
DEFAULT_METHOD_K = 6  # results per method column (Compose, Condition)
DEFAULT_LAM = 0.5
MAX_K = 1000
MAX_FEEDBACK_WEIGHT = 100.0  # Rocchio's α, β, γ: weights past this only overflow (1e308 returned nothing)
SCHEMA = 1  # the spec JSON's version ("schema"); specs saved before it was written carry none and are version 1


class QueryError(InputError):
    """A query that cannot be run as given; the message says how to fix it."""


def valid_name(name: str) -> bool:
    """A name that is safe as a file name: letters, digits, '-' and '_' only."""
    return isinstance(name, str) and bool(name) and name.replace("-", "").replace("_", "").isalnum() and name.isascii()


def saved_image_path(path: str) -> bool:
    """Whether ``path`` can name a file under the data directory: relative, no '..', no NUL or backslash."""
    pure = PurePosixPath(path)
    return (bool(path) and not pure.is_absolute() and ".." not in pure.parts and "\x00" not in path
            and "\\" not in path and not path.startswith("~"))


def checked_k(k: object) -> int:
    """``k`` if it is a whole number from 1 to ``MAX_K``; else a ``QueryError`` that says so."""
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise QueryError(f"k must be a whole number from 1 to {MAX_K}, not {k!r}.")
    return k


@dataclass(frozen=True)
class Source:
    """What a query starts from: exactly one of free ``text``, the id of an ``item`` in the collection, or an
    image — uploaded ``image`` bytes, or (once saved) ``image_path``, its copy under the data directory."""

    text: str | None = None
    item: str | None = None
    image: bytes | None = field(default=None, repr=False)
    image_path: str | None = None

    def __post_init__(self) -> None:
        given = [n for n, present in (("text", self.text is not None), ("item", self.item is not None),
                                      ("image", self.image is not None or self.image_path is not None)) if present]
        if len(given) != 1:
            raise QueryError(f"Give exactly one of text, image or item (got {', '.join(given) or 'none'}).")
        for name in ("text", "item", "image_path"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise QueryError(f"The query's {name} must be text, not {type(getattr(self, name)).__name__}.")
        if self.image is not None and not isinstance(self.image, bytes):
            raise QueryError("An uploaded query image is bytes.")
        if self.image_path is not None and not saved_image_path(self.image_path):
            raise QueryError("A saved query image is a relative path under the data directory (queries/…), with "
                             "no '..'; this one is refused.")
        if self.text is not None and not self.text.strip():
            raise QueryError("The query text is empty; type what you are looking for.")
        if self.item is not None and not self.item.strip():
            raise QueryError("The item id is empty; pick an item from the results.")

    @property
    def kind(self) -> str:
        """'text', 'item' or 'image'."""
        return "text" if self.text is not None else "item" if self.item is not None else "image"

    @property
    def label(self) -> str:
        """A short human name: the text, the item id, or 'image'."""
        return self.text.strip() if self.text is not None else self.item or "image"

    def to_json(self, identity: bool = False) -> dict:
        """The saved form; with ``identity``, an uploaded image not saved yet is named by its bytes' digest."""
        if self.kind == "image" and self.image_path is None:
            if identity:
                return {"image_sha256": hashlib.sha256(self.image).hexdigest()}
            raise QueryError("An uploaded image has no saved copy yet; save the query through LabelStore.save_query.")
        return {self.kind if self.kind != "image" else "image_path":
                self.text if self.kind == "text" else self.item if self.kind == "item" else self.image_path}


@dataclass(frozen=True)
class Feedback:
    """Refine a query from its judgments: q' = α·q + β·mean(relevant) − γ·mean(non-relevant)."""

    method: str = "rocchio"
    alpha: float = 1.0
    beta: float = 0.75
    gamma: float = 0.15

    def __post_init__(self) -> None:
        if self.method != "rocchio":
            raise QueryError(f"Unknown feedback method {self.method!r}; 'rocchio' is the one there is.")
        for name in ("alpha", "beta", "gamma"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or not 0 <= value <= MAX_FEEDBACK_WEIGHT:
                raise QueryError(f"Feedback {name} must be a number from 0 to {MAX_FEEDBACK_WEIGHT:g}, not {value!r}.")

    def to_json(self) -> dict:
        return {"method": self.method, "alpha": float(self.alpha), "beta": float(self.beta), "gamma": float(self.gamma)}


@dataclass
class SpecType:
    """A kind of question, registered once: its class, its family (the first half of every run name, as in
    'compose/sum'), the JSON types it is saved under, and the function that answers it."""

    cls: type
    family: str
    json_types: tuple[str, ...]
    answer: Callable[..., Any] | None = None  # set by ``indexing.query.runner.answers``


REGISTRY: dict[str, SpecType] = {}  # JSON type → its registration


def spec_type(family: str, *json_types: str) -> Callable[[type], type]:
    """Class decorator: register a spec class under ``family`` and the JSON ``type`` values it is saved as
    (default: the family). The class reads itself back with ``from_fields(json_type, fields, feedback)``."""
    def add(cls: type) -> type:
        entry = SpecType(cls, family, json_types or (family,))
        cls.family = family
        for name in entry.json_types:
            REGISTRY[name] = entry
        return cls
    return add


def registered(cls: type) -> SpecType:
    """The registration of a spec class; ``QueryError`` if it has none."""
    for entry in REGISTRY.values():
        if entry.cls is cls:
            return entry
    raise QueryError(f"{cls.__name__} is not a registered query type.")


class Spec:
    """What every spec shares: its family, one identity (``key``), the question it asks whatever its depth or
    tuning (``question``), and the image it may start from (``origin``)."""

    family: ClassVar[str]
    source_field: ClassVar[str | None] = "source"  # the field holding the Source an image may live in
    adapter: ClassVar[str | None] = None  # only neighbours queries run through a learned adapter

    @property
    def origin(self) -> Source | None:
        """The source the query starts from (a neighbours query's source, a reference); None for a type
        that starts from no image."""
        return getattr(self, self.source_field) if self.source_field else None

    def with_origin(self, source: "Source") -> "Spec":
        return replace(self, **{self.source_field: source})

    def untuned(self) -> "Spec":
        """The same question in the plain embedding space: no adapter, no feedback."""
        return replace(self, feedback=None)

    @property
    def by_regions(self) -> bool:
        """Whether the answer reads region vectors (and so changes as a region pass computes more)."""
        return False

    def key(self) -> str:
        """The spec's one identity for caches, de-duplication and heatmaps: its JSON with sorted keys, an
        uploaded image named by its bytes' digest."""
        return json.dumps(self.to_json(identity=True), sort_keys=True)

    def question(self) -> str:
        """The identity of what is asked, whatever its depth, feedback or adapter (judgment folds never split
        one question)."""
        return replace(self.untuned(), k=1).key()

    def to_json(self, identity: bool = False) -> dict:
        raise NotImplementedError


@spec_type("neighbours", "text", "image", "item")
@dataclass(frozen=True)
class NeighboursQuery(Spec):
    """The ``k`` nearest items to a source, of one ``kind`` and matching every metadata filter."""

    source: Source
    k: int = DEFAULT_K
    kind: str | None = None
    filters: dict[str, str] = field(default_factory=dict)
    feedback: Feedback | None = None
    adapter: str | None = None  # a saved adapter of this collection, learned from judgments
    match: str = "whole"  # "region": each image scored by its best region (images only)

    def __post_init__(self) -> None:
        checked_k(self.k)
        if self.match not in MATCHES:
            raise QueryError(f"match must be 'whole' or 'region', not {self.match!r}.")
        if self.match == "region" and (self.adapter or self.kind == "text"):
            raise QueryError("Region matching scores images by their parts: use it without an adapter and for "
                             "images (kind image or any).")
        if self.kind not in (None, *KINDS):
            raise QueryError(f"kind must be 'image' or 'text', not {self.kind!r}.")
        if not isinstance(self.filters, dict) or not all(isinstance(key, str) and isinstance(v, str)
                                                          for key, v in self.filters.items()):
            raise QueryError("Metadata filters are field → value, both text.")
        if self.adapter is not None and not valid_name(self.adapter):
            raise QueryError(f"Adapter name {self.adapter!r}: use letters, digits, '-' or '_'.")

    @property
    def label(self) -> str:
        return self.source.label

    def untuned(self) -> NeighboursQuery:
        return replace(self, adapter=None, feedback=None)

    @property
    def by_regions(self) -> bool:
        return self.match == "region"

    def to_json(self, identity: bool = False) -> dict:
        return {"schema": SCHEMA, "type": self.source.kind, **self.source.to_json(identity), "k": self.k,
                "kind": self.kind, "filters": dict(self.filters), **_feedback_json(self.feedback),
                **({"adapter": self.adapter} if self.adapter else {}),
                **({"match": self.match} if self.match != "whole" else {})}

    @classmethod
    def from_fields(cls, kind: str, d: dict, feedback: Feedback | None) -> NeighboursQuery:
        name = kind if kind != "image" else "image_path"
        _take(d, {name, "k", "kind", "filters", "feedback", "adapter", "match"})
        return cls(Source(**{name: d.get(name)}), d.get("k", DEFAULT_K), d.get("kind"), d.get("filters") or {},
                   feedback, d.get("adapter"), d.get("match", "whole"))


@spec_type("compose")
@dataclass(frozen=True)
class ComposeQuery(Spec):
    """Reference image + modification text → the images that match both, under each of ``methods``."""

    reference: Source
    text: str
    lam: float = DEFAULT_LAM
    methods: tuple[str, ...] = COMPOSE_METHODS
    k: int = DEFAULT_METHOD_K
    feedback: Feedback | None = None
    source_field: ClassVar[str] = "reference"

    def __post_init__(self) -> None:
        _reference(self.reference)
        if not isinstance(self.text, str):
            raise QueryError(f"The modification text must be text, not {type(self.text).__name__}.")
        if not self.text.strip():
            raise QueryError("The modification text is empty; say what should change, e.g. 'make it blue'.")
        if isinstance(self.lam, bool) or not isinstance(self.lam, (int, float)) or not 0.0 <= self.lam <= 1.0:
            raise QueryError(f"λ must be between 0 and 1 (a number), not {self.lam!r}.")
        if isinstance(self.methods, str) or not isinstance(self.methods, (list, tuple)):
            raise QueryError(f"Compose methods are a list, e.g. [\"sum\", \"slerp\"], not {self.methods!r}.")
        object.__setattr__(self, "methods", tuple(self.methods))
        if not self.methods or any(m not in COMPOSE_METHODS for m in self.methods):
            raise QueryError(f"Compose methods must be some of {', '.join(COMPOSE_METHODS)}, not {list(self.methods)}.")
        checked_k(self.k)

    @property
    def label(self) -> str:
        return self.text.strip()

    def to_json(self, identity: bool = False) -> dict:
        return {"schema": SCHEMA, "type": "compose", **_reference_json(self.reference, identity), "text": self.text,
                "lam": float(self.lam), "methods": list(self.methods), "k": self.k, **_feedback_json(self.feedback)}

    @classmethod
    def from_fields(cls, kind: str, d: dict, feedback: Feedback | None) -> ComposeQuery:
        _take(d, {"reference", "reference_image", "text", "lam", "methods", "k", "feedback"})
        return cls(_reference_from(kind, d), d.get("text", ""), d.get("lam", DEFAULT_LAM),
                   d.get("methods") or COMPOSE_METHODS, d.get("k", DEFAULT_METHOD_K), feedback)


@spec_type("condition")
@dataclass(frozen=True)
class ConditionQuery(Spec):
    """Images similar to a reference with respect to ``condition`` (resolved against ``vocabulary``)."""

    reference: Source
    condition: str
    vocabulary: dict[str, list[str]] = field(default_factory=lambda: {a: list(v) for a, v in VOCABULARY.items()})
    k: int = DEFAULT_METHOD_K
    feedback: Feedback | None = None
    methods: tuple[str, ...] | None = None  # None: the methods that suit how the condition reads (the page's)
    source_field: ClassVar[str] = "reference"

    def __post_init__(self) -> None:
        _reference(self.reference)
        if self.methods is not None:
            if isinstance(self.methods, str) or not isinstance(self.methods, (list, tuple)) or not self.methods \
                    or any(m not in CONDITION_METHODS for m in self.methods):
                raise QueryError(f"Condition methods are some of {', '.join(CONDITION_METHODS)}, not {self.methods!r}.")
            object.__setattr__(self, "methods", tuple(self.methods))
        if not isinstance(self.condition, str):
            raise QueryError(f"The condition must be text, not {type(self.condition).__name__}.")
        if not self.condition.strip():
            raise QueryError("The condition is empty; type an attribute ('color'), a value ('blue') or an object.")
        if not isinstance(self.vocabulary, dict) or not all(
                isinstance(a, str) and isinstance(v, list) and all(isinstance(w, str) for w in v)
                for a, v in self.vocabulary.items()):
            raise QueryError("The vocabulary is attribute → list of value words.")
        checked_k(self.k)

    @property
    def label(self) -> str:
        return self.condition.strip()

    def to_json(self, identity: bool = False) -> dict:
        return {"schema": SCHEMA, "type": "condition", **_reference_json(self.reference, identity),
                "condition": self.condition, "vocabulary": {a: list(v) for a, v in self.vocabulary.items()},
                "k": self.k, **_feedback_json(self.feedback),
                **({"methods": list(self.methods)} if self.methods is not None else {})}

    @classmethod
    def from_fields(cls, kind: str, d: dict, feedback: Feedback | None) -> ConditionQuery:
        _take(d, {"reference", "reference_image", "condition", "vocabulary", "k", "feedback", "methods"})
        vocabulary = d.get("vocabulary")
        return cls(_reference_from(kind, d), d.get("condition", ""),
                   {a: list(v) for a, v in VOCABULARY.items()} if vocabulary is None else vocabulary,
                   d.get("k", DEFAULT_METHOD_K), feedback, d.get("methods"))


@spec_type("region")
@dataclass(frozen=True)
class RegionQuery(Spec):
    """Images containing a part like the part of ``source`` inside ``box`` (x0, y0, x1, y1, fractions of the
    side): the box's region vectors are the query, each image scored by its best region for each of them."""

    source: Source
    box: tuple[float, float, float, float]
    k: int = DEFAULT_K
    feedback: Feedback | None = None

    def __post_init__(self) -> None:
        if self.source.kind == "text":
            raise QueryError("Search by region starts from an image: pick an image item or upload one.")
        if isinstance(self.box, (str, bytes)) or not isinstance(self.box, (list, tuple)) or len(self.box) != 4 \
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                           for v in self.box):
            raise QueryError("A box is four numbers: x0, y0, x1, y1 as fractions of the image's width and height.")
        object.__setattr__(self, "box", tuple(float(v) for v in self.box))
        checked_k(self.k)

    @property
    def label(self) -> str:
        return f"part of {self.source.label}"

    @property
    def by_regions(self) -> bool:
        return True

    def to_json(self, identity: bool = False) -> dict:
        return {"schema": SCHEMA, "type": "region", **self.source.to_json(identity), "box": list(self.box),
                "k": self.k, **_feedback_json(self.feedback)}

    @classmethod
    def from_fields(cls, kind: str, d: dict, feedback: Feedback | None) -> RegionQuery:
        _take(d, {"item", "image_path", "box", "k", "feedback"})
        if bool(d.get("item")) == bool(d.get("image_path")):
            raise QueryError("A region query needs one image: an item id or a saved image.")
        source = Source(item=d["item"]) if d.get("item") else Source(image_path=d["image_path"])
        return cls(source, d.get("box"), d.get("k", DEFAULT_K), feedback)


QuerySpec = Union[NeighboursQuery, ComposeQuery, ConditionQuery, RegionQuery]


def with_feedback(spec: QuerySpec, feedback: Feedback | None) -> QuerySpec:
    """The same question, refined from its judgments (or not, with None)."""
    return replace(spec, feedback=feedback)


def _reference(source: Source) -> None:
    if source.kind == "text":
        raise QueryError("The reference must be an image: pick an image item or upload one.")


def _reference_json(source: Source, identity: bool = False) -> dict:
    if source.kind == "item":
        return {"reference": source.item}
    saved = source.to_json(identity)
    return {"reference_image": saved["image_path"]} if "image_path" in saved else saved


def _reference_from(kind: str, d: dict) -> Source:
    if bool(d.get("reference")) == bool(d.get("reference_image")):
        raise QueryError(f"A {kind} query needs one reference: an item id or a saved image.")
    return Source(item=d["reference"]) if d.get("reference") else Source(image_path=d["reference_image"])


def _feedback_json(feedback: Feedback | None) -> dict:
    return {"feedback": feedback.to_json()} if feedback else {}


def _take(data: dict, allowed: set[str]) -> dict:
    unknown = set(data) - allowed - {"type", "schema"}
    if unknown:
        raise QueryError(f"Unknown field(s) {', '.join(sorted(unknown))} in a {data.get('type')} query.")
    return data


def from_json(data: dict) -> QuerySpec:
    """The spec a ``to_json`` dict describes (saved queries, the CLI), read by its registered type;
    ``QueryError`` if it is not one."""
    if not isinstance(data, dict):
        raise QueryError("A query spec is a JSON object with a 'type'.")
    schema = data.get("schema", 1)
    if isinstance(schema, bool) or not isinstance(schema, int) or not 1 <= schema <= SCHEMA:
        raise QueryError(f"This query was saved by a newer SimLab (spec schema {schema!r}; this one reads up to "
                         f"{SCHEMA}); update SimLab to run it.")
    kind = data.get("type")
    entry = REGISTRY.get(kind) if isinstance(kind, str) else None
    if entry is None:
        raise QueryError(f"Query type must be one of {', '.join(REGISTRY)}, not {kind!r}.")
    if data.get("feedback") is not None and not isinstance(data["feedback"], dict):
        raise QueryError("feedback is an object, e.g. {\"method\": \"rocchio\", \"beta\": 0.75}.")
    try:
        feedback = Feedback(**data["feedback"]) if data.get("feedback") else None
    except TypeError as exc:
        raise QueryError(f"Feedback takes method, alpha, beta and gamma ({exc}).") from None
    return entry.cls.from_fields(kind, data, feedback)
