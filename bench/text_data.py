#!/usr/bin/env python3
"""A real text benchmark set, built offline from a Debian package (nothing generated).

Corpus: the noun synsets of Princeton WordNet 3.0 (Debian package `wordnet-base`,
fetched with `apt-get download`; WordNet license: free use with attribution). Each
synset is one short document: its words and its gloss (definition and examples). Its
label is the synset's lexicographer file (wndb(5WN), lexnames(5WN)): 26 classes such as
noun.artifact, noun.person, noun.plant, written as their numbers 3–28.

Features: scikit-learn's TfidfVectorizer, word 1–2-grams, sublinear tf, l2-normalized
rows, terms in at least two documents (min_df = 2). Seeded 80/20 split (RandomState(0)).

Writes into DIR (LIBSVM, 1-based indices):
  text26.{train,test}.svm   the 26 classes (softmax)
  textbin.{train,test}.svm  noun.artifact (+1) against every other noun (−1)
usage: text_data.py DIR
"""
import os, subprocess, sys, tempfile

import numpy as np
from sklearn.datasets import dump_svmlight_file
from sklearn.feature_extraction.text import TfidfVectorizer

ARTIFACT = 6  # lexicographer file number of noun.artifact


def wordnet_nouns(cache_dir):
    """The path of WordNet's data.noun, fetched once into cache_dir."""
    target = os.path.join(cache_dir, "wordnet", "data.noun")
    if os.path.exists(target):
        return target
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["apt-get", "download", "-q", "wordnet-base"], cwd=tmp, check=True)
        deb = next(f for f in os.listdir(tmp) if f.endswith(".deb"))
        subprocess.run(["dpkg-deb", "-x", deb, "x"], cwd=tmp, check=True)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.replace(os.path.join(tmp, "x", "usr", "share", "wordnet", "data.noun"), target)
    return target


def documents(path):
    """(texts, lexicographer file numbers) of the synsets in a WordNet data file."""
    texts, labels = [], []
    with open(path, encoding="latin-1") as f:
        for line in f:
            if line.startswith("  "):  # the license header
                continue
            head, _, gloss = line.partition(" | ")
            fields = head.split()
            # synset_offset lex_filenum ss_type w_cnt(hex) word lex_id [word lex_id ...] ...
            n_words = int(fields[3], 16)
            words = [fields[4 + 2 * i].replace("_", " ") for i in range(n_words)]
            texts.append("; ".join(words) + ": " + gloss.strip())
            labels.append(int(fields[1]))
    return texts, np.array(labels)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    texts, labels = documents(wordnet_nouns(out))
    x = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2, dtype=np.float64).fit_transform(texts)
    order = np.random.RandomState(0).permutation(len(texts))
    cut = int(0.8 * len(texts))
    parts = {"train": order[:cut], "test": order[cut:]}
    for part, rows in parts.items():
        xs, ys = x[np.sort(rows)], labels[np.sort(rows)]
        dump_svmlight_file(xs, ys, os.path.join(out, f"text26.{part}.svm"), zero_based=False)
        dump_svmlight_file(xs, np.where(ys == ARTIFACT, 1, -1), os.path.join(out, f"textbin.{part}.svm"), zero_based=False)
    print(f"text26/textbin: {x.shape[0]} documents ({cut} train), {x.shape[1]} features, {x.nnz} nonzeros "
          f"({x.nnz / x.shape[0]:.1f} per row), {len(np.unique(labels))} classes, "
          f"{np.mean(labels == ARTIFACT):.3f} artifacts", file=sys.stderr)


if __name__ == "__main__":
    main()
