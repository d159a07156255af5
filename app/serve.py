"""Start the app warm: PyTorch imported, the models loaded and the default text prepared before the
server opens, so the first visitor waits for none of it; and without Streamlit's "Page not found"
box on the first visit (see `use_navigation_only`).

    python -m app.serve [any `streamlit run` options, e.g. --server.port 8501]

Equivalent to `streamlit run streamlit_app.py [options]` otherwise.
"""
from __future__ import annotations

import sys
from pathlib import Path

ENTRY = Path(__file__).resolve().parent.parent / "streamlit_app.py"


def preload() -> None:
    """Before the server opens: import PyTorch and the app, load the models into the app's shared cache
    and prepare the default text's step-through (about 2 s), so the first visitor waits for none of it."""
    import logging

    from app import loaders, views
    from app.state import prepare_prompt
    from app.texts import DEFAULT_PROMPT

    # Streamlit warns about cached calls outside a page run; harmless here.
    for name in ("streamlit.runtime.scriptrunner_utils.script_run_context", "streamlit.runtime.caching.cache_data_api"):
        logging.getLogger(name).setLevel(logging.ERROR)

    loaders.require_models()
    ids = tuple(prepare_prompt(DEFAULT_PROMPT, loaders.encode).ids)
    views.read_along(ids, ("prompt",) * len(ids))
    warm_streamlit()
    warm_race_charts()
    start_cost_race_if_none_kept()


def warm_streamlit() -> None:
    """What Streamlit loads on first use, done before the first visitor: its emoji list for the page icon.
    (Tables are Markdown, `app.ui.table`: no pandas or pyarrow on a page run.)"""
    from streamlit.string_util import is_emoji

    is_emoji("🪶")


def warm_race_charts() -> None:
    """Build the kept race's charts once, into the cache the Cost race page reads (Plotly also loads its
    chart code on first use, ~0.5 s), so none of it lands on the first visitor."""
    from app import race_cache, race_view

    result = race_cache.runner().snapshot(race_cache.STANDARD_TOKENS).result
    if result is not None:
        race_view.race_charts(result, race_view.result_key(result, race_cache.STANDARD_TOKENS))


def start_cost_race_if_none_kept() -> None:
    """On a machine with no cost race kept yet, race now in the background, so the Cost race page has a
    measurement when someone opens it. With one kept, the page shows it at once and refreshes it on its
    first visit; a server start then costs the room no race while people join."""
    from app import race_cache

    runner = race_cache.runner()
    if runner.snapshot(race_cache.STANDARD_TOKENS).result is None:
        runner.ensure_started()


def use_navigation_only() -> None:
    """Tell Streamlit, before the first visitor, that this app's pages come from `st.navigation` only.

    Streamlit 1.67 decides on the first session of a process whether the app is an old-style
    multipage app: a `pages/` folder beside the entry script makes it so
    (`PagesManager.uses_pages_directory`, runtime/pages_manager.py). That first run then builds its
    pages from the folder's file names (`read_along`, not our `read-along`), cannot find the page in the
    link, sends `page_not_found` (the "Page not found" box) and only then runs `st.navigation`, which
    clears the flag for good (commands/navigation.py). Clearing it first gives every visitor, the
    first one included, the page their link names.
    """
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False


def main(argv: list[str] | None = None) -> None:
    use_navigation_only()
    preload()
    from streamlit.web import cli as stcli

    sys.argv = ["streamlit", "run", str(ENTRY), *(sys.argv[1:] if argv is None else argv)]
    sys.exit(stcli.main())


if __name__ == "__main__":
    main()
