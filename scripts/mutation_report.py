"""Kill rate per module from mutmut's results (`mutmut results --all true`), and the survivors by name.

Run after `make mutation` (it is its last step): `python scripts/mutation_report.py`. A mutant not yet run
(mutmut stopped early) counts in neither column."""

import collections
import re
import subprocess
import sys
from pathlib import Path

venv_bin = Path(sys.executable).parent
output = subprocess.run([str(venv_bin / "mutmut"), "results", "--all", "true"], capture_output=True, text=True).stdout
by_module: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
survivors: dict[str, list[str]] = collections.defaultdict(list)
for line in output.splitlines():
    match = re.match(r"\s*([\w.]+)\.x\w*?__mutmut_\d+: (.+)$", line.strip()) or re.match(
        r"\s*([\w.]+?)\.\w+__mutmut_\d+: (.+)$", line.strip())
    if not match:
        continue
    module, status = match.group(1), match.group(2).strip()
    by_module[module][status] += 1
    if status == "survived":
        survivors[module].append(line.split(":")[0].strip())
print("| module | mutants run | killed | survived | timeout | no tests | kill rate |")
print("|---|---|---|---|---|---|---|")
for module, counts in sorted(by_module.items()):
    run = sum(v for k, v in counts.items() if k != "not checked")
    killed = counts["killed"] + counts["timeout"]
    rate = killed / (run - counts["skipped"]) if run else 0.0
    print(f"| {module} | {run} | {counts['killed']} | {counts['survived']} | {counts['timeout']} | "
          f"{counts['no tests']} | {rate:.1%} |")
for module, names in sorted(survivors.items()):
    print(f"\nsurvived in {module}: " + ", ".join(sorted(names)))
