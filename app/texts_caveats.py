"""The Claims and caveats page's words (pages/caveats.py draws them): what the RWKV paper claims and
does not, what came after RWKV-4, what this app's models are, and where each claim is in the papers."""
from __future__ import annotations

from .texts import EQ, FLOPS_SOURCE, RWKV_PAPER

LEAD = (
    "RWKV's big promise is cost: a [[state]] that never grows and the same work for every [[token]]. That "
    "part is arithmetic and holds. What a fixed-size memory costs in quality is a separate question. "
    "Here is what the research says, in plain words, with the sources."
)

PAPER_SHOWS = (
    "- **Running cost grows in step with the text, not faster.** Each new token costs RWKV the same work and "
    "the same memory ([[linear]] time, [[constant]] memory). A [[transformer]] looks back over the whole "
    "text for every token. This is what the Cost race and At scale pages show.\n"
    "- **Quality roughly on par at the same size.** The paper tested RWKV-4 models from 169 million to 14 "
    "billion [[parameters|parameter]] on its [[benchmark]] set. They scored about as well as transformers of "
    "similar size, trained on a similar amount of text ([[Pythia]], [[OPT]], [[BLOOM]]). Roughly on par, not "
    "better everywhere.\n"
    "- **It trains like a transformer.** During [[training]], RWKV does most of its work on a "
    "whole text at once ([[parallel mode]]). So training is fast on GPUs. It costs about as much as for a transformer of the "
    "same size."
)
PAPER_SHOWS_SOURCE = "Source: Peng et al. 2023, RWKV: Reinventing RNNs for the Transformer Era, arXiv 2305.13048."

NOT_CLAIMED = (  # one paragraph each
    (
        "**A fixed-size memory forgets exact details.** Everything RWKV has read must squeeze into the same small "
        "[[state]]. The paper's own limitations section says this may hurt some tasks: those that need to "
        "[[recall]] a small detail from far back in a long text. A transformer keeps every token, while RWKV keeps "
        "only a summary. Later studies measured it. Models with a fixed-size memory do worse than transformers "
        "at finding a fact by its key ('associative recall': Arora et al. 2023, Zoology, arXiv 2312.04927). They "
        "also do worse at copying long passages word for word (Jelassi et al. 2024, Repeat After Me, "
        "arXiv 2402.01032)."
    ),
    (
        "**It is more sensitive to the order of the [[prompt]].** The paper says RWKV depends more on how the "
        "prompt is built than transformers do. It reads strictly in order and cannot look back. So what it should "
        "pay attention to has to come early. The authors tested their largest chat model (RWKV-4-Raven, 14 "
        "billion [[parameters|parameter]]) against ChatGPT and GPT-4. Then they rewrote the prompts so that the "
        "question came before the material. Only one task improved a lot (RTE: from 44.2 to 74.8). Two "
        "improved a little (WNLI: 47.9 to 49.3; PolEmo2: 38.2 to 40.9) and one did not change (GoEmotions). "
        "So the paper's own advice is: give the question or instruction first and the material after it. Then "
        "the model knows what to look for while it reads."
    ),
    (
        "**Cheap to run is not cheap to train.** The savings are in [[inference]] (reading and writing text). "
        "Training a good RWKV takes about as much computing work as training a transformer of the same size. "
        "That is because the cost of training is set mainly by the number of [[parameters|parameter]] and the amount "
        "of text."
    ),
    (
        "**Linear cost is not free quality.** For short texts the two designs cost about the same: most of the work "
        "is the model's own [[weights]], the same for both. RWKV's advantage grows with the length of the "
        "[[conversation]], and long texts are exactly where its small memory is most stretched. Whether the "
        "trade is worth it depends on the job. Many long conversations at once (chat, streaming) favour RWKV. "
        "Pinpoint look-ups in a long document favour attention."
    ),
    (
        "**Transformers got cheaper too.** Real transformers shrink their [[KV cache]] with tricks such as "
        "[[GQA]] (Ainslie et al. 2023, arXiv 2305.13245). GQA shrinks the cache per token. It lowers the "
        "transformer's line on the At scale page, but does not flatten it. Smarter memory management ([[vLLM]], "
        "arXiv 2309.06180) wastes less memory around the cache. But every token still adds its keys and values."
    ),
)

AFTER_RWKV4 = (
    "- **RWKV-5 and RWKV-6** (Peng et al. 2024, Eagle and Finch, arXiv 2404.05892) give each head a "
    "[[matrix-valued state]]: a small table instead of a list. So the memory holds more detail at the same "
    "speed. RWKV-6 adds [[data-dependent decay]]. How fast each channel forgets now depends on the token "
    "being read. So the model can decide to keep or drop something.\n"
    "- **RWKV-7** (Peng et al. 2025, Goose, arXiv 2503.14456) updates its memory with a generalised "
    "[[delta rule]]. It checks what the memory already holds for a key and writes the correction. This "
    "helps it overwrite stale facts instead of piling new ones on top.\n"
    "- The memory still has a fixed size in all of them. So the cost story of this app stays the same. So "
    "does the basic limit: everything read must still fit in that memory."
)
AFTER_RWKV4_NOTE = "This app shows RWKV-4, the version in the 2023 paper, because its memory is the simplest to draw."

TOY_MODELS = (
    "The models here are toys, built so that you can watch them work in your browser. They have a few "
    "million [[parameters|parameter]] (real chat models have billions). They were trained for a short time "
    "on a computer without a [[GPU]]. They were trained on [[TinyStories]] (Eldan and Li 2023, arXiv "
    "2305.07759; licence CDLA-Sharing-1.0), a set of simple children's stories. So they write simple "
    "children's stories, often with mistakes. Both were trained on texts of a fixed length ([[trained context]]). Past "
    "it, the transformer runs but guesses worse. RWKV's memory carries on, but it never practised longer texts "
    "either. Its guesses were checked only a little further (see the model card). Their quality says "
    "nothing about RWKV's quality at scale. Their costs follow the same formulas as the big models."
)
FACTS_CAPTION = (
    "Read from the shipped checkpoints' records (model/weights/*.json). Validation [[loss]]: "
    "lower is better; 'top guess right' is the [[accuracy]] of the single most likely "
    "next token."
)
NO_MODELS = "The trained models are not installed here; pages that need them use untrained stand-ins."


def builders_notes(kv_units_note: str) -> list[tuple[str, str]]:
    """The builders' expander, in order: ("md", Markdown) or ("latex", formula)."""
    notes = []
    notes.append(("md", "RWKV-4's state: per layer, 5 vectors of width $D$: the previous token's input to time mixing "
                "and to channel mixing (token shift), and the running numerator $a$, denominator $b$ and "
                f"maximum $p$ of the WKV average, eq. ({EQ['wkv']}), kept as in the paper's appendix D (RWKV paper, "
                f"{RWKV_PAPER}; all section, equation and appendix numbers here are that version's). None of it "
                "depends on the number of tokens $t$ read:"))
    notes.append(("latex", r"M_{\text{RWKV}} = 5 \cdot L \cdot D \cdot \beta \quad\text{bytes, for every } t"))
    notes.append(("md", "A transformer's KV cache: one key and one value vector per head, per layer, per token "
                f"(vLLM paper arXiv 2309.06180 §3). {kv_units_note} With GQA "
                "(arXiv 2305.13245) only $n_{kv} < n_{heads}$ key/value heads are stored:"))
    notes.append(("latex", r"M_{\text{KV}}(t) = 2 \cdot L \cdot n_{kv} \cdot d_{head} \cdot \beta \cdot t"))
    notes.append(("md", "$L$: layers; $D = n_{heads} \\cdot d_{head}$: width; $\\beta$: bytes per number (fp32 4, fp16 2). "
                f"Work per token: RWKV $2(VD + 13D^2L)$, the same at every $t$ ({FLOPS_SOURCE}); the "
                "transformer $2(VD + 12D^2L) + 4LtD$, growing with $t$ (Kaplan et al. arXiv 2001.08361 eq. 2.2, "
                "with both attention products counted). The At scale page applies these to real sizes."))
    notes.append(("md",
        "Where the claims and caveats above are in the papers:\n"
        "- Quality roughly on par at the same size: RWKV paper §5 (Evaluations) and its appendix of "
        "zero-shot results; cost per token: §4 and Table 2.\n"
        "- Forgetting details and dependence on prompt design: the RWKV paper's Limitations section. The "
        "prompt re-ordering experiment and the advice to put the question first: its appendix L "
        "(RWKV-4-Raven-14B against ChatGPT and GPT-4; RTE F1 44.2 → 74.8, WNLI 47.9 → 49.3, PolEmo2 "
        "38.2 → 40.9, GoEmotions unchanged).\n"
        "- Trained lengths of the RWKV-4 Pile models: 1,024 tokens (§4.1), fine-tuned to 8,192 (§5.2).\n"
        "- Recall gap of fixed-size memories: Zoology (arXiv 2312.04927), the multi-query associative recall "
        "(MQAR) task.\n"
        "- Copying: Repeat After Me (arXiv 2402.01032), its theory (a fixed-size state cannot copy a string "
        "longer than it can hold) and its copying experiments.\n"
        "- Later designs: Eagle and Finch (arXiv 2404.05892) for matrix-valued states and data-dependent "
        "decay; RWKV-7 (arXiv 2503.14456) for the delta-rule update. This page makes no claim about how much "
        "they improve recall; see those papers' own results."
    ))
    return notes


SOURCES = (
    "- Peng et al. 2023. *RWKV: Reinventing RNNs for the Transformer Era.* arXiv 2305.13048.\n"
    "- Peng et al. 2024. *Eagle and Finch: RWKV with Matrix-Valued States and Dynamic Recurrence.* arXiv 2404.05892.\n"
    "- Peng et al. 2025. *RWKV-7 \"Goose\" with Expressive Dynamic State Evolution.* arXiv 2503.14456.\n"
    "- Arora et al. 2023. *Zoology: Measuring and Improving Recall in Efficient Language Models.* arXiv 2312.04927.\n"
    "- Jelassi et al. 2024. *Repeat After Me: Transformers are Better than State Space Models at Copying.* arXiv 2402.01032.\n"
    "- Kaplan et al. 2020. *Scaling Laws for Neural Language Models.* arXiv 2001.08361.\n"
    "- Kwon et al. 2023. *Efficient Memory Management for Large Language Model Serving with PagedAttention* (vLLM). arXiv 2309.06180.\n"
    "- Ainslie et al. 2023. *GQA: Training Generalized Multi-Query Transformer Models from Multi-Head Checkpoints.* arXiv 2305.13245.\n"
    "- Eldan and Li 2023. *TinyStories: How Small Can Language Models Be and Still Speak Coherent English?* arXiv 2305.07759."
)
