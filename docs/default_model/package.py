"""Turn a training run into the shipped default model and its model card.

    python docs/default_model/package.py runs/default [--data ../shared/data]

Scores the run's best.pt on its held-out test scenes next to the baselines, stores those
numbers, the data attribution and the limitations inside the checkpoint (half precision),
and writes sargeo/models/default.pt and sargeo/models/MODEL_CARD.md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from sargeo.checkpoint import load_checkpoint, save_checkpoint
from sargeo.evaluate import evaluate
from sargeo.modelcard import render_card
from sargeo.models import DEFAULT_MODEL, MODEL_CARD

ROOT = Path(__file__).resolve().parents[2]
SUMMARY = ("The model `sargeo colorize` uses when no --checkpoint is given: a compact U-Net of the "
           "paper's architecture trained on a 2-core CPU on the few real SEN1-2 / SEN12MS-CR / BigEarthNet "
           "pairs that could be gathered. Treat its colours as a plausible rendering, not as optical truth.")
DATA = ("SEN1-2 (Schmitt et al. 2018, CC-BY 4.0), SEN12MS-CR (Ebel et al. 2020, CC-BY 4.0) and "
        "BigEarthNet-MM (Sumbul et al. 2021, CDLA-Permissive-1.0) patches: 161 pairs from 13 scenes, "
        "see ../shared/data/PROVENANCE.md. Contains modified Copernicus Sentinel data [2016-2017], "
        "processed by ESA and the dataset authors.")
LIMITATIONS = ("Trained on 130 pairs from 8 scenes (4 of them larger than 3 pairs), mostly autumn scenes; "
               "colours of other seasons, climates and land covers are guesses. Held-out scores are on 18 "
               "pairs from 3 scenes only, so they are noisy. SAR does not observe colour: expect plausible "
               "but often wrong hues, little fine texture, and dark or washed-out tones on scenes unlike the "
               "training data. The model expects 10 m sigma0 in dB (SEN1-2 scaling); other inputs are "
               "converted approximately.")
METRICS = ("psnr", "ssim", "ciede2000", "sam", "lpips")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    best = args.run / "best.pt"
    with tempfile.TemporaryDirectory() as tmp:
        summary = evaluate(args.data, [("default model", best)], tmp, device="cpu", n_figure=0)
        meta = json.loads((Path(tmp) / "evaluation.json").read_text())
    test = {method: {k: v["overall"][k]["mean"] for k in METRICS if k in v["overall"]}
            for method, v in summary.items()}
    n = summary["default model"]["overall"]["psnr"]["n"]
    ckpt = load_checkpoint(best)
    ckpt.config = {**ckpt.config, "out": "runs/default"}
    ckpt.extra = {"card": {"summary": SUMMARY, "data": DATA, "limitations": LIMITATIONS, "test": test,
                           "test_pairs": n, "lpips_note": "LPIPS: n/a, the ImageNet AlexNet weights it "
                           "needs could not be downloaded where the model was trained."
                           if meta["lpips"] != "computed" else ""},
                  "epoch": ckpt.extra.get("epoch")}
    save_checkpoint(ckpt, DEFAULT_MODEL, half=True)
    MODEL_CARD.write_text(render_card(load_checkpoint(DEFAULT_MODEL), "sargeo default model"))
    print(MODEL_CARD.read_text())


if __name__ == "__main__":
    main()
