"""How long the rationales of each corpus are, in sentences as the build splits them.

    python benchmarks/text_shape.py

``--embed-text sentence`` mixes each expression's vector with its sentence's. For a premise of
one sentence that is the whole premise, with its topic; for a comment of several it is the part
the expression was said in. This table says which kind of text each corpus is: the Touché23 and
Webis-ArgValues-22 premises, the AITA top comments and the LLM rationales on the same posts
(../shared/data), and the bundled sample. It backs the reading in docs/measurements.md
("Context in the vectors") of why the build does not pick that setting by itself for short text.
"""
from __future__ import annotations

import numpy as np

from _common import print_table, save_results
from taxonomy_touche23 import load
from train_span_filter import rationales


def corpora() -> dict[str, list[str]]:
    texts = {name: load(corpus=key)[0]["Premise"].astype(str).tolist()
             for name, key in (("Touché23 training premises", "touche23"), ("Webis-ArgValues-22 premises", "argvalues22"))}
    # The span filter's training reads the same three sources: comments, distinct LLM rationales, sample.
    for name, source in (("AITA top comments", "aita_human"), ("LLM rationales on the AITA posts (distinct)", "aita_llm"),
                         ("bundled sample", "sample")):
        texts[name] = [text for _, text in rationales(source)]
    return texts


def main() -> None:
    from moralgap.taxonomy.space import sentence_count

    rows = []
    for name, texts in corpora().items():
        n = np.array([sentence_count(t) for t in texts])
        words = np.array([len(t.split()) for t in texts])
        rows.append({"corpus": name, "rationales": len(texts), "one_sentence": round(float(np.mean(n == 1)), 3),
                     "median_sentences": float(np.median(n)), "mean_sentences": round(float(n.mean()), 2),
                     "median_words": float(np.median(words))})
    print_table(rows, list(rows[0]), name="shape")
    save_results("text_shape")


if __name__ == "__main__":
    main()
