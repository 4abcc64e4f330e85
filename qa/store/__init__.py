"""The index on disk: generations swapped in atomically, made of segments, and loaded with checks.

One concern a module: `entries` (what is kept of an article), `segments` (one segment's files,
written and read), `generations` (the lock and the atomic swap), `rows` (vectors over segments),
`index` (a loaded generation, searched and read as one).

    index/
      current -> gen-<time>-<pid>     symlink, replaced in one rename when a build completes
      gen-.../manifest.json           model, dimension, chunking, versions, live counts, segments
      gen-.../store.sqlite            articles' metadata, their stored texts, and per word the sentence
                                      rows holding it (how rare it is, and which sentences share it)
      gen-.../chunk_spans.npy         (article, start, end) per chunk row, int32, memory-mapped
      gen-.../sentence_spans.npy      (article, chunk, start, end) per sentence row, int32, memory-mapped
      gen-.../articles.npy            per article row: the row whose stored text it has (itself, or a
                                      twin), and where its chunk and sentence rows end (rows run article by article)
      gen-.../chunks.npy, sentences.npy     unit vectors, rows aligned with the span files
      gen-.../sentences.faiss         inner-product index over the sentence vectors (type by size);
                                      chunk vectors are kept only to be reused by later rebuilds
      gen-.../seg-<time>/...          a segment appended by a later, small rebuild: the same files
      .lock                           held by the one rebuild that may run at a time

A generation is one or more segments: the files at its top, and `seg-*` folders appended after.
A full build writes one segment. A small change (a few articles added, edited or removed) writes
only a new segment holding the new and edited articles; the new generation hard-links the
previous one's segment files (no byte copied) and lists the articles that are gone (edited or
removed) as deleted rows of their segments, never searched or cited again. When appending stops
paying (too many segments, too much deleted), the next rebuild writes one segment again.

Loading reads only what answering needs in memory (the FAISS index, one int per article); spans
and vectors are memory-mapped and metadata is read by row, so a 10M-sentence index answers within
a few hundred MB.

A build writes a hidden `.tmp-*` folder, renames it to `gen-*` and only then points `current` at
it, so a killed build leaves the previous index untouched and answering.
"""

from .entries import ArticleEntry, ArticleMeta, alias_entry, content_hash, text_hash
from .generations import CURRENT, MANIFEST, append_generation, current_generation, rebuild_lock, write_generation
from .index import StoredIndex, load
from .rows import RowView
from .segments import DB, SEGMENT_FILES, Segment

__all__ = [
    "CURRENT", "DB", "MANIFEST", "SEGMENT_FILES", "ArticleEntry", "ArticleMeta", "RowView", "Segment", "StoredIndex",
    "alias_entry", "append_generation", "content_hash", "current_generation", "load", "rebuild_lock", "text_hash",
    "write_generation",
]
