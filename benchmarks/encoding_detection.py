"""How often are short Chinese texts decoded right: charset-normalizer alone vs kb?

Encodes a few short policy-like lines (Simplified in GBK, Traditional in GBK and Big5)
and a few Japanese ones (Shift-JIS, EUC-JP), then counts, for charset-normalizer's best
match and for ``kb.formats.encoding.decode_text``, how many Chinese texts come back
exactly and how many Japanese texts are refused (kb) or not decoded as a Chinese
encoding (charset-normalizer). Takes a second.

    .venv/bin/python benchmarks/encoding_detection.py
"""

from __future__ import annotations

from charset_normalizer import from_bytes

from kb.errors import InvalidInput
from kb.formats.encoding import decode_text

SIMPLIFIED = [
    "停运通知\n春节期间暂停揽收。\n",
    "运费",
    "退款",
    "第3条 退款 refund 5元以内免运费",
    "保价服务：声明价值的1%收取保价费，最低1元。",
    "快递丢了怎么赔？按照声明价值赔偿。",
    "会员积分规则\n1. 每消费1元积1分。\n2. 积分有效期为12个月。\n",
    "客服热线400-123-4567，工作时间9:00-18:00。",
    "网点营业时间调整公告",
    "禁寄物品目录：易燃易爆物品、管制刀具、毒品。",
]
TRADITIONAL = [
    "停運通知\n春節期間暫停攬收。\n",
    "運費",
    "退款",
    "第3條 退款 refund 5元以內免運費",
    "保價服務：聲明價值的1%收取保價費，最低1元。",
    "快遞丟了怎麼賠？按照聲明價值賠償。",
    "會員積分規則\n1. 每消費1元積1分。\n2. 積分有效期為12個月。\n",
    "客服熱線400-123-4567，工作時間9:00-18:00。",
    "網點營業時間調整公告",
    "禁寄物品目錄：易燃易爆物品、管制刀具、毒品。",
]
JAPANESE = [
    "返金ポリシー\nお客様は受け取り後七日以内に返品を申請できます。\n",
    "配送料金は全国一律です。お問い合わせは平日9時から18時まで受け付けます。",
    "返品",
]
CHINESE_CODECS = ("gb18030", "gbk", "gb2312", "big5", "big5hkscs", "cp950", "hz")


def detector_text(data: bytes) -> tuple[str | None, str | None]:
    """charset-normalizer's best match: (encoding, text)."""
    best = from_bytes(data).best()
    return (best.encoding, str(best)) if best is not None else (None, None)


def kb_text(data: bytes) -> str | None:
    """kb's decoding, or None when kb refuses the bytes."""
    try:
        return decode_text(data, "sample.txt")
    except InvalidInput:
        return None


def main() -> None:
    """Print the counts."""
    chinese = [(t, "gbk") for t in SIMPLIFIED + TRADITIONAL] + [(t, "big5") for t in TRADITIONAL]
    detector_ok = sum(detector_text(t.encode(e))[1] == t for t, e in chinese)
    kb_ok = sum(kb_text(t.encode(e)) == t for t, e in chinese)
    print(f"short Chinese texts decoded exactly, of {len(chinese)}:")
    print(f"  charset-normalizer alone  {detector_ok}")
    print(f"  kb decode_text            {kb_ok}")
    japanese = [(t, e) for t in JAPANESE for e in ("shift_jis", "euc_jp")]
    detector_safe = sum(
        (detector_text(t.encode(e))[0] or "") not in CHINESE_CODECS for t, e in japanese
    )
    kb_safe = sum(kb_text(t.encode(e)) is None for t, e in japanese)
    print(f"Japanese texts not read as Chinese, of {len(japanese)}:")
    print(f"  charset-normalizer alone  {detector_safe}")
    print(f"  kb decode_text (refused)  {kb_safe}")


if __name__ == "__main__":
    main()
