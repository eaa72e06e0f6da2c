"""One-off check that HF tokenizers reads a tokenizer.json written by our BpeTrainer.

BpeTrainerTest trains on corpus.txt and compares its output with the committed
trained_tokenizer.json. This script loads that file with the Python `tokenizers` library and
writes what HF makes of it (ids, tokens, code-point offsets, decode) for every string of
tricky_strings.json into trained_tokenizer.expected.json; BpeTrainerTest then checks that our
encoder gives exactly the same, so the check runs in CI without Python.

Run from the repository root after (re)writing trained_tokenizer.json (see BpeTrainerTest):

    /work/venv/bin/python models/src/test/python/check_trained_tokenizer.py

Needs `tokenizers` (checked with 0.23.2).
"""
import json
import os
import sys

from tokenizers import Tokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_tokenizer_fixtures import OUT, decode_cases, encode_case, write_json  # noqa: E402


def main():
    tok = Tokenizer.from_file(os.path.join(OUT, "trained_tokenizer.json"))
    with open(os.path.join(OUT, "tricky_strings.json"), encoding="utf-8") as f:
        tricky = json.load(f)
    write_json(os.path.join(OUT, "trained_tokenizer.expected.json"), {
        "vocab_size": tok.get_vocab_size(with_added_tokens=True),
        "cases": [encode_case(tok, t) for t in tricky],
        "decode_cases": decode_cases(tok, 99),
    })
    print("trained_tokenizer", tok.get_vocab_size(with_added_tokens=True))


if __name__ == "__main__":
    main()
