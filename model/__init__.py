"""rwkv-explainer model package: torch only, no Streamlit.

Modules: tokenizer, data, rwkv (RWKV-4), gpt (baseline transformer), cost (cited formulas),
checkpoint (safetensors + official/HF interop), train, generate, evaluate, export_official.
"""
