#!/usr/bin/env python3
"""Hostile files through the `medlens` commands (issue 16's targets): every crafted file the
DICOM and model-file robustness tests make (kept with MEDLENS_KEEP_HOSTILE=DIR) is given to
the commands that read its kind, each in a process of its own:

  DICOM and plain image files:  medlens inspect, render, decode
  GGUF files:           medlens generate --device cpu, models list (the app's model scan)
  model folders:        medlens generate --device cpu, models list (a folder without a
                        config.json is no model to the scan: not listing it is right)

For each run: no panic (Rust's exit status 101 and its "panicked at" text), no abort or kill
by a signal (an OOM kill included), peak RSS under 600 MB (the kernel's figure for the child,
from wait4), and, where the command refuses the file, an error that names it. Prints one
line per run and a summary; exits 1 if any run breaks a rule.

    python3 tests/hostile/commands.py MEDLENS_BIN KEEP_DIR [--json OUT]
"""
import json
import os
import subprocess
import sys
import tempfile

LIMIT_MB = 600


def run(cmd):
    """Runs cmd; returns (exit status or -signal, stdout, stderr, peak RSS in MB)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return p.returncode, out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"), usage.ru_maxrss / 1024


def commands(bin_, path, scratch):
    name = os.path.basename(path)
    if os.path.isdir(path) or name.endswith(".gguf"):
        # The scan looks at what a models folder holds: one folder per crafted model.
        d = os.path.join(scratch, "scan-" + name)
        os.makedirs(d, exist_ok=True)
        link = os.path.join(d, name)
        if not os.path.lexists(link):
            os.symlink(path, link)
        return [
            ("generate", [bin_, "generate", "--model", path, "--prompt", "x", "--max-tokens", "1", "--device", "cpu"]),
            ("models list", [bin_, "models", "list", "--json", d]),
        ]
    if name.endswith((".dcm", ".png", ".jpg", ".tif", ".bmp", ".webp")):
        png = os.path.join(scratch, name + ".png")
        return [
            ("inspect", [bin_, "inspect", "--json", path]),
            ("render", [bin_, "render", path, "-o", png, "--force"]),
            ("decode", [bin_, "decode", path]),
        ]
    return []


def main():
    bin_, keep = sys.argv[1], sys.argv[2]
    out_json = sys.argv[sys.argv.index("--json") + 1] if "--json" in sys.argv else None
    bad, rows = [], []
    with tempfile.TemporaryDirectory() as scratch:
        for name in sorted(os.listdir(keep)):
            path = os.path.join(keep, name)
            for what, cmd in commands(bin_, path, scratch):
                rc, out, err, rss = run(cmd)
                problems = []
                if rc < 0:
                    problems.append(f"killed by signal {-rc}")
                if rc == 101 or "panicked at" in err:
                    problems.append("panicked")
                if rss >= LIMIT_MB:
                    problems.append(f"peak RSS {rss:.0f} MB")
                if rc > 0 and name not in err:
                    problems.append("the error does not name the file")
                if what == "inspect" and rc == 0 and name not in out + err:
                    problems.append("neither listed nor reported")
                if what == "models list" and rc == 0:
                    # The scan lists the candidate; a refused one says why, naming the file.
                    listed = json.loads(out)
                    mine = [m for m in listed if os.path.basename(m["path"]) == name]
                    is_model = not os.path.isdir(path) or os.path.exists(os.path.join(path, "config.json"))
                    if not mine and is_model:
                        problems.append("not listed by the scan")
                    elif mine and mine[0]["status"] != "ok" and not mine[0].get("message"):
                        problems.append("listed as invalid without a reason")
                lines = err.strip().splitlines() or [""]
                first = next((l for l in lines if name in l), lines[-1])[:150]
                verdict = "; ".join(problems) or "ok"
                rows.append({"file": name, "command": what, "exit": rc, "peak_rss_mb": round(rss, 1), "message": first, "verdict": verdict})
                print(f"{name:32} {what:12} exit {rc:3}  {rss:6.0f} MB  {verdict:10}  {first}")
                if problems:
                    bad.append(f"{name} / {what}: {verdict}")
    if out_json:
        with open(out_json, "w") as f:
            json.dump(rows, f, indent=1)
    n = len(rows)
    worst = max((r["peak_rss_mb"] for r in rows), default=0)
    print(f"{n} runs on {len({r['file'] for r in rows})} crafted files; largest peak RSS {worst:.0f} MB (bound {LIMIT_MB} MB)")
    if not rows:
        print("no crafted files found in", keep)
        sys.exit(1)
    if bad:
        print("FAILED:\n  " + "\n  ".join(bad))
        sys.exit(1)


main()
