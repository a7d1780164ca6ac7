"""Personal data of applicants: validation of ID numbers and phones, and masking for lists and logs."""

from __future__ import annotations

import logging
import re

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
_USCC = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def valid_resident_id(number: str) -> bool:
    """Return whether an 18-digit resident ID number (GB 11643) has a correct check digit."""
    n = number.strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", n):
        return False
    total = sum(int(d) * w for d, w in zip(n[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == n[17]


def valid_credit_code(code: str) -> bool:
    """Return whether a unified social credit code (GB 32100) is well formed with a correct check character."""
    c = code.strip().upper()
    if not _USCC.fullmatch(c):
        return False
    total = sum(_USCC_CHARS.index(ch) * w for ch, w in zip(c[:17], _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31] == c[17]


def valid_phone(phone: str) -> bool:
    """Return whether a phone number is a mainland mobile or landline number."""
    return bool(_MOBILE.fullmatch(phone.strip()) or _LANDLINE.fullmatch(phone.strip()))


def valid_mobile(phone: str | None) -> bool:
    """Return whether a number can receive text messages (a mainland mobile number)."""
    return bool(phone and _MOBILE.match(phone.strip()))


def mask_id(number: str | None) -> str | None:
    """Mask an ID number, keeping the region code and the last four characters."""
    if not number:
        return number
    return number[:6] + "*" * max(0, len(number) - 10) + number[-4:] if len(number) > 10 else "*" * len(number)


def mask_phone(phone: str | None) -> str | None:
    """Mask a phone number, keeping the first three and last four digits."""
    if not phone:
        return phone
    return phone[:3] + "*" * max(0, len(phone) - 7) + phone[-4:] if len(phone) > 7 else "*" * len(phone)


def mask_name(name: str | None) -> str | None:
    """Mask a person's name for public lists (张三 → 张*, 欧阳娜娜 → 欧***)."""
    if not name:
        return name
    return name[0] + "*" * (len(name) - 1)


# In free text (log lines, URLs with query strings): an 18-character resident ID and an 11-digit mobile number,
# each not part of a longer run of digits or letters.
_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_MOBILE_IN_TEXT = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?1[3-9]\d{9}(?![0-9])")


def mask_text(text: str) -> str:
    """Mask every resident ID number and mobile number in a piece of text."""
    text = _ID_IN_TEXT.sub(lambda m: mask_id(m.group()) or "", text)
    return _MOBILE_IN_TEXT.sub(lambda m: mask_phone(m.group()) or "", text)


def _masked(value: object) -> object:
    return mask_text(value) if isinstance(value, str) else value


class PersonalDataFilter(logging.Filter):
    """Mask ID numbers and mobile numbers in a log record's message, arguments and exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place; never drops it."""
        if isinstance(record.msg, str):
            record.msg = mask_text(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_masked(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _masked(v) for k, v in record.args.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        return True


_LOG_FILTER = PersonalDataFilter()


def install_log_masking() -> None:
    """Mask personal data in every log record of the process, whichever logger or handler it goes to.

    A filter on a logger sees only records logged on that very logger, and uvicorn configures its handlers after
    the app is built; the record factory sees every record as it is made, so it is where the filter runs.
    """
    factory = logging.getLogRecordFactory()
    if getattr(factory, "masks_personal_data", False):
        return

    def masked_record(*args: object, **kwargs: object) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        _LOG_FILTER.filter(record)
        return record

    masked_record.masks_personal_data = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(masked_record)
