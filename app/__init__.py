"""Shared UI code for the Streamlit pages: state and deep links, cached loaders, Plotly figure
builders (pure functions), texts and glossary, theme, and the in-browser stepper component."""
