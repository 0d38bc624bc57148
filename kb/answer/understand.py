"""Message understanding: a pasted customer message reduced to the question(s) it asks.

Customers do not write FAQ questions: they greet, explain, get angry, paste order numbers
and phone numbers, thank, and sometimes ask two things at once. Retrieval and confidence
work best on the question itself, so before retrieval a message is reduced:

1. Personal data and reference numbers (``kb.privacy.find_personal_data``: phones, e-mail,
   order and waybill numbers, IDs…) are cut out, and chat speaker labels (``客户：``) at the
   start of a line are dropped.
2. The text is cut into sentences (。！？!?; and line breaks) and sentences into clauses
   (commas, spaces between Chinese words).
3. Each clause is *filler* (greetings, thanks, closings, emotion, contact details and their
   labels — nothing left once those phrases are removed), a *question* (a question word or
   particle, or the ``？`` that ends its sentence) or *context* (the description of the
   problem).
4. A topic marker at the start of a clause (另外, 还有, 还想问一下, 顺便问一下, also, by the
   way, and another thing…) after a question starts a new question: that is how customers
   join two questions. So does an enumeration item ("1. …", "2、…", "(1) …", "②"; the
   first item stays with what introduces it), and so does a sentence that asks a question
   of its own after a question (``_asks_anew``; so does a question clause right after a
   question clause of one sentence, joined by a comma or "and how …",
   ``_asks_after_question``): long enough to stand alone
   (``ALONE_QUESTION``), pointing back at nothing (这, 那, it), not opening as a
   continuation (如果, 那么, if, so…) and sharing no topic word (Chinese character pair,
   English word) with the question before. "快递丢了怎么办？能赔多少钱？" stays one
   question; "退款几天能到账？我的会员积分什么时候清零？" is two.
5. Each question becomes one retrieval query. A question of one sentence stays whole (it is
   already a question; a short question is never cut). From a longer message only its
   question clauses are kept, preceded by the context clauses just before them when the
   question leans on them (这种情况怎么办, is it lost?).

No model and no word lists of the sample knowledge base: the rules are about how people
write messages, in Chinese (Simplified and Traditional, compared in Simplified form) and
English. A message with no question at all keeps its context clauses; a message with
nothing left at all is returned as it was, so nothing is ever silently dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from haystack import component, default_from_dict, default_to_dict

from kb.privacy import TAGS, find_personal_data
from kb.text import to_simplified

#: At most this many questions are taken from one message; later ones join the last.
MAX_QUESTIONS = 3

_SPEAKER = re.compile(
    r"^[ \t]*(?:客户|顾客|用户|买家|客人|customer|user|client|buyer)[ \t]*[:：]", re.I | re.M
)
_MASK_TAG = re.compile("|".join(re.escape(tag) for tag in TAGS.values()))
_SENTENCE = re.compile(r"[^。！？!?；;\n…]+[。！？!?；;\n…]*|[。！？!?；;\n…]+")
_ENGLISH_STOP = re.compile(r"(?<=[a-z0-9)\"'])\.(?=\s|$)", re.I)
_CLAUSE = re.compile(
    r"[，,～~]+|(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])"
    r"|\s+and\s+(?=(?:how|what|when|where|why|which|who|can|could|do|does|is|are|will|"
    r"should)\b)",
    re.I,
)
_CONTENT = re.compile(r"[0-9A-Za-z\u4e00-\u9fff]")

#: Greetings, thanks, closings, emotion and contact labels, in Simplified Chinese.
_FILLER_ZH = re.compile(
    "|".join(
        [
            # greetings and address
            r"你好+|您好+|哈+喽|嗨|哈啰|喂+|在(?:的|不)?[吗嘛么]|在不在|有人(?:在)?吗|亲爱的|亲|早上好|上午好",
            r"中午好|下午好|晚上好|早安|客服(?:小姐姐|小哥哥|小哥|小姐|大大|同学|妹妹|美女|帅哥)?",
            r"老板|老师|小姐姐|美女|打扰(?:一下|了|您了)?|不好意思|冒昧问一下",
            r"(?:麻烦|我)?(?:想)?(?:问|咨询)一?下|请问(?:一下)?",
            # thanks and closings
            r"谢谢(?:你们|您|啦|了|你)?|多谢|感谢(?:你们|您)?|辛苦(?:了|啦|你们了)?",
            r"拜托(?:了|拜托|你们了)?|麻烦(?:了|你们了|您了)?",
            r"麻烦(?:尽快|快点|赶紧)?(?:回复|回|处理|看看|帮忙看看|帮我看看)(?:我|一下)?",
            r"等(?:你们|您)?的?回复|尽快回(?:复)?我?|盼复|在线等|急+|着急|很急|十万火急",
            r"希望(?:这次)?能?给(?:个|我)?(?:准话|答复|回复|说法)|我已经(?:问|咨询|打)了好几次了?",
            # emotion
            r"气死(?:我)?了|烦死了|受够了|无语|崩溃|郁闷|心累|太过分了|说实话|真的|真是",
            r"我?(?:有点|很|非常|特别|太)?(?:失望|生气|着急|担心|怀疑|不满|愤怒|难过|焦虑)",
            r"(?:对你们的)?服务(?:有点|很|太)?(?:差|失望)",
            # contact details and their labels (the numbers themselves are cut out before)
            r"有(?:消息|进展|结果)(?:请|麻烦)?(?:联系|通知|告诉)我",
            r"(?:我的?|收件人|寄件人|联系)?(?:电话|手机号?码?|号码|邮箱|微信|qq|联系方式)"
            r"(?:是|为|:|：)?",
            r"(?:订单|运单|快递单|物流单)?(?:单号|编号)(?:是|为|:|：)?|姓[\u4e00-\u9fff]",
            r"(?:我叫|我的名字是|我的名字叫|本人)[\u4e00-\u9fff]{1,4}",
            r"[吧呀啊哦啦哈了的]+",  # not 呢 or 嘛: 钱呢? is a question
        ]
    )
)
#: The same in English, as whole words.
_FILLER_EN = re.compile(
    r"\b(?:"
    + "|".join(
        [
            r"hello|hi|hey|dear|there|good (?:morning|afternoon|evening)|sorry to bother you",
            r"thanks?(?: a lot| so much| in advance)?|thank you(?: so much| very much)?",
            r"please (?:help|reply)(?: asap| soon)?|asap|regards|cheers|best wishes",
            r"i(?:'m| am) (?:really |so |very )?(?:worried|upset|angry|frustrated|annoyed)",
            r"(?:my )?(?:number|phone|email|order|tracking|waybill)(?: number)?(?: is)?",
            r"(?:my name is|this is|i am|i'm) [a-z]+(?: [a-z]+)?",
            r"two things|a few things|several things|quick question|one more thing",
        ]
    )
    + r")\b",
    re.I,
)

_QUESTION_CUE = re.compile(
    r"吗|么|怎|如何|多少|多久|多长|(?<![好十])几[天点个倍号时次年月周钱块]|什么|啥|哪|能不能|可不可以|可以不|"
    r"是不是|为什么|为何|要不要|有没有|咋|行不行|行吗|是否|谁|呢|能否|会不会|算不算|对不对|"
    r"有啥|难道|^(?:how|what|when|where|why|which|who|whom|whose|can|could|is|are|am|was|"
    r"do|does|did|will|would|should|shall|may|might|have|has)\b",
    re.I,
)
_TOPIC_MARKER = re.compile(
    r"^(?:§|另外|还想(?:问|咨询)一?下?|还要问一?下?|再一个|还有(?:一个问题|个问题|一件事|就是|一个)?(?![0-9零一二三四五六七八九十两几多半天人])|"
    r"顺便(?:问一?下|说一?下|问问|咨询一?下)?|再(?:问|咨询)一?下|其次|其二|第二个问题|"
    r"第二(?=[:：,，、])|以及|此外|"
    r"(?:and )?also(?=[\s,:]|$)|(?:and )?(?:another|one more) (?:question|thing)|besides|"
    r"by the way|btw|secondly)"
    r"[\s:：,，、]*",
    re.I,
)
_DEICTIC = re.compile(
    r"这|那|此|这种|这样|该|^(?:is|was|does|did|will) (?:it|this|that)\b|\bit\b", re.I
)
#: Question clauses with fewer content characters than this lean on their context.
SHORT_QUESTION = 8
#: A sentence's question needs this size (``_size``) to stand alone as a new one.
ALONE_QUESTION = 10
#: Two questions sharing this many topic words (``_topic_words``) are about one thing.
SHARED_TOPIC_WORDS = 1
_ENGLISH_COMMON = frozenset(
    [
        "about",
        "also",
        "been",
        "does",
        "from",
        "have",
        "just",
        "like",
        "make",
        "much",
        "really",
        "some",
        "than",
        "that",
        "them",
        "then",
        "there",
        "they",
        "this",
        "want",
        "what",
        "when",
        "where",
        "which",
        "will",
        "with",
        "would",
        "your",
    ]
)
#: An enumeration item ("1. …", "2、…", "(1) …", "②"): replaced by the item mark ``§``,
#: which ``_TOPIC_MARKER`` reads as the start of a new question.
_ITEM = re.compile(
    r"(?:(?<=^)|(?<=[\s。！？!?；;:：,，]))(?:[(（]\d{1,2}[)）]|\d{1,2}[.、)）](?!\d)|[①-⑨])\s*",
    re.M,
)
#: Words that open a sentence continuing the one before (if, then, so…), never a new topic.
_CONTINUES = re.compile(
    r"^(?:那|那么|如果|要是|假如|但是|但|可是|不过|所以|然后|而且|并且|还是|或者|就是|"
    r"(?:if|then|so|but|or|and then|what if|in that case)\b)",
    re.I,
)


@dataclass(frozen=True)
class Clause:
    """One clause of a message: its text and kind (``question``, ``context`` or ``filler``)."""

    text: str
    kind: str
    new_topic: bool = False
    sentence: int = 0
    item: bool = False  # opens an enumeration item ("1. …")


def _cut_personal_data(text: str) -> str:
    """``text`` without personal data, reference numbers and chat speaker labels."""
    for found in reversed(find_personal_data(text)):
        text = text[: found.start] + " " + text[found.end :]
    text = _MASK_TAG.sub(" ", _SPEAKER.sub("", text))  # already masked: a logged message
    return re.sub(r"[(（]\s*[)）]", " ", text)


def _content(text: str) -> str:
    """The letters, digits and Chinese characters of ``text``."""
    return "".join(_CONTENT.findall(text))


def _kind(clause: str, ends_with_question_mark: bool, last: bool) -> str:
    """``filler``, ``question`` or ``context`` (see the module docstring)."""
    simple = to_simplified(clause).lower().strip()
    rest = _content(_FILLER_EN.sub(" ", _FILLER_ZH.sub(" ", simple)))
    if len(rest) < 2:
        return "filler"
    if _QUESTION_CUE.search(simple) or (ends_with_question_mark and last):
        return "question"
    return "context"


def split_clauses(message: str) -> list[Clause]:
    """The clauses of ``message`` in order, each with its kind (personal data cut out)."""
    text = _ITEM.sub("\n§", _cut_personal_data(message))
    text = _ENGLISH_STOP.sub(".\n", text)
    out: list[Clause] = []
    pending = False  # a topic marker standing alone ("还有，…") marks the next clause
    item = False
    for number, sentence in enumerate(_SENTENCE.findall(text)):
        asks = bool(re.search(r"[？?]", sentence))
        body = sentence.strip().rstrip("。！？!?；;….").strip()
        parts = [p.strip(" \t:：") for p in _CLAUSE.split(body) if p.strip(" \t:：")]
        for i, part in enumerate(parts):
            marker = _TOPIC_MARKER.match(to_simplified(part).lower())
            if marker:
                part = part[marker.end() :].strip()
            pending = pending or bool(marker)
            item = item or bool(marker and marker.group().startswith("§"))
            kind = _kind(part, asks, i == len(parts) - 1) if part else "filler"
            if kind != "filler":
                out.append(Clause(part, kind, pending, number, item))
                pending = item = False
    return out


def _segments(clauses: list[Clause], max_questions: int) -> list[list[Clause]]:
    """Clauses grouped into questions: a topic marker (or an enumeration item) after a
    question starts a new one, and so does a sentence that asks a question of its own
    (``_asks_anew``)."""
    sentences: dict[int, list[Clause]] = {}
    for clause in clauses:
        sentences.setdefault(clause.sentence, []).append(clause)
    segments: list[list[Clause]] = [[]]
    previous = -1
    for clause in clauses:
        current = segments[-1]
        if clause.sentence != previous:
            opens = _asks_anew(sentences[clause.sentence], current)
        else:
            opens = _asks_after_question(clause, current)
        previous = clause.sentence
        # the first item of a list ("我有两个问题：1. …") belongs with what introduces it
        marked = clause.new_topic and (not clause.item or _asks(current))
        if (marked or opens) and current and len(segments) < max_questions:
            segments.append([clause])
        else:
            current.append(clause)
    return [s for s in segments if s]


def _asks_after_question(clause: Clause, current: list[Clause]) -> bool:
    """True when a question clause right after a question clause of the same sentence
    asks anew by the rule of ``_asks_anew`` (two questions joined by a comma or by
    "and how …"): "锂电池能寄吗，上门取件要提前多久预约" is two; "快递丢了怎么办，能赔多少钱"
    is one (the second is too short to stand alone)."""
    if clause.kind != "question" or not current or current[-1].kind != "question":
        return False
    return _asks_anew([clause], current)


def _asks_anew(sentence: list[Clause], current: list[Clause]) -> bool:
    """True when ``sentence`` asks a question of its own after ``current`` asked one: it
    has a question clause long enough to stand alone, points back at nothing (这, it) and
    does not open as a continuation (那, 如果, if, so…)."""
    if not _asks(current):
        return False
    asked = "，".join(c.text for c in sentence if c.kind == "question")
    if _size(asked) < ALONE_QUESTION:
        return False
    text = to_simplified("，".join(c.text for c in sentence)).lower()
    if _DEICTIC.search(text) or _CONTINUES.match(text):
        return False
    before = to_simplified("，".join(c.text for c in current)).lower()
    return len(_topic_words(text) & _topic_words(before)) < SHARED_TOPIC_WORDS


def _size(text: str) -> int:
    """How much a text says: its Chinese characters, and two for each word of letters or
    digits (an English word says about what two Chinese characters do)."""
    return len(re.findall(r"[\u4e00-\u9fff]", text)) + 2 * len(re.findall(r"[0-9A-Za-z]+", text))


def _asks(clauses: list[Clause]) -> bool:
    """True when one of ``clauses`` is a question."""
    return any(c.kind == "question" for c in clauses)


def _topic_words(text: str) -> set[str]:
    """What a text is about, to compare two questions: its Chinese character pairs and
    English words of four letters or more, question words left out."""
    plain = _QUESTION_CUE.sub(" ", text)
    words = {w for w in re.findall(r"[a-z]{4,}", plain) if w not in _ENGLISH_COMMON}
    for run in re.findall(r"[\u4e00-\u9fff]+", plain):
        words.update(run[i : i + 2] for i in range(len(run) - 1))
    return words


def _query(segment: list[Clause]) -> str:
    """The retrieval query of one question (see the module docstring).

    A question in one sentence is kept whole (it is already a question); from a longer
    message only the question clauses are kept, with the two context clauses just before
    them when they lean on them (short, or pointing back: 这种情况, is it).
    """
    questions = [c for c in segment if c.kind == "question"]
    if not questions or len({c.sentence for c in segment}) == 1:
        return "，".join(c.text for c in segment)
    first = segment.index(questions[0])
    before = [c.text for c in segment[:first] if c.kind == "context"]
    asked = "，".join(c.text for c in questions)
    leans = len(_content(asked)) < SHORT_QUESTION or _DEICTIC.search(to_simplified(asked))
    return "，".join([*before[-2:], asked]) if before and leans else asked


@dataclass(frozen=True)
class Question:
    """One question of a message: its retrieval query, and whether it was asked as a
    question (False: a described problem without a question of its own)."""

    text: str
    asked: bool
    alternatives: tuple[str, ...] = ()


def _alternatives(segment: list[Clause], query: str) -> tuple[str, ...]:
    """Other readings of one question of a longer message, to try when ``query`` finds no
    confident answer: its question clauses alone, and its question sentences whole. A
    question of one sentence has none (it is read whole)."""
    questions = [c for c in segment if c.kind == "question"]
    asking = {c.sentence for c in questions}
    if not questions or len({c.sentence for c in segment}) == 1:
        return ()
    readings = [
        "，".join(c.text for c in questions),
        "，".join(c.text for c in segment if c.sentence in asking),
    ]
    return tuple(r for r in dict.fromkeys(readings) if r and r != query)


def read_message(message: str, max_questions: int = MAX_QUESTIONS) -> list[Question]:
    """The questions ``message`` asks (see the module docstring); never empty: a message with
    nothing recognisable left is returned stripped, as one question."""
    if max_questions < 1:
        raise ValueError("max_questions must be at least 1")
    out = []
    for segment in _segments(split_clauses(message), max_questions):
        query = _query(segment)
        if query:
            asked = any(c.kind == "question" for c in segment)
            out.append(Question(query, asked, _alternatives(segment, query)))
    return out or [Question(message.strip(), True)]


def same_words(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ at most in punctuation and spaces."""
    return _content(a).lower() == _content(b).lower()


def reduce_message(message: str, max_questions: int = MAX_QUESTIONS) -> list[str]:
    """The retrieval queries of the questions ``message`` asks (``read_message``)."""
    return [q.text for q in read_message(message, max_questions)]


@component
class MessageReducer:
    """Haystack component: a pasted message -> the question(s) it asks (``reduce_message``)."""

    def __init__(self, max_questions: int = MAX_QUESTIONS) -> None:
        """``max_questions``: at most this many questions per message (later ones join the last)."""
        if max_questions < 1:
            raise ValueError("max_questions must be at least 1")
        self.max_questions = max_questions

    @component.output_types(questions=list[str])
    def run(self, message: str) -> dict[str, Any]:
        """``questions``: the retrieval queries, in the order the message asks them."""
        return {"questions": reduce_message(message, self.max_questions)}

    def to_dict(self) -> dict[str, Any]:
        """Serialise the init parameters."""
        return default_to_dict(self, max_questions=self.max_questions)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MessageReducer:
        """Rebuild from ``to_dict`` output."""
        return default_from_dict(cls, data)
