"""Makes the Hugging Face `tokenizers` parity fixtures for TokenizerParityTest.

Four small BPE tokenizers are trained with the `tokenizers` library on the corpus embedded below
(there is no model hub here), each covering one family of tokenizer.json components. Characters
of the tricky strings that the corpus lacks exercise byte fallback and the unk token. (No
limit_alphabet: HF breaks its ties in hash order, which would make the files differ run to run.
For the same reason the "components" tokenizer, whose continuing-subword alphabet HF orders by
hash, comes out differently on each run; the committed files are one consistent run.)


  bytelevel_split  Llama-3 / Qwen2 style: NFC, Split(regex, Isolated) + ByteLevel(use_regex=false),
                   ignore_merges, ByteLevel decoder and post-processor, special tokens
                   <|endoftext|> <|im_start|> <|im_end|> <image> and a normalized added token.
  llama_fallback   Llama-2 / SentencePiece style: Prepend("▁") + Replace(" ", "▁"), no
                   pre-tokenizer, BPE with byte_fallback and <0x00>..<0xFF>, unk <unk>, fuse_unk,
                   TemplateProcessing "<s> $A", decoders Replace/ByteFallback/Fuse/Strip.
  gpt2_legacy      GPT-2 style: ByteLevel(add_prefix_space, GPT-2 regex), merges in the old
                   "a b" string form, post-processor Sequence[ByteLevel(trim_offsets),
                   TemplateProcessing], added tokens with lstrip / rstrip / single_word.
  components       NFKC + Lowercase + Replace(regex), Sequence[Digits, Metaspace(first)],
                   BPE with unk + fuse_unk, continuing_subword_prefix and end_of_word_suffix,
                   Metaspace decoder.

For every tokenizer it writes <name>.json (the tokenizer.json) and <name>.expected.json: for each
string of tricky_strings.json the ids, tokens, offsets (code points, as Python reports them),
special-tokens mask, ids without special tokens, and decode output (with and without skipping
special tokens); and a few seeded random id sequences with their decode output. It also writes
corpus.txt (the corpus below) and tricky_strings.json, which check_trained_tokenizer.py reuses.

Run from the repository root (only to regenerate the fixtures, never in CI):

    /work/venv/bin/python models/src/test/python/make_tokenizer_fixtures.py

Needs `tokenizers` (made with 0.23.2).
"""
import json
import os
import random

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, \
    processors, trainers

OUT = "models/src/test/resources/tokenizer"

CORPUS = """\
The quick brown fox jumps over the lazy dog. The dog doesn't mind; it's sleeping.
I'm sure they'll come back, and we'd be happy if you're there. We've waited since 1999.
Tokenizers split text into pieces: words, sub-words, and sometimes single bytes.
In 2024 the model read 12345 tokens per second, then 67890 in the next run!
Numbers like 3.14159, 2.71828 and 1,000,000 appear in reports and tables.
Caf\u00e9 au lait, na\u00efve r\u00e9sum\u00e9, \u00fcber gr\u00f6\u00dfe Stra\u00dfe, se\u00f1or ni\u00f1o, fran\u00e7ais.
Les \u00e9l\u00e8ves \u00e9tudient \u00e0 l'\u00e9cole; \u00e7a va tr\u00e8s bien, merci.
\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3067\u3059\u3002\u4e2d\u6587\u5b57\u7b26\u4e5f\u53ef\u4ee5\u3002\u6771\u4eac\u3068\u5927\u962a\u3002
\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440! \u042d\u0442\u043e \u0442\u0435\u0441\u0442\u043e\u0432\u044b\u0439 \u0442\u0435\u043a\u0441\u0442.
def train(model, data):
    for step, batch in enumerate(data):
        loss = model(batch)  # forward
        loss.backward()
    return model
A red circle is above a blue square. A small green triangle sits left of the circle.
The image shows two objects: a large yellow star and a purple hexagon in the corner.
Is there a red circle in the image? Yes. Is there a cat? No.
Smile \U0001F600 and wave \U0001F44B, the rocket \U0001F680 flies over \U0001F30D today.
    indented line with    several   spaces\tand\ttabs
Hello world! Hello again, world. HELLO WORLD?
"""

TRICKY = [
    "",
    "a",
    " ",
    "Hello world",
    " Hello world",
    "Hello world ",
    "   leading and trailing   ",
    "multiple    spaces   between     words",
    "tabs\tand\nnewlines\r\nand\r\n\r\nmore",
    "\n\n\n",
    "  \t \n  ",
    "Don't you're we've I'm they'll he'd she's IT'S WE'RE THEY'LL",
    "it\u2019s curly and it'\u017f long s",
    "Caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00c5ngstr\u00f6m \u00fcber",
    "cafe\u0301 nai\u0308ve (decomposed accents)",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3067\u3059\u3002\u4e2d\u6587\u5b57\u7b26",
    "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8",
    "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440!",
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645",
    "\U0001F600\U0001F603\U0001F604 emoji run",
    "family \U0001F468\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466 zwj",
    "flags \U0001F1EF\U0001F1F5\U0001F1FA\U0001F1F8 and skin \U0001F44D\U0001F3FD",
    "12345678901234567890",
    "3.14159 and 1,000,000 and 2024-01-01",
    "x\u00b2 \u00bd \u2460 \u216b \u0663\u0664",
    "<|endoftext|>",
    "Hello<|endoftext|>world",
    "<|im_start|>user\nWhat is in <image>?<|im_end|>\n<|im_start|>assistant\n",
    "<image><image> <image>",
    "<|endoftext partial special",
    "\ufb01 ligature \uff21\uff22\uff23 fullwidth",
    "a\u00a0b\u2003c\u3000d\u2028e",
    "zero\u200bwidth\u200djoiner",
    "nel\u0085end",
    "ctrl\u0000\u0001\u007fend",
    "mixed123abc456def7",
    "hello!!!??? ...--- ***",
    "def f(x):\n    return x**2  # comment\n",
    "\u16a0\u16c7\u16bb runes \U0001D518\U0001D52B\U0001D526 fraktur",
    "unseen \u2603\u2602 \U0001F9EA\U0001F9EC",
    "Hello   <mask>   world [R]   x",
    "hey heyhey hey! ahey hey",
    "<s>already has bos</s>",
    "end with special <|im_end|>",
]

QWEN_LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                     r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

LINES = CORPUS.splitlines() * 3


def bytelevel_split():
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN_LLAMA3_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=420, show_progress=False,
                                  special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(LINES, trainer)
    tok.add_special_tokens([AddedToken("<image>", special=True, normalized=False)])
    tok.add_tokens([AddedToken("<think>", special=False, normalized=True)])
    return tok


def llama_fallback():
    # Train the merges SentencePiece-style on ▁-prefixed words, then rebuild the vocabulary
    # the way Llama's tokenizer.json lays it out: <unk> <s> </s> <0x00>..<0xFF> then pieces.
    train_tok = Tokenizer(models.BPE())
    train_tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always",
                                                       split=True)
    trainer = trainers.BpeTrainer(vocab_size=330, show_progress=False)
    train_tok.train_from_iterator(LINES, trainer)
    trained = json.loads(train_tok.to_str())["model"]
    pieces = sorted(trained["vocab"].items(), key=lambda kv: kv[1])
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab["<0x%02X>" % b] = len(vocab)
    for piece, _ in pieces:
        if piece not in vocab:
            vocab[piece] = len(vocab)
    merges = [tuple(m) for m in trained["merges"]]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True,
                               byte_fallback=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
    tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in ["<unk>", "<s>", "</s>"]])
    tok.add_special_tokens([AddedToken("<image>", special=True, normalized=False)])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
                                                       special_tokens=[("<s>", 1)])
    return tok


def gpt2_legacy():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=380, show_progress=False, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(LINES, trainer)
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=True),
        processors.TemplateProcessing(single="$A <|endoftext|>", pair="$A <|endoftext|> $B:1",
                                      special_tokens=[("<|endoftext|>", 0)]),
    ])
    tok.add_special_tokens([AddedToken("<mask>", special=True, lstrip=True, normalized=False)])
    tok.add_tokens([AddedToken("[R]", special=False, rstrip=True, normalized=False),
                    AddedToken("hey", special=False, single_word=True, normalized=False)])
    # Rewrite the merges in the old "a b" string form (HF itself now writes pairs).
    data = json.loads(tok.to_str())
    data["model"]["merges"] = [a + " " + b for a, b in data["model"]["merges"]]
    return json.dumps(data, ensure_ascii=False)


def components():
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True, continuing_subword_prefix="##",
                               end_of_word_suffix="</w>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase(),
                                           normalizers.Replace(Regex(r"\s+"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first", split=True),
    ])
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="first")
    trainer = trainers.BpeTrainer(vocab_size=330, show_progress=False, special_tokens=["<unk>", "<|endoftext|>"],
                                  continuing_subword_prefix="##", end_of_word_suffix="</w>")
    tok.train_from_iterator(LINES, trainer)
    return tok


def encode_case(tok, text):
    e = tok.encode(text, add_special_tokens=True)
    plain = tok.encode(text, add_special_tokens=False)
    case = {
        "text": text,
        "ids": e.ids,
        "offsets": [list(o) for o in e.offsets],
        "special_tokens_mask": e.special_tokens_mask,
        "decoded": tok.decode(e.ids, skip_special_tokens=False),
        "decoded_skip_special": tok.decode(e.ids, skip_special_tokens=True),
    }
    # Without special tokens HF drops exactly the template tokens; only store the ids if not
    # (keeps the fixtures small). The Java test checks whichever applies.
    if plain.ids != [i for i, m in zip(e.ids, e.special_tokens_mask) if m == 0]:
        case["ids_no_special"] = plain.ids
    # Likewise the token strings are only stored where one is not the vocabulary string of its
    # id (an added token that swallowed spaces, say).
    if e.tokens != [tok.id_to_token(i) for i in e.ids]:
        case["tokens"] = e.tokens
    return case


def decode_cases(tok, seed):
    rng = random.Random(seed)
    n = tok.get_vocab_size(with_added_tokens=True)
    out = []
    for length in [1, 1, 2, 3, 5, 8, 13]:
        ids = [rng.randrange(n) for _ in range(length)]
        out.append({"ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False),
                    "decoded_skip_special": tok.decode(ids, skip_special_tokens=True)})
    return out


ISOLATED_STRINGS = [
    "",
    "Hello  world!\n\tfoo ",
    "it's 12345 and 6,78 x\u00b2\u00bd",
    "  lead\u2581and \u2581 trail  ",
    "Caf\u00e9 cafe\u0301 \ufb01 \uff21 \u0130",
    "\u65e5\u672c \U0001F600\U0001F44D\U0001F3FD a\u00a0b",
    "a\na b\nb x\ny x\ry x\u2028y x\u0085y \u01c6 \u01c4 \u0663 a\n",
]


NORMALIZATION_SOUP = [
    "a", "e", "A", "s", "\u017f", "\u00e9", "\u00c5", "\u01d5", "\u1e9b", "\ufb01", "\u00bd", "\u2460", "\uff76",
    "\uff9e", "\uac00", "\u1100", "\u1161", "\u11a8", "\u0301", "\u0323", "\u0308", "\u030a", "\u0307", "\u0344",
    "\u0345", "\u05b0", "\u0591", "\u093c", "\u0915", "\u212b", "\u3099", "\u304b", "\u0f73", "\u0f71", "\u0327",
]


def state(component):
    return json.loads(component.__getstate__())


def isolated_components():
    """Single normalizers, pre-tokenizers and decoders on a few strings, for the variants the
    four tokenizers above do not reach (split behaviours, invert, prepend schemes...)."""
    norms = [
        normalizers.NFC(), normalizers.NFD(), normalizers.NFKC(), normalizers.NFKD(), normalizers.Lowercase(),
        normalizers.Strip(), normalizers.Strip(left=True, right=False), normalizers.Prepend("\u2581"),
        normalizers.Replace(" ", "\u2581"), normalizers.Replace(Regex(r"\s+"), " "),
        normalizers.Sequence([normalizers.NFKD(), normalizers.Replace(Regex(r"\p{Mn}"), ""), normalizers.Lowercase()]),
    ]
    pres = [
        pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        pre_tokenizers.Split(Regex(r"\s+"), behavior="removed"),
        pre_tokenizers.Split(Regex(r"\s"), behavior="merged_with_previous"),
        pre_tokenizers.Split(Regex(r"\s"), behavior="merged_with_next"),
        pre_tokenizers.Split(Regex(r"\p{L}"), behavior="contiguous"),
        pre_tokenizers.Split(Regex(r"\p{L}+"), behavior="isolated", invert=True),
        pre_tokenizers.Split(" ", behavior="isolated"),
        pre_tokenizers.Split(Regex(r"\h+"), behavior="isolated"),
        # Oniguruma (Ruby syntax): ^ and $ are line anchors, (?m) lets . match \n, . stops at \n only.
        pre_tokenizers.Split(Regex(r"^a|b$|(?m:x.y)|(?i:\u01c5)"), behavior="isolated"),
        pre_tokenizers.Split(Regex(r"x.y|\Aa|a\Z|\b\w"), behavior="isolated"),
        pre_tokenizers.Digits(individual_digits=False),
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.Metaspace(prepend_scheme="always", split=True),
        pre_tokenizers.Metaspace(prepend_scheme="never", split=True),
        pre_tokenizers.Metaspace(prepend_scheme="first", split=False),
        pre_tokenizers.Sequence([pre_tokenizers.Digits(), pre_tokenizers.ByteLevel(add_prefix_space=False)]),
    ]
    token_lists = [
        [],
        ["\u2581Hello", "\u2581", "w", "or", "ld", "\u2581\u2581x\u2581"],
        ["<0xE2>", "<0x82>", "<0xAC>", "a", "<0xE2>", "<0x82>", "b", "<0xFF>", "<0x41>", "<0x0G>", "<0x4>"],
        ["\u0120Hello", "\u0120w\u00c3\u00a9", "\u00f0\u0141", "\u013a", "\u0122", "<|x|>", "\u00e2\u0124"],
        ["  a  ", "b "],  # (HF's Strip decoder panics when a token is shorter than what it strips)
    ]
    decs = [
        decoders.ByteLevel(), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0),
        decoders.Strip(" ", 2, 2), decoders.Replace("\u2581", " "),
        decoders.Metaspace(prepend_scheme="always"), decoders.Metaspace(prepend_scheme="never"),
        decoders.Sequence([decoders.ByteFallback(), decoders.Metaspace(prepend_scheme="first")]),
    ]
    # Per-character alignments of the Unicode normalizers on random mark/compatibility soup,
    # seen through a tokenizer that makes every normalized character one token.
    rng = random.Random(11)
    alignments = []
    for n in [normalizers.NFC(), normalizers.NFD(), normalizers.NFKC(), normalizers.NFKD()]:
        t = Tokenizer(models.BPE(vocab={"<unk>": 0}, merges=[], unk_token="<unk>"))
        t.normalizer = n
        t.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
        texts = ["".join(rng.choice(NORMALIZATION_SOUP) for _ in range(rng.randint(2, 7))) for _ in range(25)]
        alignments.append({"config": state(n), "cases": [
            {"text": s, "normalized": n.normalize_str(s), "offsets": [list(o) for o in t.encode(s).offsets]}
            for s in texts]})
    return {
        "strings": ISOLATED_STRINGS,
        "normalizer_alignments": alignments,
        "normalizers": [{"config": state(n), "outputs": [n.normalize_str(t) for t in ISOLATED_STRINGS]} for n in norms],
        "pre_tokenizers": [{"config": state(p), "outputs": [[[w, a, b] for w, (a, b) in p.pre_tokenize_str(t)]
                                                            for t in ISOLATED_STRINGS]} for p in pres],
        "decoders": [{"config": state(d), "cases": [{"tokens": ts, "decoded": d.decode(ts)} for ts in token_lists]}
                     for d in decs],
    }


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    write_json(os.path.join(OUT, "tricky_strings.json"), TRICKY)
    # The corpus also trains our own BpeTrainer (BpeTrainerTest, check_trained_tokenizer.py).
    with open(os.path.join(OUT, "corpus.txt"), "w", encoding="utf-8") as f:
        f.write(CORPUS)
    write_json(os.path.join(OUT, "isolated_components.json"), isolated_components())
    for seed, (name, make) in enumerate([("bytelevel_split", bytelevel_split), ("llama_fallback", llama_fallback),
                                         ("gpt2_legacy", gpt2_legacy), ("components", components)]):
        made = make()
        # Save and reload so the expectations come from the very file that is committed.
        path = os.path.join(OUT, name + ".json")
        with open(path, "w", encoding="utf-8") as f:
            f.write(made if isinstance(made, str) else made.to_str())
        tok = Tokenizer.from_file(path)
        expected = {
            "vocab_size": tok.get_vocab_size(with_added_tokens=True),
            "cases": [encode_case(tok, t) for t in TRICKY],
            "decode_cases": decode_cases(tok, seed),
        }
        if name == "llama_fallback":
            # No pre-tokenizer: the whole text is one BPE word, far longer than HF's word cache
            # limit. Ids and offsets only, to keep the file small.
            e = tok.encode(CORPUS)
            expected["long_cases"] = [{"text": CORPUS, "ids": e.ids, "offsets": [list(o) for o in e.offsets]}]
        write_json(os.path.join(OUT, name + ".expected.json"), expected)
        print(name, tok.get_vocab_size(with_added_tokens=True))


if __name__ == "__main__":
    main()
