"""Colours and sizes. Okabe–Ito palette (colour-blind safe); sequential maps are cividis.

Example:
    >>> RWKV_COLOR
    '#0072B2'
"""
OKABE_ITO = {
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "black": "#000000",
    "grey": "#999999",
}
RWKV_COLOR = OKABE_ITO["blue"]
GPT_COLOR = OKABE_ITO["vermillion"]
ACCENT = OKABE_ITO["orange"]
NOW_COLOR = OKABE_ITO["orange"]  # "this token"
PREV_COLOR = OKABE_ITO["sky"]  # "previous token"
SEQUENTIAL = "Cividis"
DIVERGING = "RdBu"
FONT = dict(family="Inter, Segoe UI, Helvetica, Arial, sans-serif", size=15)


def base_layout(**overrides) -> dict:
    """Plotly layout defaults: large readable type, tight margins, white background."""
    layout = dict(
        font=FONT,
        margin=dict(l=50, r=20, t=50, b=40),
        paper_bgcolor="white",
        plot_bgcolor="white",
        hoverlabel={"font": {"size": 15}},
    )
    layout.update(overrides)
    return layout
