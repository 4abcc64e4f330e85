"""Article QA: answer questions about news articles with verbatim, cited quotes."""

from .api import answer, article_text, open_index
from .build import rebuild
from .errors import (
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    ModelError,
    QAError,
    QAIndexError,
    QuestionError,
    RebuildBusyError,
    SourceError,
)
from .types import Answer, Article, Citation, RebuildStats, SkippedFile, Source

__all__ = [
    "Answer",
    "Article",
    "Citation",
    "IndexCorruptError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "ModelError",
    "QAError",
    "QAIndexError",
    "QuestionError",
    "RebuildBusyError",
    "RebuildStats",
    "SkippedFile",
    "Source",
    "SourceError",
    "answer",
    "article_text",
    "open_index",
    "rebuild",
]
