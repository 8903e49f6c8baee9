"""What the models of every domain share: the SQL list of an enum's values for check
constraints, enums that carry translated labels, and bilingual names."""

from __future__ import annotations

import enum


def sql_in(values) -> str:
    """`('a', 'b')`: the values of an enum (or any iterable of strings) for `x IN ...` checks."""
    return "({})".format(", ".join(f"'{v}'" for v in values))


class LabelledEnum(enum.StrEnum):
    """An enum whose members carry a translated label, from the mapping `LABELS[cls]` given by
    `labels()` on the subclass's module (see `label_with`)."""

    @property
    def label(self) -> str:
        return str(_LABELS[type(self)][self])


_LABELS: dict[type, dict] = {}


def label_with(labels: dict[type, dict]) -> None:
    """Register the labels of some LabelledEnum classes (one mapping per class)."""
    _LABELS.update(labels)


class BilingualName:
    """A row with `name_en` and `name_it` (S3 domains, cost categories, coaching themes, programmes)."""

    name_en: str
    name_it: str

    def name(self, locale: str = "en") -> str:
        return self.name_it if str(locale).startswith("it") else self.name_en
