"""Synthetic testimony archives of any size, for benchmarks.

    python -m bench.generate --testimonies 100000 --seed 1 --out bench/corpus/100k

writes source files in the input format (`schema/source.schema.json`): 20 testimonies per file, at most
1000 files per subfolder (`0000/source-000000.yaml`, ...). Each file is built by its own random generator,
seeded from the corpus seed and the file's number, so

- the same seed gives the same files, byte for byte;
- files are written one at a time and nothing is kept: a million testimonies take no more memory than
  a hundred;
- one more file can be made later (`source_document(seed, number)`) for an incremental ingest.

Everything is invented: people, publishers, villages and words; each file says so in its first lines.
What is realistic is the shape: English mostly, some French, German, Turkish, Russian and short Chinese
texts; 40-300 words built from the vocabulary of families of detained people; names written in several
spellings and scripts (Mamatjan, Memetjan, Mämätjan, Маматжан, Maimaitijiang); pseudonyms with a trailing
star; partial dates; tags, some of them SHOUTED; the relationships, statuses and roles of the schema.
"""

import bisect
import itertools
import json
import math
import random
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "schema" / "source.schema.json"
TESTIMONIES_PER_FILE = 20
FILES_PER_FOLDER = 1000
# Hidden, so `testimony ingest` (which skips dot files) never takes it for a source file.
MANIFEST = ".bench-corpus.json"
# Bump when the output for a given seed changes, so `bench.run` regenerates a cached corpus.
GENERATOR_VERSION = 1
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
HEADER = (
    "# yaml-language-server: $schema=../../schema/source.schema.json\n"
    "# SYNTHETIC BENCHMARK DATA written by bench/generate.py: every person, publisher and word is invented.\n"
)

# The vocabularies the archive accepts, read from the schema so the two never drift.
_DEFS = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))["$defs"]
ROLES: list[str] = _DEFS["role"]["enum"]
STATUSES: list[str] = _DEFS["status"]["enum"]
RELATIONSHIPS: list[str] = _DEFS["relationship"]["enum"]

ROLE_WEIGHTS = {"family": 75, "survivor": 8, "witness": 7, "organisation": 4, "official": 2, "other": 4}
STATUS_WEIGHTS = {"detained": 30, "imprisoned": 25, "disappeared": 15, "released": 10, "died_in_detention": 5}
CLOSE_FAMILY = {"brother": 12, "sister": 8, "father": 12, "mother": 7, "son": 10, "daughter": 5, "husband": 9}
CLOSE_FAMILY |= {"wife": 3, "uncle": 3, "cousin": 3, "nephew": 2, "brother-in-law": 2, "sibling": 1, "child": 1}
LANGUAGE_WEIGHTS = {"en": 80, "tr": 5, "fr": 4, "de": 4, "ru": 4, "zh": 3}

# Spelling groups: the first form is the most common; the others are what transliteration and
# reporters make of it (some meet through `search/names.py`, some are its documented gaps).
GIVEN_NAMES = [
    ("Mamatjan", "Memetjan", "Mämätjan", "Маматжан", "Maimaitijiang"),
    ("Ablikim", "Ablekim", "Abulikemu"),
    ("Gülnar", "Gulnar", "Гульнар"),
    ("Oğuz", "Oguz", "Oghuz"),
    ("Abdukerim", "Abdukérim", "Abudukeremu"),
    ("Ilham", "Ilxam", "Ильхам"),
    ("Qurban", "Kurban", "Курбан"),
    ("Patime", "Patima"),
    ("Gulbahar", "Gülbahar", "Гульбахар"),
    ("Yusup", "Yusuf", "Yusufu", "Юсуп"),
    ("Mihrigul", "Mihrigül", "Михригуль"),
    ("Erkin", "Эркин"),
    ("Rahile", "Rahila", "Рахиле"),
    ("Alimjan", "Alimjiang", "Алимжан"),
    ("Abdurehim", "Abdureheim", "Abdurahim", "Abdurrahim"),
    ("Tursunay", "Tursunai", "Турсунай"),
    ("Şöhret", "Shohret", "Sohret"),
    ("Kalbinur", "Qelbinur", "Калбинур"),
    ("Bahtiyar", "Baxtiyar", "Бахтияр"),
    ("Perhat", "Parhat", "Пархат"),
    ("Zumret", "Zümret", "Zumrat"),
    ("Nurmuhammad", "Nurmuhammed", "Нурмухаммад"),
    ("Ainur", "Айнур"),
    ("Yerzhan", "Erjan", "Ержан"),
    ("Aygul", "Aygül", "Айгуль"),
    ("Rustem", "Rustam", "Рустам"),
    ("Halmurat", "Xalmurat", "Khalmurat"),
    ("Muhammad", "Muhammed", "Mukhammad"),
    ("Dilnaz",),
    ("Kamil", "Камиль"),
    ("Zulpiye", "Zulpiya"),
    ("Ömer", "Omer", "Омер"),
    ("Hasiyet", "Hasiyat"),
    ("Mehray",),
    ("Adil", "Адиль"),
    ("Nurgul", "Nurgül"),
]
SURNAMES = [
    ("Tursun", "Tuerxun", "Турсун", "Tursunov"),
    ("Hesen", "Hasan", "Hesan"),
    ("Memet", "Mamat", "Maimaiti", "Мамат"),
    ("Rozi", "Rozy"),
    ("Niyaz", "Нияз"),
    ("Tohti", "Tuoheti", "Toxti"),
    ("Yıldırım", "Yildirim"),
    ("Şükür", "Shukur"),
    ("Kenzhebayeva", "Kenjebaeva", "Кенжебаева"),
    ("Abdulla", "Abdullah", "Абдулла"),
    ("Qadir", "Kadyr", "Кадыр"),
    ("Ablet", "Abulaiti"),
    ("Osman", "Осман"),
    ("Sidiq", "Sidik", "Сидик"),
    ("Ismayil", "Ismail", "Исмаил"),
    ("Eziz", "Aziz", "Азиз"),
    ("Yasin", "Ясин"),
    ("Musa", "Муса"),
]
ORGANISATIONS = [
    "Uyghur Families Association",
    "Kazakh Relatives Committee",
    "Association des familles de disparus",
    "Campaign for Detained Scholars",
    "Families Abroad Network",
]
OFFICIALS = ["Embassy spokesperson", "Foreign ministry spokesperson", "Regional government spokesperson"]
PUBLISHERS = [
    "Meridian Rights Collective",
    "Steppe Families Support Network",
    "Bosphorus Forum for Human Rights",
    "Open Door Letters Project",
    "Northern Lights Human Rights Watchers",
    "Caravan Testimony Project",
    "Silk Road Justice Initiative",
    "Observatoire des détentions arbitraires",
    "Menschenrechtsforum Ostturkestan",
    "Anadolu Aile Dayanışma Derneği",
    "Правозащитный центр «Степь»",
]
PUBLISHER_WORDS = (
    ["Alliance", "Centre", "Forum", "Initiative", "Network", "Project", "Collective", "Watch", "Committee"],
    ["Rights", "Families", "Justice", "Memory", "Testimony", "Freedom", "Dignity", "Solidarity", "Voices"],
)
REPORT_TITLES = [
    "We only want to know they are alive",
    "Voices of the families",
    "Letters that never arrived",
    "Still waiting: relatives of the detained speak",
    "Across the border: families on relatives held in {place}",
    "No trial, no lawyer, no news",
    "Testimonies heard at the {city} public hearing",
    "The empty chair at the table",
    "Families of detained {group} speak out",
    "Separated: children abroad, parents in the camps",
]
GROUPS = ["Uyghurs", "Kazakhs", "Kyrgyz", "teachers", "students", "doctors", "writers", "business owners"]
CITIES = ["Istanbul", "Almaty", "Amsterdam", "Munich", "Brussels", "Paris", "Washington", "Toronto", "Stockholm"]
LOCATIONS = [
    "Istanbul, Türkiye",
    "Almaty, Kazakhstan",
    "Zharkent, Kazakhstan",
    "Amsterdam, Netherlands",
    "Munich, Germany",
    "Brussels, Belgium",
    "Paris, France",
    "Washington, United States",
    "Toronto, Canada",
    "Stockholm, Sweden",
    "London, United Kingdom",
    "Bishkek, Kyrgyzstan",
    "Tokyo, Japan",
    "Sydney, Australia",
    "Oslo, Norway",
]
PLACES = ["Kashgar", "Ghulja", "Urumqi", "Hotan", "Aksu", "Turpan", "Korla", "Yarkand", "Atush", "Kumul", "Altay"]
PLACES_ZH = ["喀什", "伊宁", "乌鲁木齐", "和田", "阿克苏", "吐鲁番", "库尔勒"]
ABROAD = ["Türkiye", "Egypt", "Kazakhstan", "Malaysia", "Germany", "Japan", "the United States", "Saudi Arabia"]
JOBS = [
    "teacher",
    "doctor",
    "shopkeeper",
    "farmer",
    "student",
    "imam",
    "driver",
    "engineer",
    "nurse",
    "musician",
    "writer",
    "journalist",
    "trader",
    "tailor",
    "accountant",
    "poet",
    "football coach",
]
WORKPLACES = ["shop", "school", "hospital", "market stall", "restaurant", "university", "factory", "farm", "bakery"]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
NUMBER_WORDS = ["two", "three", "five", "seven", "ten", "twelve", "fifteen", "seventeen", "twenty"]
TAGS = [
    "Detention",
    "DETENTION",
    "Family separation",
    "Enforced disappearance",
    "ENFORCED DISAPPEARANCE",
    "Imprisonment",
    "Torture and other ill-treatment",
    "TORTURE AND OTHER ILL-TREATMENT",
    "Death in custody",
    "Forced labour",
    "Re-education",
    "Students",
    "Teachers",
    "Medical professionals",
    "Religious practice",
    "Transnational repression",
    "Surveillance",
    "Passports confiscated",
    "Kazakh citizens",
    "Witnesses",
]
SOURCE_TAGS = ["China", "Xinjiang", "Kazakhstan", "Türkiye", "DETENTION", "Detention", "Enforced disappearance"]
PSEUDONYM_NOTES = ["*Names have been changed.", "Names marked * are pseudonyms, to protect relatives at home."]

# A long tail of village names (Zipf-distributed in use), so the index has a realistic vocabulary
# rather than a few hundred words: built once from a fixed seed, the same for every corpus.
_SYLLABLES = [
    "bag",
    "yar",
    "tash",
    "kol",
    "su",
    "kent",
    "bulak",
    "terek",
    "qum",
    "aral",
    "bash",
    "ay",
    "kök",
    "altun",
    "yeni",
    "qara",
    "sarigh",
    "tograq",
    "kum",
    "chong",
]
_village_random = random.Random(0)
VILLAGES = sorted(
    {
        "".join(_village_random.choice(_SYLLABLES) for _ in range(_village_random.randint(2, 3))).capitalize()
        for _ in range(6000)
    }
)
_village_random.shuffle(VILLAGES)
VILLAGE_WEIGHTS = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(VILLAGES))))

# -- sentences ---------------------------------------------------------------------------------------
# Fields: {S} the subject ("my brother Mamatjan"), {he} {him} {his}, {year} {year2} {month} {place}
# {num} {age} {job} {work} {village} {abroad} {rel}. The first letter of each sentence is capitalised.

EN_OPENERS = {
    "detained": [
        "{S} was detained in {month} {year}.",
        "{S} was taken away by the police in {year} and is still held in a camp near {place}.",
        "In {month} {year} {S} was detained at {his} {work} in {place}.",
        "{S} was sent to a re-education camp in {year}, after the police came to our house at night.",
    ],
    "imprisoned": [
        "{S} was sentenced to {num} years in prison in {year}.",
        "In {year} {S} was detained, and later we learned that {he} had been sentenced to {num} years.",
        "{S} is in prison in {place}, serving a sentence of {num} years for 'extremism'.",
    ],
    "died_in_detention": [
        "{S} died in detention in {year}.",
        "In {month} {year} the family was called to collect the body of {S}.",
    ],
    "disappeared": [
        "{S} disappeared in {month} {year}.",
        "We have had no news of {S} since {year}; {he} has simply disappeared.",
    ],
    "released": [
        "{S} was released in {year} after {num} months in a camp.",
        "{S} came home in {month} {year}, but {he} is not allowed to leave {place}.",
    ],
    "unknown": [
        "I do not know what has happened to {S} since {year}.",
        "Since {year} we have not been able to reach {S}.",
    ],
}
EN_SURVIVOR = [
    "I was detained in {month} {year} and held in a camp near {place} for {num} months.",
    "In the camp we had re-education classes every day, and we were forced to sing songs of praise.",
    "I was interrogated at night, with my hands tied to a chair.",
    "I was released in {year} and left the country in {year2}.",
    "Forty of us slept in one cell; the lights were never turned off.",
    "They made us write self-criticism and promise never to pray again.",
    "When I was released I had to sign a paper promising to say nothing about the camp.",
]
EN_WITNESS = [
    "I saw the police take {S} away from {his} {work} in {place}.",
    "I worked beside {S} for {num} years; {he} never took part in politics.",
    "I am telling what I saw with my own eyes, because it is my duty.",
]
EN_GENERAL = [
    "At first the police told us it was a short study session, a few weeks of re-education.",
    "We later learned through a relative that {he} had been sent to a camp near {place}.",
    "There was no trial that we know of: no lawyer and no court papers.",
    "The last time I heard {his} voice was a phone call in {year}.",
    "I have written letters to the embassy, to the United Nations and to anyone who will read them.",
    "Nobody has answered my letters.",
    "My mother is {age} and she asks me every week whether I have news.",
    "We were never allowed to visit {him}.",
    "{He} was a {job} in {place} for {num} years.",
    "I do not know if {he} is in a camp, in prison, or alive at all.",
    "The authorities never told us where {he} was held.",
    "After the trial {he} was moved to a prison in {place}.",
    "Relatives who stayed behind are afraid to talk to us on the phone.",
    "Our family has been separated for {num} years.",
    "A neighbour told us that {he} had been taken to a detention centre.",
    "I want the world to know what happened to my {rel}.",
    "Every morning I look at {his} photograph and hope that {he} is alive.",
    "{He} studied in {abroad} in {year}, and as far as we can tell that was {his} only crime.",
    "They took {his} passport and {his} phone at the border.",
    "We received one letter from {him} in {num} years.",
    "The letter said that {he} was well and that we should not worry. It did not sound like {him}.",
    "When I called the police station, they hung up.",
    "My children ask me when they will see their grandparents again.",
    "I am speaking out because {he} cannot.",
    "After the camp {he} was forced to work in a factory far from home.",
    "We found out about the verdict from a video call with a cousin.",
    "{He} was accused of extremism for having WhatsApp on {his} phone.",
    "Officials came to the house and told my father to sign a statement.",
    "I was told that if I kept speaking to journalists my family would suffer.",
    "The phone calls stopped in {year}, and WeChat messages went unanswered.",
    "I went to the consulate {num} times to ask for news, and each time I was sent away.",
    "Some of our relatives were released, but they cannot tell us anything.",
    "We do not know whether {he} has enough to eat or whether {he} is ill.",
    "I have not slept properly since {year}.",
    "The children were placed in a boarding school, and we do not know which one.",
    "In the video the police sent us {he} read from a paper and did not look at the camera.",
    "I ask the government to let {him} call us, only once.",
    "Please do not forget the people held in the camps.",
]
EN_DETAILS = [
    "{He} grew up in {village}, a village outside {place}.",
    "Our family home in {village} was demolished in {year}.",
    "Everyone in {village} knew {his} {work}.",
    "My cousin from {village} was detained in the same month.",
    "The checkpoint at {village} was where we saw {him} for the last time.",
]
FR = [
    "{S} a été arrêté{e} en {year}.",
    "Depuis, nous n'avons aucune nouvelle.",
    "On nous a dit qu'{il} était dans un camp de rééducation près de {place}.",
    "J'ai écrit des lettres à l'ambassade, sans jamais recevoir de réponse.",
    "Le dernier appel téléphonique date de {year}.",
    "Ma mère pleure chaque jour.",
    "Nous ne savons même pas où {il} se trouve.",
    "{Il} a été condamné{e} à {num} ans de prison, sans procès ni avocat.",
    "Nous demandons seulement le droit de lui rendre visite.",
    "Je témoigne parce qu'{il} ne peut pas parler.",
    "La police est venue chez nous la nuit.",
    "Toute la famille a peur de parler au téléphone.",
]
DE = [
    "{S} wurde im Jahr {year} festgenommen.",
    "Seitdem haben wir nichts mehr von {ihm} gehört.",
    "Man sagte uns, {er} sei in einem Umerziehungslager bei {place}.",
    "Ich habe Briefe an die Botschaft geschrieben, aber niemand hat geantwortet.",
    "Das letzte Telefonat war im Jahr {year}.",
    "Meine Mutter fragt jede Woche, ob ich Nachrichten habe.",
    "Wir wissen nicht, ob {er} noch lebt.",
    "{Er} wurde ohne Anwalt zu {num} Jahren Haft verurteilt.",
    "Wir durften {ihn} nie besuchen.",
    "Ich spreche, weil {er} nicht sprechen kann.",
    "Die Polizei kam nachts zu unserem Haus.",
    "Die Verwandten zu Hause haben Angst, mit uns zu telefonieren.",
]
TR = [
    "{S} {year} yılında gözaltına alındı.",
    "O günden beri hiçbir haber alamadık.",
    "Bize {place} yakınındaki bir kampta olduğunu söylediler.",
    "Büyükelçiliğe mektuplar yazdım, ama kimse cevap vermedi.",
    "Son telefon görüşmemiz {year} yılındaydı.",
    "Annem her hafta haber olup olmadığını soruyor.",
    "Hâlâ hayatta olup olmadığını bilmiyoruz.",
    "Avukatsız bir mahkemede {num} yıl hapis cezasına çarptırıldı.",
    "Onu ziyaret etmemize hiç izin verilmedi.",
    "O konuşamadığı için ben konuşuyorum.",
    "Polis gece evimize geldi.",
    "Memlekette kalan akrabalarımız telefonda konuşmaktan korkuyor.",
]
RU = [
    "{S} {byl} задержан{a} в {year} году.",
    "С тех пор мы ничего о {nem} не знаем.",
    "Нам сказали, что {on} находится в лагере перевоспитания под городом {place}.",
    "Я писал письма в посольство, но никто не ответил.",
    "Последний телефонный звонок был в {year} году.",
    "Моя мать каждую неделю спрашивает, есть ли новости.",
    "Мы не знаем, жив{a} ли {on}.",
    "{On} {byl} приговорен{a} к {num} годам заключения без адвоката.",
    "Нам ни разу не разрешили свидание.",
    "Я говорю, потому что {on} не может.",
    "Полиция пришла к нам ночью.",
]
ZH = [
    "{S}在{year}年被拘留。",
    "从那以后我们再也没有收到{ta}的消息。",
    "听说{ta}被关在{place}附近的营地。",
    "我们给大使馆写了很多信，但没有人回答。",
    "最后一次通话是在{year}年。",
    "我只想知道{ta}是否还活着。",
    "{ta}被判处{num}年徒刑，没有律师。",
    "警察在夜里来到我们家。",
]

MALE = {"brother", "father", "son", "husband", "uncle", "nephew", "grandfather", "grandson"}
MALE |= {"brother-in-law", "father-in-law", "son-in-law"}
FEMALE = {"sister", "mother", "daughter", "wife", "aunt", "niece", "grandmother", "granddaughter"}
FEMALE |= {"sister-in-law", "mother-in-law", "daughter-in-law"}
# "my <relation>" in each language, for the relations that come up most; others fall back to "relative".
REL_FR = {"brother": "mon frère", "sister": "ma sœur", "father": "mon père", "mother": "ma mère", "son": "mon fils"}
REL_FR |= {"daughter": "ma fille", "husband": "mon mari", "wife": "ma femme", "uncle": "mon oncle"}
REL_DE = {"brother": "mein Bruder", "sister": "meine Schwester", "father": "mein Vater", "mother": "meine Mutter"}
REL_DE |= {"son": "mein Sohn", "daughter": "meine Tochter", "husband": "mein Mann", "wife": "meine Frau"}
REL_TR = {"brother": "ağabeyim", "sister": "kız kardeşim", "father": "babam", "mother": "annem", "son": "oğlum"}
REL_TR |= {"daughter": "kızım", "husband": "eşim", "wife": "eşim", "uncle": "amcam"}
REL_RU = {"brother": "мой брат", "sister": "моя сестра", "father": "мой отец", "mother": "моя мать", "son": "мой сын"}
REL_RU |= {"daughter": "моя дочь", "husband": "мой муж", "wife": "моя жена"}
REL_ZH = {"brother": "我的哥哥", "sister": "我的姐姐", "father": "我的父亲", "mother": "我的母亲", "son": "我的儿子"}
REL_ZH |= {"daughter": "我的女儿", "husband": "我的丈夫", "wife": "我的妻子"}


def _zipf_weights(count: int, exponent: float = 0.9) -> list[float]:
    return list(itertools.accumulate(1 / (rank + 1) ** exponent for rank in range(count)))


GIVEN_WEIGHTS = _zipf_weights(len(GIVEN_NAMES))
SURNAME_WEIGHTS = _zipf_weights(len(SURNAMES))


def size_label(testimonies: int) -> str:
    """100000 -> '100k', 1000000 -> '1m', 60 -> '60': names for corpora and result files."""
    for suffix, unit in (("m", 1_000_000), ("k", 1000)):
        if testimonies >= unit and testimonies % unit == 0:
            return f"{testimonies // unit}{suffix}"
    return str(testimonies)


def relative_path(number: int) -> Path:
    return Path(f"{number // FILES_PER_FOLDER:04d}") / f"source-{number:06d}.yaml"


def file_count(testimonies: int, per_file: int = TESTIMONIES_PER_FILE) -> int:
    return -(-testimonies // per_file)


class _File:
    """The random choices behind one source file."""

    def __init__(self, seed: int, number: int):
        # A string seed is hashed (SHA-512) by `random`, so it is stable across runs and platforms.
        self.rng = random.Random(f"testimony-bench:{seed}:{number}")
        self.number = number

    def weighted(self, weights: dict[str, int]) -> str:
        return self.rng.choices(list(weights), list(weights.values()))[0]

    def spelling(self, group: tuple[str, ...]) -> str:
        if len(group) == 1 or self.rng.random() < 0.55:
            return group[0]
        return self.rng.choice(group[1:])

    def name(self, pseudonymous: bool) -> str:
        given = GIVEN_NAMES[bisect.bisect(GIVEN_WEIGHTS, self.rng.random() * GIVEN_WEIGHTS[-1])]
        if pseudonymous:
            return given[0] + "*"
        if self.rng.random() < 0.25:
            return self.spelling(given)
        surname = SURNAMES[bisect.bisect(SURNAME_WEIGHTS, self.rng.random() * SURNAME_WEIGHTS[-1])]
        return f"{self.spelling(given)} {self.spelling(surname)}"

    def village(self) -> str:
        return VILLAGES[bisect.bisect(VILLAGE_WEIGHTS, self.rng.random() * VILLAGE_WEIGHTS[-1])]

    def partial_date(self, first_year: int, last_year: int, as_int: bool = True) -> str | int:
        year = self.rng.randint(first_year, last_year)
        precision = self.rng.random()
        if precision < 0.25:
            return year if as_int else str(year)
        if precision < 0.6:
            return f"{year}-{self.rng.randint(1, 12):02d}"
        return f"{year}-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}"

    def words(self, low: int, high: int, typical: int) -> int:
        return min(high, max(low, int(self.rng.lognormvariate(math.log(typical), 0.55))))


def _publisher(f: _File) -> str:
    if f.rng.random() < 0.5:
        return f.rng.choice(PUBLISHERS)
    # A few hundred smaller publishers, so the publisher facet has a long tail.
    kind, topic = f.rng.choice(PUBLISHER_WORDS[0]), f.rng.choice(PUBLISHER_WORDS[1])
    return f"{f.rng.choice(CITIES)} {topic} {kind}"


def _title(f: _File) -> str:
    return (
        f.rng.choice(REPORT_TITLES)
        .replace("{place}", f.rng.choice(PLACES))
        .replace("{city}", f.rng.choice(CITIES))
        .replace("{group}", f.rng.choice(GROUPS))
    )


def _subjects(f: _File, role: str, speaker: str, pseudonymous: bool) -> list[dict]:
    if role == "survivor":
        return [{"name": speaker, "relationship": "self", "status": f.rng.choice(["released", "released", "detained"])}]
    if role in ("organisation", "official") and f.rng.random() < 0.5:
        return []
    count = 1 if f.rng.random() < 0.7 else (2 if f.rng.random() < 0.75 else 3)
    subjects = []
    for _ in range(count):
        if role == "witness":
            relationship = f.rng.choice(["colleague", "neighbour", "friend", "client"])
        elif role == "family" and f.rng.random() < 0.9:
            relationship = f.weighted(CLOSE_FAMILY)
        else:
            relationship = f.rng.choice(RELATIONSHIPS[1:])  # every relationship but "self"
        subject = {"name": None if f.rng.random() < 0.15 else f.name(pseudonymous), "relationship": relationship}
        status = f.weighted(STATUS_WEIGHTS) if f.rng.random() < 0.85 else "unknown"
        subject["status"] = status
        if f.rng.random() < 0.8:
            subject["since"] = f.partial_date(2016, 2022)
        if role in ("organisation", "official") and f.rng.random() < 0.5:
            del subject["relationship"]
        subjects.append(subject)
    return subjects


def _english(f: _File, role: str, subjects: list[dict]) -> str:
    subject = subjects[0] if subjects else None
    relationship = (subject or {}).get("relationship") or "relative"
    male = relationship in MALE or (relationship not in FEMALE and f.rng.random() < 0.6)
    name = (subject or {}).get("name")
    rel_word = relationship.replace("-", " ") if relationship not in ("self", "other") else "relative"
    fields = {
        "S": f"my {rel_word} {name}" if name else f"my {rel_word}",
        "he": "he" if male else "she",
        "him": "him" if male else "her",
        "his": "his" if male else "her",
        "rel": rel_word,
    }
    if role in ("witness", "organisation", "official"):
        fields["S"] = name or f"a {f.rng.choice(JOBS)} from {f.rng.choice(PLACES)}"
    sentences = []
    status = (subject or {}).get("status", "unknown")
    if role == "survivor":
        pool = EN_SURVIVOR + EN_GENERAL[:6]
    else:
        sentences.append(f.rng.choice(EN_OPENERS[status]))
        pool = EN_GENERAL + (EN_WITNESS if role == "witness" else [])
    order = itertools.cycle(f.rng.sample(pool, len(pool)))
    details = itertools.cycle(f.rng.sample(EN_DETAILS, len(EN_DETAILS)))
    target = f.words(40, 300, 110)
    text, count = [], 0
    for template in itertools.chain(sentences, order):
        if f.rng.random() < 0.15:
            template = next(details)
        sentence = _fill(f, template, fields)
        size = sentence.count(" ") + 1
        if count + size > 300:
            break
        text.append(sentence)
        count += size
        if count >= target:
            break
    return " ".join(text)


def _fill(f: _File, template: str, fields: dict) -> str:
    values = {
        "year": f.rng.randint(2016, 2022),
        "year2": f.rng.randint(2019, 2024),
        "month": f.rng.choice(MONTHS),
        "place": f.rng.choice(PLACES),
        "num": f.rng.choice(NUMBER_WORDS),
        "age": f.rng.randint(58, 86),
        "job": f.rng.choice(JOBS),
        "work": f.rng.choice(WORKPLACES),
        "abroad": f.rng.choice(ABROAD),
        "village": f.village() if "{village}" in template else "",
        **fields,
        **{key.capitalize(): value.capitalize() for key, value in fields.items() if key.islower()},
    }
    sentence = template.format(**values)
    return sentence[:1].upper() + sentence[1:]


def _other_language(f: _File, language: str, subjects: list[dict]) -> str:
    subject = subjects[0] if subjects else {}
    relationship = subject.get("relationship") or "relative"
    male = relationship in MALE or (relationship not in FEMALE and f.rng.random() < 0.6)
    name = subject.get("name") or ""
    if language == "fr":
        pool, rel = FR, REL_FR.get(relationship, "mon proche" if male else "ma proche")
        fields = {"il": "il" if male else "elle", "e": "" if male else "e"}
    elif language == "de":
        pool, rel = DE, REL_DE.get(relationship, "mein Verwandter" if male else "meine Verwandte")
        fields = {"er": "er" if male else "sie", "ihn": "ihn" if male else "sie", "ihm": "ihm" if male else "ihr"}
    elif language == "tr":
        pool, rel, fields = TR, REL_TR.get(relationship, "akrabam"), {}
    elif language == "ru":
        pool, rel = RU, REL_RU.get(relationship, "мой родственник" if male else "моя родственница")
        fields = {"on": "он" if male else "она", "byl": "был" if male else "была", "a": "" if male else "а"}
        fields["nem"] = "нём" if male else "ней"
    else:
        pool, rel, fields = ZH, REL_ZH.get(relationship, "我的亲人"), {"ta": "他" if male else "她"}
    fields["S"] = f"{rel}{name}" if language == "zh" else f"{rel} {name}".strip()
    capitals = {key.capitalize(): value.capitalize() for key, value in fields.items() if key.islower() and key != "S"}
    target = f.words(40, 120, 60) if language != "zh" else f.rng.randint(3, 6)
    order = [pool[0]] + f.rng.sample(pool[1:], len(pool) - 1)
    text, count = [], 0
    for template in order:
        place = f.rng.choice(PLACES_ZH if language == "zh" else PLACES)
        values = {"year": f.rng.randint(2016, 2022), "num": f.rng.randint(5, 20), "place": place}
        sentence = template.format(**values, **fields, **capitals)
        text.append(sentence[:1].upper() + sentence[1:])
        count += 1 if language == "zh" else sentence.count(" ") + 1
        if count >= target:
            break
    return ("" if language == "zh" else " ").join(text)


def _testimony(f: _File, source_language: str, published: str | int, pseudonymous: bool) -> dict:
    role = f.weighted(ROLE_WEIGHTS)
    if role == "organisation":
        speaker = f.rng.choice(ORGANISATIONS)
    elif role == "official":
        speaker = f.rng.choice(OFFICIALS)
    else:
        speaker = f.name(pseudonymous)
    subjects = _subjects(f, role, speaker, pseudonymous)
    language = f.weighted(LANGUAGE_WEIGHTS) if role not in ("official", "organisation") else "en"
    text = _english(f, role, subjects) if language == "en" else _other_language(f, language, subjects)
    testimony: dict = {"speaker": speaker, "role": role}
    if pseudonymous and role in ("family", "survivor", "witness", "other") and f.rng.random() < 0.1:
        testimony["speaker"] = {"name": speaker.rstrip("*"), "pseudonym": True}
    if subjects:
        testimony["subjects"] = subjects
    testimony["text"] = text
    if language != source_language or f.rng.random() < 0.3:
        testimony["language"] = language
    if f.rng.random() < 0.7:
        published_year = int(str(published)[:4])
        testimony["date"] = f.partial_date(published_year - 1, published_year)
    if f.rng.random() < 0.7:
        testimony["location"] = f.rng.choice(LOCATIONS)
    if f.rng.random() < 0.8:
        testimony["tags"] = f.rng.sample(TAGS, f.rng.randint(1, 3))
    if f.rng.random() < 0.02:
        testimony["visibility"] = "restricted"
    if f.rng.random() < 0.03:
        testimony["private"] = {"notes": f"Interviewed in person; contact through the {f.rng.choice(CITIES)} office."}
    return testimony


def source_document(seed: int, number: int, testimonies: int = TESTIMONIES_PER_FILE) -> dict:
    """Source file number `number` of the corpus with this seed, as the document its YAML holds."""
    f = _File(seed, number)
    pseudonymous = f.rng.random() < 0.25
    published = f.partial_date(2018, 2025)
    source: dict = {
        "title": _title(f),
        "publisher": _publisher(f),
        "published": published,
        "url": f"https://example.org/bench/{seed}/reports/{number:06d}",
        "language": "en",
    }
    if pseudonymous:
        source["note"] = f.rng.choice(PSEUDONYM_NOTES)
    if f.rng.random() < 0.8:
        source["tags"] = f.rng.sample(SOURCE_TAGS, f.rng.randint(1, 3))
    return {
        "source": source,
        "testimonies": [_testimony(f, "en", published, pseudonymous) for _ in range(testimonies)],
    }


def render(document: dict) -> str:
    return HEADER + yaml.dump(
        document, Dumper=DUMPER, allow_unicode=True, sort_keys=False, width=100, default_flow_style=None
    )


def corpus_files(testimonies: int, per_file: int = TESTIMONIES_PER_FILE) -> Iterator[tuple[int, int]]:
    """(file number, testimonies in it) for a corpus of this size; the last file may hold fewer."""
    for number in range(file_count(testimonies, per_file)):
        yield number, min(per_file, testimonies - number * per_file)


def write_file(path: Path, seed: int, number: int, testimonies: int = TESTIMONIES_PER_FILE) -> int:
    """Write one source file; returns its size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = render(source_document(seed, number, testimonies)).encode("utf-8")
    path.write_bytes(data)
    return len(data)


def read_manifest(out: Path) -> dict | None:
    try:
        return json.loads((Path(out) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class CorpusFolderInUse(Exception):
    """The output folder holds files that are not a generated corpus."""


def clear_corpus(out: Path) -> None:
    """Empty `out` for a new corpus: only a folder this module wrote (it has a manifest) is cleared."""
    out = Path(out)
    if not out.exists() or not any(out.iterdir()):
        return
    if read_manifest(out) is None:
        raise CorpusFolderInUse(f"{out} is not empty and holds no generated corpus; choose another --out")
    for child in out.iterdir():
        if child.is_dir() and child.name.isdigit():
            shutil.rmtree(child)
    (out / MANIFEST).unlink()


def write_corpus(out: Path, testimonies: int, seed: int, per_file: int = TESTIMONIES_PER_FILE) -> dict:
    """Write a whole corpus, one file at a time, and its manifest; returns the manifest."""
    out = Path(out)
    clear_corpus(out)
    started = time.perf_counter()
    total_bytes = files = 0
    for number, count in corpus_files(testimonies, per_file):
        total_bytes += write_file(out / relative_path(number), seed, number, count)
        files += 1
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "testimonies": testimonies,
        "seed": seed,
        "per_file": per_file,
        "files": files,
        "bytes": total_bytes,
        "seconds": round(time.perf_counter() - started, 2),
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def ensure_corpus(out: Path, testimonies: int, seed: int, per_file: int = TESTIMONIES_PER_FILE) -> dict:
    """The corpus at `out`, written unless a matching one is already there (generation is not benchmarked)."""
    manifest = read_manifest(out)
    wanted = {"generator_version": GENERATOR_VERSION, "testimonies": testimonies, "seed": seed, "per_file": per_file}
    if manifest and all(manifest.get(key) == value for key, value in wanted.items()):
        return manifest | {"reused": True}
    return write_corpus(out, testimonies, seed, per_file) | {"reused": False}


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


@app.command()
def generate(
    testimonies: Annotated[int, typer.Option("--testimonies", help="How many testimonies to write.", min=1)] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="The same seed writes the same files.")] = 1,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder to write [default: bench/corpus/<size>].", file_okay=False)
    ] = None,
    per_file: Annotated[
        int, typer.Option("--per-file", help="Testimonies per source file.", min=1)
    ] = TESTIMONIES_PER_FILE,
):
    """Write a synthetic archive of testimony source files (YAML, in the input format) for benchmarks."""
    out = out or ROOT / "bench" / "corpus" / size_label(testimonies)
    try:
        manifest = write_corpus(out, testimonies, seed, per_file)
    except CorpusFolderInUse as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"Wrote {manifest['testimonies']:,} testimonies in {manifest['files']:,} files "
        f"({manifest['bytes'] / 1e6:.1f} MB) to {out} in {manifest['seconds']:.1f} s"
    )


if __name__ == "__main__":
    app()
