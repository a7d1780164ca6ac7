"""Personal data of applicants: validation of ID numbers and phones, and masking for lists and logs."""

from __future__ import annotations

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
