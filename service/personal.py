"""Personal data of applicants: validation of ID numbers and phones, and masking for lists and logs."""

from __future__ import annotations

import re

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
_USCC = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def valid_resident_id(number: str) -> bool:
    """Return whether an 18-digit resident ID number (GB 11643) has a correct check digit."""
    n = number.strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", n):
        return False
    total = sum(int(d) * w for d, w in zip(n[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == n[17]


def valid_credit_code(code: str) -> bool:
    """Return whether a unified social credit code (GB 32100) is well formed."""
    return bool(_USCC.fullmatch(code.strip().upper()))


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
