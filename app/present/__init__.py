"""Presenting the explainer: the talk track (`talk.py`, the built-in `talk.toml`: views as exact deep
links with speaker notes, minutes and polls), the presenter console (`console.py`: one in-browser
component that steps through the talk and drives a projector window, drawn by `pages/console.py`) and
slides made from the talk (`slides.py`: headless Chromium screenshots joined into one PDF, run as
`python -m app.slides`). It may import the rest of `app/` (state parsers, ui helpers, escaping) and
`app.room.questions` (poll ids); nothing in `app/` or `model/` imports it, and it never imports
`model/` directly.
"""
