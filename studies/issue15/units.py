#!/usr/bin/env python3
"""Collects from a run folder's unit files what results.json of a separation run leaves out:
iN-NMF's final training loss per recording, NMF's final loss at the training window on the
training excerpt, and the seconds each iN-NMF model took. Usage: units.py RUN_DIR OUT.json"""
import glob
import json
import os
import sys

run, out = sys.argv[1], sys.argv[2]
cfg = json.load(open(os.path.join(run, "results.json")))["config"]
tw = cfg["train_window"]
res = {"innmf_train": {}, "nmf_train": {}, "innmf_train_s": {}}
for f in glob.glob(os.path.join(run, "units", "*.json")):
    u = json.load(open(f))
    if u["kind"] == "innmf-train":
        r = u["rows"][0]
        res["innmf_train"][r["recording"]] = r["final_loss"]
        res["innmf_train_s"][r["recording"]] = u["elapsed_s"]
    elif u["kind"] == "nmf":
        for r in u["rows"]:
            if r["window"] == tw and r["split"] == "train":
                res["nmf_train"][r["recording"]] = r["fit_loss"]
json.dump(res, open(out, "w"), indent=1, sort_keys=True)
