"""Direct quotations in a document and who the text says spoke them.

A quotation is the text between a pair of quote marks (“…”, "…" or «…») that the
text attributes to someone with a cue: ``,” the Head of State said``, ``said Mayor
Ryan Cole``, ``Ryan Cole told reporters: «…»``, ``according to the ministry``. A quote
continued across paragraphs (an unclosed paragraph followed by one that opens with a
quote mark) is one quotation. Quoted words without a cue count only when they read
like speech (a sentence of several words); short quoted names and terms do not.

The speaker phrase as written ("the Head of State", "he", "President Tokayev") is
resolved to a person the same document names when the text makes it unambiguous;
otherwise it is reported as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qa.sentences import ends_sentence

if TYPE_CHECKING:
    from qa.documents import Document

__all__ = ["Quotation", "extract_quotations", "same_speaker", "CUE_VERBS"]

# Verbs that introduce speech. Multi-word cues come first so that the regex prefers them.
CUE_VERBS = (
    "according to", "pointed out", "told reporters", "went on", "said", "says", "say",
    "stressed", "stresses", "stated", "states", "noted", "notes", "added", "adds", "told",
    "tells", "emphasized", "emphasised", "emphasizes", "declared", "declares", "explained",
    "explains", "announced", "asked", "replied", "answered", "insisted", "warned", "remarked",
    "underlined", "underscored", "continued", "concluded", "argued", "claimed", "wrote",
    "recalled", "admitted", "assured", "urged", "affirmed", "confirmed", "commented",
    "observed", "acknowledged", "reiterated", "highlighted", "promised", "vowed",
)
_CUE = "|".join(re.escape(c) for c in CUE_VERBS)

# Titles that may precede a name; they are not part of the person's name.
_TITLES = {
    "president", "prime", "minister", "deputy", "acting", "mr", "mrs", "ms", "dr", "mayor",
    "senator", "governor", "chairman", "chairwoman", "chair", "secretary", "general",
    "spokesman", "spokeswoman", "spokesperson", "ambassador", "foreign", "defense", "defence",
    "interior", "head", "director", "chief", "professor", "prof", "judge", "justice",
    "commissioner", "sir", "lady", "lord", "king", "queen", "pope", "sheikh", "vice", "former",
    "mp", "akim", "colonel", "captain", "officer", "state",
}
# A phrase naming an office, mapped to the title that precedes the holder's name.
_ROLE_ALIASES = {"head of state": "president", "chief executive": "president"}
_PRONOUNS = {"he", "she", "they", "i", "we"}
# Capitalised words that start sentences rather than names.
_NOT_NAMES = {"the", "in", "a", "an", "this", "that", "as", "but", "and", "on", "at", "for",
              "it", "its", "his", "her", "our", "their", "my", "we", "they", "he", "she", "i",
              "if", "when", "while", "after", "before", "under", "with", "from", "by", "to",
              "so", "then", "there", "here", "today", "yesterday", "meanwhile", "however"}
# initials and abbreviated titles keep their period; any other period ends the name
_NAME_WORD = r"(?:[A-ZА-ЯЁ]\.|(?:Mr|Mrs|Ms|Dr|St|Prof)\.|[A-ZА-ЯЁ][\w’'-]*)"
_NAME = re.compile(
    rf"{_NAME_WORD}(?:[ \t]+(?:(?:de|van|von|bin|al|del|la|of|of[ \t]+the)[ \t]+)?{_NAME_WORD})*")
_OPENERS = {"“": "”", "«": "»", '"': '"', "„": "“"}
_CLOSERS = {"”", "»", '"', "“"}
_PARAGRAPH = re.compile(r"\n[ \t]*\n")
_WORD = re.compile(r"\w+")
_SPEECH_WORDS = 4  # fewer words in a paragraph of a speech: a heading or a dateline

# After a closing mark: `, the Head of State said` / `, said Ryan Cole` / `, according to X`.
_AFTER_SPEAKER_VERB = re.compile(
    rf"^[,.!?…—–-]?\s*(?P<np>(?:[\w’'.-]+\s+){{0,7}}?[\w’'.-]+)\s+"
    rf"(?:(?:also|then|later|again|further|firmly|once\s+again)\s+)?(?P<verb>{_CUE})\b",
)
_AFTER_VERB_SPEAKER = re.compile(
    rf"^[,.!?…—–-]?\s*(?P<verb>{_CUE})\s+(?P<np>[^,.;:!?“”\"«»\n]{{2,80}})",
)
# Before an opening mark: `Ryan Cole said: ` / `He told reporters, ` / `According to X, `.
_BEFORE = re.compile(
    rf"(?P<np>[^,.;:!?“”\"«»\n]{{1,80}}?)\s+(?P<verb>{_CUE})\b[^.;!?“”\"«»\n]{{0,60}}[:,]\s*$",
)
_BEFORE_ACCORDING = re.compile(r"[Aa]ccording to\s+(?P<np>[^,.;:!?“”\"«»\n]{2,80}),\s*$")


@dataclass(frozen=True)
class Quotation:
    """A direct quotation: ``document.text[start:end] == text`` (without the quote marks).

    Attributes:
        speaker: the person the text attributes the words to, resolved to a full name
            when the document makes it unambiguous, else the phrase as written; None when
            nobody is named.
        cue: the cue verb, lower case ("said", "according to"); None without a cue.
        cue_phrase: the attribution as written ("the Head of State said").
        direct_quote: True for words in quote marks; False for narration.
    """

    doc_id: str
    start: int
    end: int
    text: str
    speaker: str | None
    cue: str | None
    cue_phrase: str | None
    direct_quote: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end or self.end - self.start != len(self.text):
            raise ValueError(f"quotation offsets ({self.start}, {self.end}) do not fit its text")

    def as_json(self) -> dict:
        return {"doc_id": self.doc_id, "start": self.start, "end": self.end, "text": self.text,
                "speaker": self.speaker, "cue": self.cue, "cue_phrase": self.cue_phrase,
                "direct_quote": self.direct_quote}


def extract_quotations(doc: Document) -> list[Quotation]:
    """Every direct quotation in ``doc``, in order, with its speaker and cue."""
    text = doc.text
    people = _people(text)
    found: list[Quotation] = []
    previous_speaker: str | None = None
    for start, end in _quoted_spans(text):
        inner_start, inner_end = _strip_span(text, start, end)
        if inner_end <= inner_start:
            continue
        np_, verb, phrase = _attribution(text, start, end + 1)
        quoted = text[inner_start:inner_end]
        speaker = None
        if np_ is not None:
            speaker = _resolve(np_, text, start, people, previous_speaker)
        elif found and not _PARAGRAPH.search(text, found[-1].end, start):
            # a second quote in the same paragraph continues the last speaker's words
            last = found[-1]
            speaker, verb, phrase = last.speaker, last.cue, last.cue_phrase
        elif not _reads_like_speech(quoted):
            continue  # a quoted name or term, not speech
        if speaker and speaker.lower() not in _PRONOUNS:
            previous_speaker = speaker
        found.append(Quotation(doc.doc_id, inner_start, inner_end, quoted, speaker,
                               verb.lower() if verb else None, phrase))
    if doc.speaker:
        found = sorted(found + _speech(doc, found), key=lambda q: q.start)
    return found


def _speech(doc: Document, quotations: list[Quotation]) -> list[Quotation]:
    """The document's own words, attributed to ``doc.speaker`` without quote marks.

    A speech or transcript says in its sidecar whose words it is. Each paragraph outside
    the site chrome and outside the quotations it contains (which keep their own
    speakers) is one span; headings and datelines (no final punctuation, or fewer than
    ``_SPEECH_WORDS`` words) are left out.
    """
    text = doc.text
    # the quote marks around a quotation belong to it
    taken = sorted([(q.start - 1, q.end + 1) for q in quotations] + list(doc.boilerplate))
    spans = []
    for p_start, p_end in _paragraphs(text):
        pieces, position = [], p_start
        for t_start, t_end in taken:
            if t_end <= position or t_start >= p_end:
                continue
            pieces.append((position, max(position, t_start)))
            position = max(position, t_end)
        pieces.append((position, p_end))
        for start, end in pieces:
            start, end = _strip_span(text, start - 1, end)
            if len(_WORD.findall(text[start:end])) >= _SPEECH_WORDS and \
                    ends_sentence(text[start:end]):
                spans.append(Quotation(doc.doc_id, start, end, text[start:end], doc.speaker,
                                       None, None, direct_quote=False))
    return spans


def same_speaker(given: str, speaker: str | None, as_written: str | None = None) -> bool:
    """True when the name a user gave plausibly names ``speaker``.

    Titles are ignored and either name may be shorter: "Tokayev", "President Tokayev"
    and "Kassym-Jomart Tokayev" all name "Kassym-Jomart Tokayev".
    """
    wanted = _name_words(given)
    if not wanted:
        return True
    for candidate in (speaker, as_written):
        if not candidate:
            continue
        have = _name_words(candidate)
        if have and (wanted <= have or have <= wanted):
            return True
    return False


# -- finding quote marks -------------------------------------------------------------------


def _quoted_spans(text: str) -> list[tuple[int, int]]:
    """``(open, close)`` offsets of the marks around each quotation, paragraphs joined."""
    spans: list[tuple[int, int]] = []
    paragraphs = _paragraphs(text)
    open_at: int | None = None
    closer = ""
    for number, (p_start, p_end) in enumerate(paragraphs):
        i = p_start
        if open_at is not None:
            # a quote left open continues only if this paragraph opens with a quote mark
            first = text[p_start] if p_start < p_end else ""
            if first in _OPENERS and _OPENERS[first] == closer or first == '"' == closer:
                i = p_start + 1
            else:
                open_at = None
        while i < p_end:
            ch = text[i]
            if open_at is None:
                if ch in _OPENERS and _can_open(text, i):
                    open_at, closer = i, _OPENERS[ch]
            elif ch == closer and (closer != '"' or _can_close(text, i)):
                spans.append((open_at, i))
                open_at = None
            i += 1
        if open_at is not None and number == len(paragraphs) - 1:
            open_at = None
    return spans


def _paragraphs(text: str) -> list[tuple[int, int]]:
    spans, position = [], 0
    for m in _PARAGRAPH.finditer(text):
        spans.append((position, m.start()))
        position = m.end()
    spans.append((position, len(text)))
    return spans


def _can_open(text: str, i: int) -> bool:
    if text[i] != '"':
        return True
    before = text[i - 1] if i else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    return (before.isspace() or before in "([—–-:") and not after.isspace()


def _can_close(text: str, i: int) -> bool:
    before = text[i - 1] if i else " "
    return not before.isspace()


def _strip_span(text: str, open_at: int, close_at: int) -> tuple[int, int]:
    start, end = open_at + 1, close_at
    while start < end and text[start].isspace():
        start += 1
    # the comma before `,” he said` belongs to the attribution, not to the words
    while end > start and (text[end - 1].isspace() or text[end - 1] == ","):
        end -= 1
    return start, end


def _reads_like_speech(quoted: str) -> bool:
    return len(_WORD.findall(quoted)) >= 6 and bool(re.search(r"[.!?…,]\s*$|[.!?]\s", quoted))


# -- attribution ---------------------------------------------------------------------------


def _attribution(text: str, open_at: int, after: int) -> tuple[str | None, str | None, str | None]:
    """``(speaker phrase, cue verb, cue phrase as written)`` for the quote at these marks."""
    tail = text[after:after + 160].split("\n", 1)[0]
    # a cue after the quote belongs to it only up to the end of that sentence
    sentence = re.split(r"(?<=[.!?])\s|[“«]", tail, maxsplit=1)[0]
    m = _AFTER_VERB_SPEAKER.match(sentence)
    if m and m["verb"].lower() != "according to" and _looks_like_speaker(m["np"]):
        np_ = _trim_np(m["np"], leading=True)
        return np_, m["verb"], _phrase(sentence, m)
    m = _AFTER_SPEAKER_VERB.match(sentence)
    if m:
        np_ = _trim_np(m["np"])
        if np_ and _looks_like_speaker(np_):
            return np_, m["verb"], _phrase(sentence, m)
    m = re.match(r"^[,.!?…—–-]?\s*(?P<verb>according to)\s+(?P<np>[^,.;:!?“”\"«»\n]{2,80})",
                 sentence)
    if m:
        return m["np"].strip(), m["verb"], _phrase(sentence, m)
    head = text[max(0, open_at - 200):open_at]
    head = head.rsplit("\n", 1)[-1]
    # the clause that leads into the quote starts after the previous sentence
    clause = re.split(r"(?<=[.!?”»])\s+(?=[A-Z“«])", head)[-1]
    m = _BEFORE_ACCORDING.search(clause)
    if m:
        return m["np"].strip(), "according to", clause[m.start():].strip(" ,")
    m = _BEFORE.search(clause)
    if m:
        np_ = _trim_np(m["np"])
        if np_ and _looks_like_speaker(np_):
            phrase = clause[m.start("np") + m["np"].rfind(np_):].strip().rstrip(":,").strip()
            return np_, m["verb"], phrase
    return None, None, None


def _phrase(sentence: str, m: re.Match) -> str:
    return sentence[m.start():m.end()].strip(" ,.!?…—–-")


def _trim_np(np_: str, *, leading: bool = False) -> str:
    """The speaker part of a phrase: drop what comes before its last comma or clause word."""
    np_ = np_.strip()
    if not leading:
        np_ = re.split(r",\s*", np_)[-1]
        # "In his speech the minister" -> "the minister"; keep from the last determiner
        # or from the first capitalised run at the end
        words = np_.split()
        for i, w in enumerate(words):
            if w.lower() in {"the", "a", "an"} or w.lower() in _PRONOUNS:
                np_ = " ".join(words[i:])
                break
    else:
        np_ = re.split(r"\s+(?:who|which|that|in|at|on|during|as|to|after|before)\s+", np_)[0]
    return np_.strip()


def _looks_like_speaker(np_: str) -> bool:
    words = np_.split()
    if not words or len(words) > 9:
        return False
    first = words[0]
    return (first.lower() in _PRONOUNS or first.lower() in {"the", "a", "an"}
            or first[0].isupper())


def _people(text: str) -> list[tuple[str, str]]:
    """``(title, full name)`` for each full name in the text, e.g. ``("president",
    "Kassym-Jomart Tokayev")`` from "President Kassym-Jomart Tokayev"; ``""`` if untitled.

    "Minister of Energy Aigerim Nurlanova" gives ``("minister", "Aigerim Nurlanova")``:
    after an office's "of ..." the name is taken to be the last two words.
    """
    found = []
    for m in _NAME.finditer(text):
        words = m.group().split()
        while words and words[0].lower() in _NOT_NAMES:
            words.pop(0)
        # everything up to the last title word is the office: "Education Minister"
        cut = max((i + 1 for i, w in enumerate(words[:-1]) if w.lower().rstrip(".") in _TITLES
                   and (i + 1 == len(words) or words[i + 1] != "of" or i == 0)), default=0)
        if words and words[0].lower().rstrip(".") in _TITLES and "of" in words:
            cut = 1
        title = [w.lower().rstrip(".") for w in words[:cut]
                 if w.lower() not in {"acting", "former"}]
        words = words[cut:]
        if "of" in words:
            if not title or words[0] != "of" or len(words) < 4:
                continue  # "Republic of Kazakhstan" names no one
            words = words[-2:]
        if len(words) >= 2 and all(w[0].isupper() for w in words):
            found.append((" ".join(title), " ".join(words)))
    return found


def _resolve(np_: str, text: str, at: int, people: list[tuple[str, str]],
             previous: str | None) -> str:
    """The full name ``np_`` refers to when the text makes it unambiguous, else ``np_``."""
    words = np_.split()
    lowered = np_.lower().strip()
    if lowered in _PRONOUNS:
        if lowered in {"he", "she"}:
            # the person named last before the quote, else the last speaker quoted
            return _last_named(text, at, people) or previous or np_
        return np_
    # the name is the capitalised run at the end: "Chief engineer Maria Lopez"
    core: list[str] = []
    for w in reversed(words):
        if not w[0].isupper() or w.lower().rstrip(".") in _TITLES:
            break
        core.insert(0, w)
    if core:
        # a name: complete a surname from a fuller mention of the same person
        surname = core[-1]
        fuller = {name for _, name in people if name.split()[-1] == surname
                  and len(name.split()) >= len(core)}
        if len(fuller) == 1:
            return fuller.pop()
        if len(core) >= 2:
            return " ".join(core)
    role = re.sub(r"^(?:the|a|an)\s+", "", lowered)
    role = _ROLE_ALIASES.get(role, role)
    role = re.sub(r"^(?:acting|former)\s+", "", role)
    # "the minister" is the Education Minister, but not the Prime Minister
    holders = {name for title, name in people if title == role or (
        title.endswith(" " + role) and title.split()[-2] not in {"prime", "deputy", "vice"})}
    if len(holders) == 1:
        return holders.pop()
    return np_


def _last_named(text: str, at: int, people: list[tuple[str, str]]) -> str | None:
    window_start = max(0, at - 400)
    window = text[window_start:at]
    best, best_at = None, -1
    for _, name in people:
        for form in (name, name.split()[-1]):
            last = max((m.start() for m in re.finditer(rf"\b{re.escape(form)}\b", window)),
                       default=-1)
            if last > best_at:
                best, best_at = name, last
    return best


def _name_words(name: str) -> set[str]:
    words = {w.lower() for w in re.findall(r"[\w’'-]+", name)}
    return {w for w in words if w not in _TITLES and w not in {"the", "a", "an", "of"}}
