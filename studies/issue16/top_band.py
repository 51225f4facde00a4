"""The NSGT's top band and the flute (issue 16, step 4): oracle ratio masks (Wiener, p = 0.5) of
the shared stems in the NSGT of 30 Hz, 48 bands per octave, up to the library's default f_max
(6.7 octaves above f_min: 3.1 kHz, everything above in one Nyquist band) and up to 0.45·sr.

Reproduce (oracle units need no training; about a minute):
    innmf experiment plan separation --data ../shared/data --out /tmp/tb \
        --config studies/issue16/config-nsgt-top-band.json --pairs 0
    innmf experiment run-unit --out /tmp/tb $(python3 -c "import json; print(' '.join(u['id'] \
        for u in json.load(open('/tmp/tb/plan.json'))['units'] if '.oracle-' in u['id']))")
    python3 studies/issue16/top_band.py /tmp/tb > studies/issue16/top_band.md
(the committed unit files: python3 studies/issue16/top_band.py studies/issue16/top_band)
"""
import glob
import json
import statistics
import sys
from collections import defaultdict

out = sys.argv[1]
rows = defaultdict(list)
for f in sorted(glob.glob(f"{out}/units/*.json")):
    for r in json.load(open(f))["rows"]:
        if r.get("study") == "music" and r["fold"] > 0:
            rows[(r["representation"], r["instrument"])].append(r["sdr"])
insts = sorted({k[1] for k in rows})
reps = sorted({k[0] for k in rows})
print("Oracle SDR (dB), median over the reported folds (1, 2) × mixtures (n per cell):\n")
print("| NSGT | " + " | ".join(insts) + " |")
print("|---|" + "---|" * len(insts))
for rep in reps:
    cells = [f"{statistics.median(rows[(rep, i)]):.2f} ({len(rows[(rep, i)])})" for i in insts]
    print(f"| {rep} | " + " | ".join(cells) + " |")
