"""English coverage: every page rendered with ?lang=en shows no Chinese outside data (names, case content, marked
with a `data-content` attribute or `lang="zh-CN"`); the case documents are bilingual legal texts (every heading in
both languages)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from tests.support.onemap import b
from tests.test_cases_api import homestead
from tests.test_web_review import csrf, login
from web.i18n import has_cjk, messages

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
TEXT_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")


GLOSS = re.compile(r"\s*[(（][^()（）]*[)）]")


def untranslated(text: str) -> bool:
    """Chinese in an English text, other than a gloss of an English term in brackets: "Farmland (农用地)"."""
    rest = GLOSS.sub(lambda m: "" if has_cjk(m.group(0)) else m.group(0), text)
    return has_cjk(rest) or (has_cjk(text) and not re.search(r"[A-Za-z]{2}", rest))


class ChromeText(HTMLParser):
    """Collect the page's own text (and its visible attributes) outside scripts, styles and data regions."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.found: list[str] = []

    def _exempt(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        exempt = (
            self._exempt()
            or tag in ("script", "style", "svg")
            or "data-content" in a
            or (a.get("lang") or "").startswith("zh")
        )
        if not exempt:
            self.found += [f"@{tag}[{k}]={a[k]}" for k in TEXT_ATTRIBUTES if a.get(k) and untranslated(a[k] or "")]
        if tag not in VOID:
            self.stack.append((tag, exempt))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if not self._exempt() and untranslated(data):
            self.found.append(data.strip())


def chinese_chrome(html: str) -> list[str]:
    parser = ChromeText()
    parser.feed(html)
    return parser.found


def test_the_scanner_sees_chrome_and_skips_data():
    html = (
        '<p>Case <b data-content>张三 <i>李四</i></b> <span title="暂定">x</span><br>待审查</p>'
        '<a lang="zh-CN">中文</a><script>var a = "中文";</script><input placeholder="理由">'
    )
    assert chinese_chrome(html) == ["@span[title]=暂定", "待审查", "@input[placeholder]=理由"]
    assert chinese_chrome("<th>Farmland (农用地)</th><td>（农用地）</td>") == ["（农用地）"]


def test_every_english_message_is_english():
    assert [k for k, v in messages().items() if not v.get("en") or (untranslated(v["en"]) and k != "language")] == []


@pytest.fixture
def site(api, one_map, staff):
    client = api.client
    decided = homestead(api).json()
    code = decided["query_code"]
    decided = api.move(decided, "accept").json()
    for task in decided["tasks"]:
        reviewer = next(u for u, s in staff.items() if s.get("department") == task["department"])
        decided = api.post(
            f"/api/v1/cases/{decided['id']}/tasks/{task['id']}",
            as_=reviewer,
            json={"version": decided["version"], "result": "agree", "opinion": "同意"},
        ).json()
    decided = api.move(decided, "approve", as_="leader").json()
    assert decided["status"] == "approved", decided
    reviewing = homestead(api, b(60, 240, 70, 250), household="HH4").json()  # beside the approved plot, not on it
    assert api.move(reviewing, "accept").json()["status"] == "in_review"
    waiting = homestead(api, b(75, 240, 85, 250), materials=["application_form"], household="HH3").json()
    assert api.post(f"/api/v1/cases/{waiting['id']}/notices").status_code == 201
    yield client, api, decided, code, waiting, reviewing


def english(client: TestClient, path: str, **kw) -> tuple[int, str]:
    sep = "&" if "?" in path else "?"
    r = client.post(path + sep + "lang=en", **kw) if "data" in kw else client.get(path + sep + "lang=en")
    return r.status_code, r.text


def test_every_page_in_english_has_no_chinese_chrome(site):
    client, api, decided, code, waiting, reviewing = site
    pages: dict[str, tuple[int, str]] = {}
    client.cookies.clear()
    pages["login"] = english(client, "/login")
    pages["map"] = english(client, "/map")
    pages["portal"] = english(client, "/portal")
    token = csrf(pages["portal"][1])
    pages["portal case"] = english(
        client, "/portal", data={"csrf_token": token, "case_no": decided["case_no"], "query_code": code}
    )
    pages["portal wrong code"] = english(
        client, "/portal", data={"csrf_token": token, "case_no": decided["case_no"], "query_code": "WRONG"}
    )
    pages["unknown page"] = english(client, "/no-such-page")
    for who, password in (
        ("clerk", "clerk-demo-2026"),
        ("rev-village", "reviewer-demo-2026"),
        ("leader", "leader-demo-2026"),
    ):
        login(client, who, password)
        pages[f"workbench {who}"] = english(client, "/workbench")
        pages[f"case {who}"] = english(client, f"/cases/{decided['id']}")
        pages[f"case in review {who}"] = english(client, f"/cases/{reviewing['id']}")
    assert (
        'id="review-form"' in pages["case in review rev-village"][1]
        and 'id="my-reviews"' in pages["workbench rev-village"][1]
    )
    login(client, "clerk", "clerk-demo-2026")
    pages["intake"] = english(client, "/cases/new")
    pages["case with notice"] = english(client, f"/cases/{waiting['id']}")
    pages["case not found"] = english(client, "/cases/999999")
    login(client, "leader", "leader-demo-2026")
    pages["reports"] = english(client, "/reports/monthly?month=" + decided["received_at"][:7])
    pages["callbacks"] = english(client, "/callbacks?month=2026-01")
    pages["filings"] = english(client, "/filings")
    untranslated_by_page = {}
    for name, (status, html) in pages.items():
        assert status == (404 if "not found" in name or "unknown" in name or "wrong" in name else 200), (name, status)
        assert '<html lang="en">' in html, name
        if found := chinese_chrome(html):
            untranslated_by_page[name] = found
    assert untranslated_by_page == {}, "\n".join(f"{k}: {v}" for k, v in untranslated_by_page.items())


def test_case_documents_are_bilingual(site):
    client, api, decided, code, waiting, reviewing = site
    login(client, "clerk", "clerk-demo-2026")
    docs = {
        path: client.get(f"/cases/{decided['id']}/{path}?lang=en")
        for path in ("receipt", "check-report", "decision", "certificate")
    }
    docs["notice"] = client.get(f"/cases/{waiting['id']}/notice?lang=en")
    for path, r in docs.items():
        assert r.status_code == 200, path
        assert re.search(r'<div class="en">[A-Za-z]', r.text), path  # the title in English under the Chinese one
        for heading in re.findall(r"<h2>(.*?)</h2>", r.text, re.S):
            assert has_cjk(heading) and re.search(r"[A-Za-z]{3}", heading), (path, heading)


def test_the_planner_page_in_english(site):
    client, api, decided, code, waiting, reviewing = site
    login(client, "planner", "planner-demo-2026")
    for path in ("/planner", "/planner/audit"):
        status, html = english(client, path)
        assert status == 200 and chinese_chrome(html) == [], path


def test_a_bilingual_message_splits_also_after_full_width_punctuation():
    from web.i18n import in_lang

    text = "案件已被他人修改（当前版本 3，提交版本 2）/ the case changed meanwhile (version 3, you sent 2)"
    assert in_lang(text, "en") == "the case changed meanwhile (version 3, you sent 2)"
    assert in_lang("文件无法读取 / cannot read a/b.txt", "en") == "cannot read a/b.txt"
    assert in_lang(text, "zh") == text
