"""Visitor-supplied text (a URL parameter, a typed word) made safe to quote inside our own Markdown.

`st.info`, `st.warning`, `st.caption` and `st.markdown` render Markdown (with GitHub extensions, and
Streamlit's own `:emoji:`, `:red[...]` and `$math$`). A value pasted into such a message as-is could
turn into a link, an image fetched from someone else's server, a heading or a coloured banner.
`user_text` shortens the value, replaces control and invisible formatting characters (newlines,
bidirectional overrides, zero-width characters) with "�", and puts a backslash before every ASCII
punctuation character. CommonMark lets any ASCII punctuation be backslash-escaped, so the result
renders as exactly the characters the visitor typed, and no set of "special" characters needs to
track the Markdown dialect.

Example:
    >>> print(user_text("[x](http://e.vil)"))
    \\[x\\]\\(http\\:\\/\\/e\\.vil\\)
    >>> print(user_text("<img src=x>"))
    \\<img src\\=x\\>
    >>> print(user_text("line one\\nline two", limit=10))
    line one�…
    >>> user_text("abc")
    'abc'

For Markdown elements only. In HTML (`unsafe_allow_html=True`, `app.glossary.with_tooltips`) use
`html.escape` on the raw value instead: a backslash means nothing there.
"""
from __future__ import annotations

import string
import unicodedata

_PUNCT = frozenset(string.punctuation)  # !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~
_REPLACEMENT = "\N{REPLACEMENT CHARACTER}"


def _visible(ch: str) -> str:
    # C*: control, format (bidi overrides, zero-width), surrogate, private use, unassigned;
    # Zl/Zp: line and paragraph separators
    return _REPLACEMENT if unicodedata.category(ch)[0] == "C" or unicodedata.category(ch) in ("Zl", "Zp") else ch


def user_text(value, limit: int = 40) -> str:
    """`value` (anything; `str()` is taken) shortened to at most `limit` characters ("…" included) with
    control characters replaced by "�" and every ASCII punctuation character backslash-escaped, so that
    Markdown renders it as literal text: no links, images, HTML, emphasis, headings, emoji or maths."""
    s = "".join(_visible(ch) for ch in str(value))
    limit = max(1, int(limit))
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return "".join("\\" + ch if ch in _PUNCT else ch for ch in s)
