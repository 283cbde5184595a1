"""Name-variant keys, so that one person's name meets itself across scripts and spellings.

Testimonies name the same person in Latin Uyghur, Turkish, Russian or Kazakh Cyrillic, Chinese (as
characters or pinyin) and the Uyghur Arabic script. A researcher who types one spelling should find the
others, and should be told *why* a hit matched. This module is pure Python (it must not import Whoosh);
the search adapter indexes `variant_key()` of each name word and uses `match_rule()` / `explain()` to
label hits.

Pipeline of `variant_key(word)`
-------------------------------
1. Unicode NFKC and casefold.
2. `SCRIPT_FIXES`: a handful of letters that anyascii flattens too far for Uyghur and Turkish names are
   rewritten first (Turkish ş and ç would otherwise become s and c; anyascii reads Arabic-script letters
   as Arabic, where alef carries no vowel, but Uyghur writes every vowel).
3. anyascii transliteration to ASCII, lower case, letters only (the Cyrillic soft sign's apostrophe and
   the like go). Steps 1-3 are `transliterate()`; two words equal here match as "transliteration".
4. `RULES`, in order. Rules scoped "pinyin" run only when the whole word can be read as a string of
   two or more pinyin syllables (`looks_like_pinyin()`), because they undo what Chinese transliteration
   does and would damage ordinary Latin spellings. Rules scoped "all" run on every word.

The rules (name: what it does, example)
---------------------------------------
- pinyin-x: pinyin x is an s-sound. Tuerxun -> tuersun.
- pinyin-uo: pinyin uo is o. Tuoheti -> toheti.
- pinyin-ai: pinyin writes Uyghur ä/e as ai. Maimaiti -> mamati.
- pinyin-dou: 都 in a name is always "du", but anyascii reads it dou. 阿不都 abudou -> abudu.
- pinyin-jiang: the suffix -jan is written jiang. Maimaitijiang -> mamatijan.
- pinyin-ahong: the suffix -axun/-ahun is written ahong. Tuerxunahong -> tursunahun.
- pinyin-er: a syllable-closing r is written er after a vowel. Tuersun -> tursun.
- pinyin-extra-vowel: drop the vowel pinyin inserts to break a consonant cluster, only where it reliably
  does so: b(u|o) before a consonant, a non-initial he before a consonant, ti before j.
  Abudukeremu -> abdukeremu, Toheti -> tohti, Mamatijan -> mamatjan.
- pinyin-final-emu: a final closed syllable -Cim is written -Cemu (克热木 keremu = Kerim).
  Abdukeremu -> abdukerim.
- final-extra-vowel: Chinese renderings close a final consonant with a vowel: -mu, -bu, -pu, -fu, -ti.
  Runs on every word, because pinyin -ti is ambiguous (Maimaiti = Memet, Tuoheti = Tohti): so Tohti is
  keyed "toht" too. Yusufu -> yusuf, Maimaiti -> mamat.
- kh-x-h: Russian х (kh), Uyghur Latin x and h meet. Il'kham, Ilxam -> ilham.
- gh-g: Uyghur gh, Turkish ğ (already g) and g meet. Oghuz -> oguz.
- q-k: Qurban -> kurban.
- j-sound: Russian дж/ж (dzh, zh), French dj and Turkish c (which is j) meet. Cemal, Dzhamal -> jamal.
- w-v: Wahit -> vahit.
- y-vowel: a y with no vowel beside it is a vowel (Russian ы). Kadyr -> kadir.
- ei-i: Abdureheim -> abdurehim.
- front-vowels: Uyghur ä and é are written a, ä, e or é; all become a. Memetjan -> mamatjan,
  Abdukérim -> abdukarim. Other vowels stay distinct: i, o and u are kept apart, never dropped.
- double-letters: Muhammad -> muhamad, Abdurrahim -> abdurahim.

Decisions
---------
- Vowels are collapsed into classes, never deleted, so short names do not collide: Ali and Ola, Lu and
  Ali stay apart. Ali and Eli *do* meet: Uyghur writes Ali as ئەلى, "Eli" in Latin Uyghur.
- p and f stay apart (Patime does not match Fatima); n and z stay apart (Gulnar, pomegranate flower, does
  not match Gulzar, rose garden); Mamatjan does not match Muhammad (u is its own vowel class).
- Aibudureheman is the pinyin of Abdurehman (Abdurahman), not of Abdurehim, and is keyed that way.

Known gaps
----------
- é written as i: Abdukirim does not meet Abdukerim (merging e with i as well would make Iman, Emin,
  Aman and Amin all one name).
- pinyin li is sometimes l (Yilihamu = Ilham) and sometimes li (Abulimiti = Ablimit); it is left
  alone, so Yilihamu does not meet Ilham. The same holds for -ke (Malike vs Malik).
- pinyin-final-emu turns Aikeremu (Ekrem) into ...rim, so Ekrem does not meet its pinyin.
- Turkish typed without cedillas: "Sohret" and "Celik" are keyed as s and c (j), not sh and ch, so they
  do not meet Şöhret and Çelik by key, although `match_rule()` reports "accents" for such a pair.
- Arabic-language (unvowelled) spellings such as محمد are keyed as consonants only ("mhmd"); only the
  Uyghur Arabic script, which writes its vowels, meets Latin spellings. `SCRIPT_FIXES` reads ى as i and
  و as o, as Uyghur does, which is wrong for Arabic words (موسى).
- Pinyin detection is an approximation (any initial with any final): a Latin name made only of open
  syllables, such as Aisha, counts as pinyin, so pinyin-ai keys it "asha".
"""

import re
import unicodedata

from anyascii import anyascii

# Letters anyascii flattens too far for these names, rewritten before transliteration.
SCRIPT_FIXES = {
    "ş": "sh",  # Turkish: anyascii gives s, but Şöhret is Shohret
    "ç": "ch",  # Turkish: anyascii gives c, which the j-sound rule reads as Turkish c
    "ا": "a",  # Uyghur alef is the vowel a; anyascii drops it as an Arabic vowel carrier
    "ى": "i",  # Uyghur i; anyascii reads it as Arabic alef maqsura (a)
    "و": "o",  # Uyghur o; anyascii reads it as Arabic w
    "ئ": "",  # Uyghur hamza that starts a vowel-initial word; silent
}

VOWELS = "aeiou"
CONSONANT = "[bcdfghjklmnpqrstvwxz]"

# (name, scope, pattern, replacement, description); scope is "pinyin" or "all". Order matters.
RULES: list[tuple[str, ...]] = [
    ("pinyin-x", "pinyin", "x", "s", "pinyin x is an s-sound: Tuerxun -> tuersun"),
    ("pinyin-uo", "pinyin", "uo", "o", "pinyin uo is o: Tuoheti -> toheti"),
    ("pinyin-ai", "pinyin", "ai", "a", "pinyin writes Uyghur ä/e as ai: Maimaiti -> mamati"),
    ("pinyin-dou", "pinyin", "dou", "du", "都 in a name is du, anyascii reads dou: abudou -> abudu"),
    ("pinyin-jiang", "pinyin", "jiang$", "jan", "the suffix -jan is written jiang: ...tijiang -> ...tijan"),
    ("pinyin-ahong", "pinyin", "ahong$", "ahun", "the suffix -axun is written ahong: ...nahong -> ...nahun"),
    ("pinyin-er", "pinyin", f"(?<=[{VOWELS}])er(?![{VOWELS}])", "r", "er is a closing r: Tuersun -> tursun"),
    (
        "pinyin-extra-vowel",
        "pinyin",
        f"(?<=b)[uo](?={CONSONANT})|(?<=[abdefgijklmnopqrtuvwy]h)e(?={CONSONANT})|(?<=t)i(?=j)",
        "",
        "drop the vowel pinyin inserts in a consonant cluster: Abudukeremu -> abdukeremu, Toheti -> tohti",
    ),
    (
        "pinyin-final-emu",
        "pinyin",
        f"(?<={CONSONANT})emu$",
        "im",
        "final -Cim is written -Cemu: Abdukeremu -> abdukerim",
    ),
    (
        "final-extra-vowel",
        "all",
        "(?<=[a-z]{2}[mbpf])u$|(?<=[a-z]{2}t)i$",
        "",
        "a final consonant closed with a vowel: Yusufu -> yusuf, Maimaiti -> mamat (and Tohti -> toht)",
    ),
    ("kh-x-h", "all", "kh|x", "h", "Russian kh, Uyghur Latin x and h meet: Ilkham, Ilxam -> ilham"),
    ("gh-g", "all", "gh", "g", "Uyghur gh and Turkish ğ meet g: Oghuz -> oguz"),
    ("q-k", "all", "q", "k", "Qurban -> kurban"),
    ("j-sound", "all", "dzh|dj|zh|c(?!h)", "j", "dzh, zh, dj and Turkish c are j: Cemal, Dzhamal -> jamal"),
    ("w-v", "all", "w", "v", "Wahit -> vahit"),
    (
        "y-vowel",
        "all",
        f"(?<![{VOWELS}])y(?![{VOWELS}])",
        "i",
        "a y with no vowel beside it is a vowel: Kadyr -> kadir",
    ),
    ("ei-i", "all", "ei", "i", "Abdureheim -> abdurehim"),
    ("front-vowels", "all", "e", "a", "Uyghur ä and é, written a, ä, e or é, meet: Memetjan -> mamatjan"),
    ("double-letters", "all", r"([a-z])\1+", r"\1", "Muhammad -> muhamad"),
]

# How a query word matched a stored word, most literal first.
MATCH_RULES = ("exact", "accents", "transliteration", "spelling")

# Hyphens and dashes, slashes, commas and the middle dots that join Chinese renderings of Uyghur names.
WORD_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015/,;.()\[\]·・‧•]+")
APOSTROPHES = re.compile("['’‘ʼʻ`´ʹ′]")

_PINYIN_FINALS = (
    "iang|iong|uang|ang|eng|ing|ong|ian|iao|uai|uan|ai|ao|an|ei|en|er|ia|ie|in|iu|ou|ua|ue|ui|un|uo|a|e|i|o|u|v"
)
_PINYIN_JQX_FINALS = "iang|iong|ing|ian|iao|ia|ie|in|iu|i|uan|ue|un|u"
_PINYIN_BARE_FINALS = "ang|eng|ai|ao|an|ei|en|er|ou|a|e|o"
_PINYIN_SYLLABLE = (
    f"(?:(?:zh|ch|sh|[bpmfdtnlgkhrzcsyw])(?:{_PINYIN_FINALS})|[jqx](?:{_PINYIN_JQX_FINALS})|(?:{_PINYIN_BARE_FINALS}))"
)
_PINYIN_WORD = re.compile(f"(?:{_PINYIN_SYLLABLE}){{2,}}")
_COMPILED_RULES = [(name, scope, re.compile(pattern), sub) for name, scope, pattern, sub, _ in RULES]
_NON_LETTERS = re.compile("[^a-z]+")


# Latin letters with a diacritic that Unicode does not decompose, so stripping combining marks misses them:
# Turkish dotless ı (Yıldırım = Yildirim), Polish ł, Nordic ø, Croatian đ, Maltese ħ.
UNDECOMPOSABLE_LATIN = str.maketrans({"ı": "i", "ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ŧ": "t"})


def fold(text: str) -> str:
    """Unicode NFKC, casefold, strip combining accents (Oğuz -> oguz, Mämätjan -> mamatjan).

    Keeps the script (Маматжан -> маматжан), so that "accents" in `match_rule()` means what it says.
    """
    decomposed = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", text).casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(UNDECOMPOSABLE_LATIN)
    return unicodedata.normalize("NFC", stripped)


def words(name: str) -> list[str]:
    """Split a name into words on spaces, hyphens and similar; drop apostrophes inside words and empties.

    Apostrophes join rather than split because they mark a syllable break inside one name word
    (Jür'et, Tu'erxun), not the start of another.
    """
    return [word for part in WORD_SEPARATORS.split(name) if (word := APOSTROPHES.sub("", part))]


def transliterate(word: str) -> str:
    """Lower-case ASCII letters of a word: NFKC, casefold, `SCRIPT_FIXES`, anyascii, letters only."""
    text = unicodedata.normalize("NFKC", word).casefold()
    text = "".join(SCRIPT_FIXES.get(ch, ch) for ch in text)
    return _NON_LETTERS.sub("", anyascii(text).lower())


def looks_like_pinyin(ascii_word: str) -> bool:
    """Whether a transliterated word reads as two or more pinyin syllables, so the pinyin rules apply.

    Ordinary Latin spellings end syllables in consonants pinyin cannot (Mamatjan, Tohti), so they pass
    untouched; names made only of open syllables (Ali, Patime) pass as pinyin but no pinyin rule alters them.
    """
    return _PINYIN_WORD.fullmatch(ascii_word) is not None


def _rewrite(word: str) -> tuple[str, list[str]]:
    """The variant key of a word and the names of the rules that changed it on the way."""
    text = transliterate(word)
    if not text:
        # A letter anyascii cannot render (or that NFKC turns into bare accents) still deserves a key.
        letters = "".join(ch for ch in fold(word) if ch.isalpha())
        return letters or "".join(ch.casefold() for ch in word if ch.isalpha()), []
    is_pinyin = looks_like_pinyin(text)
    fired = []
    for name, scope, pattern, replacement in _COMPILED_RULES:
        if scope == "pinyin" and not is_pinyin:
            continue
        rewritten = pattern.sub(replacement, text)
        if rewritten != text:
            fired.append(name)
            text = rewritten
    return text, fired


def variant_key(word: str) -> str:
    """The key under which all spellings of one name word meet: transliteration, then `RULES`.

    Deterministic; non-empty for any word with a letter in it, '' for a word without.
    """
    if not any(ch.isalpha() for ch in word):
        return ""
    return _rewrite(word)[0]


def match_rule(query_word: str, stored_word: str) -> str | None:
    """Why query_word matches stored_word, or None: the first (most literal) of `MATCH_RULES` that holds.

    "exact": same after NFC and casefold; "accents": same after `fold()`; "transliteration": same after
    `transliterate()`; "spelling": same `variant_key()`. Words without letters never match.
    """
    if not variant_key(query_word) or not variant_key(stored_word):
        return None
    comparisons = (
        ("exact", lambda word: unicodedata.normalize("NFC", word).casefold()),
        ("accents", fold),
        ("transliteration", transliterate),
        ("spelling", variant_key),
    )
    for rule, normalise in comparisons:
        if normalise(query_word) == normalise(stored_word):
            return rule
    return None


def explain(query: str, stored_name: str) -> list[tuple[str, str, str]]:
    """For each word of query that matches some word of stored_name: (query_word, stored_word, rule).

    When several stored words match, the most literal match wins, then the earliest word.
    """
    stored_words = words(stored_name)
    explanations = []
    for query_word in words(query):
        matches = [(rule, stored) for stored in stored_words if (rule := match_rule(query_word, stored))]
        if matches:
            rule, stored_word = min(matches, key=lambda match: MATCH_RULES.index(match[0]))
            explanations.append((query_word, stored_word, rule))
    return explanations
