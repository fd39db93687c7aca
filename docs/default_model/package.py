"""Turn the recipe search's winner into the shipped default model, its card and the recipe table.

    python docs/default_model/package.py FINAL.pt

FINAL.pt is a model saved by `sargeo crossval --save-final` (or docs/default_model/recipes.py),
which carries its cross-validation.
Stores the data attribution and limitations inside the checkpoint (half precision) and writes
sargeo/models/default.pt, sargeo/models/MODEL_CARD.md and docs/default_model/crossval.png.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sargeo.checkpoint import load_checkpoint, save_checkpoint
from sargeo.crossval import MAX_WATER_FRACTION, MEAN_COLOUR
from sargeo.modelcard import crossval_verdict, render_card
from sargeo.models import DEFAULT_MODEL, MODEL_CARD
from sargeo.report import crossval_figure

HERE = Path(__file__).resolve().parent
SUMMARY = ("The model `sargeo colorize` uses when no --checkpoint is given: a compact U-Net of the paper's "
           "architecture, its recipe chosen by 5-fold scene-wise cross-validation on the few real SEN1-2 / "
           "SEN12MS-CR / BigEarthNet pairs that could be gathered, then trained on all of them. Its output "
           "is shrunk toward the training set's mean colour by the factors that cross-validation chose, and"
           " calm water is kept darker than the land around it. Treat its colours as a plausible rendering,"
           " not as optical truth; for your own region, train on your own pairs.")
DATA = ("SEN1-2 (Schmitt et al. 2018, CC-BY 4.0), SEN12MS-CR (Ebel et al. 2020, CC-BY 4.0) and "
        "BigEarthNet-MM (Sumbul et al. 2021, CDLA-Permissive-1.0) patches: 161 pairs from 13 scenes. "
        "Contains modified Copernicus Sentinel data [2016-2017], processed by ESA and the dataset "
        "authors.")
LIMITATIONS = ("Trained on 161 pairs from 13 scenes, mostly autumn; colours of other seasons, "
               "climates and land covers are guesses. Cross-validation found that what these scenes teach "
               "transfers poorly to unseen scenes: the unadjusted network loses to the flat mean colour, so "
               "the shipped output keeps only a quarter of its lightness structure and none of its hue. "
               "Expect a muted, nearly uniform rendering with darker water, not optical colours. The model "
               "expects 10 m sigma0 in dB (SEN1-2 scaling); other inputs are converted approximately.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("final", type=Path)
    args = parser.parse_args()
    ckpt = load_checkpoint(args.final)
    ckpt.config = {**ckpt.config, "data": "../shared/data", "out": "runs/crossval"}
    cv = ckpt.metrics["crossval"]  # scenes that are nearly all "water" have no land to compare with
    cv["water"] = {k: v for k, v in cv["water"].items() if v["water_fraction"] <= MAX_WATER_FRACTION}
    ckpt.extra = {"card": {"summary": SUMMARY, "data": DATA, "limitations": LIMITATIONS}}
    save_checkpoint(ckpt, DEFAULT_MODEL, half=True)
    MODEL_CARD.write_text(render_card(load_checkpoint(DEFAULT_MODEL), "sargeo default model"))
    crossval_figure(cv["per_scene"], HERE / "crossval.png", baseline=MEAN_COLOUR)
    print(MODEL_CARD.read_text())
    print(crossval_verdict(cv["summary"])[1])


if __name__ == "__main__":
    main()
