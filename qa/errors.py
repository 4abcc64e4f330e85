"""Every error Article QA raises on purpose derives from QAError.

    QAError
    ├── QuestionError          the question is empty or too long
    ├── SourceError            the article source is missing or holds no readable article
    ├── QAIndexError           base for index problems
    │   ├── IndexNotFoundError     no index built at that path yet
    │   ├── IndexCorruptError      files missing, truncated or unreadable
    │   └── IndexMismatchError     built with another model or an older format
    ├── RebuildBusyError       another rebuild holds the index's lock
    └── ModelError             the embedding model cannot be loaded

Messages say what was wrong and what to do about it, on one line.
"""

from __future__ import annotations


class QAError(Exception):
    """Base of all Article QA errors."""


class QuestionError(QAError, ValueError):
    pass


class SourceError(QAError):
    pass


class QAIndexError(QAError):
    pass


class IndexNotFoundError(QAIndexError):
    pass


class IndexCorruptError(QAIndexError):
    pass


class IndexMismatchError(QAIndexError):
    pass


class RebuildBusyError(QAError):
    pass


class ModelError(QAError):
    pass
