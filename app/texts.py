"""Plain-language texts shared by several pages (page-specific prose stays with its page).

Markdown with glossary markers such as [[token]] (see app/glossary.py).
"""
DEFAULT_PROMPT = "Once upon a time, there was a little girl named Lily. She loved to play in the park with her dog"

SAMPLE_PROMPTS = {
    "Lily in the park": DEFAULT_PROMPT,
    "Who has the ball?": "Tom had a red ball. He gave the ball to his friend Sam. Sam was very happy. Sam said, \"Thank you",
    "A rainy day": "It was a rainy day. Mia looked out of the window and felt sad. Her mom said, \"Let's",
    "The brave cat": "One day, a brave cat named Max went into the dark forest. He heard a loud noise and",
}

CREDITS = (
    "Model architecture: Peng et al., *RWKV: Reinventing RNNs for the Transformer Era*, arXiv 2305.13048 (2023). "
    "Training text: Eldan & Li, *TinyStories: How Small Can Language Models Be and Still Speak Coherent English?*, "
    "arXiv 2305.07759 (2023), licence CDLA-Sharing-1.0. Both small models here were trained by this project; "
    "see `model/weights/MODEL_CARD.md`."
)

EMPTY_PROMPT_HINT = "Type a sentence above (or pick a sample) and the model will read it token by token."
